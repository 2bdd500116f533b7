// cStringArray with the real addon: the pointers it writes lead to the strings it holds.
import { describe, expect, it } from 'vitest';
import { HOST_LITTLE_ENDIAN, readCString } from '../attr/layout.js';
import { nativeLoadError } from '../native.js';
import { cStringArray } from './call.js';

describe.skipIf(nativeLoadError !== null)(`cStringArray${nativeLoadError ? ` — skipped: ${nativeLoadError.message}` : ''}`, () => {
  it('lays out one pointer per string, then the strings, each pointer aimed at its own string', () => {
    const names = ['do_unlinkat', '', 'ünïcode_ok', 'do_rmdir'];
    const buf = cStringArray(names);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const pointers = names.map((_, i) => view.getBigUint64(8 * i, HOST_LITTLE_ENDIAN));
    // The first string starts right after the pointers: that fixes the buffer's own address.
    const base = pointers[0]! - BigInt(8 * names.length);
    expect(base).toBeGreaterThan(0n);
    expect(pointers.map((p) => readCString(buf, Number(p - base)))).toEqual(names);
    expect(buf.byteLength).toBe(8 * names.length + names.reduce((n, s) => n + new TextEncoder().encode(s).length + 1, 0));
  });

  it('an empty list is one zeroed word (the kernel reads no entry of it)', () => {
    expect(cStringArray([])).toEqual(new Uint8Array(8));
  });
});
