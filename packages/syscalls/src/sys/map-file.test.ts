import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeLoadError } from '../native.js';
import { mapFileReadOnly } from './map-file.js';

describe.skipIf(nativeLoadError !== null)('mapFileReadOnly', () => {
  it('maps a file as it is on disk, and gives undefined for what it cannot map', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-map-file-'));
    try {
      const file = path.join(dir, 'blob');
      const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
      fs.writeFileSync(file, bytes);
      expect(mapFileReadOnly(file)).toEqual(bytes);
      fs.writeFileSync(path.join(dir, 'empty'), '');
      expect(mapFileReadOnly(path.join(dir, 'empty'))).toBeUndefined();
      expect(mapFileReadOnly(path.join(dir, 'missing'))).toBeUndefined();
      expect(mapFileReadOnly(dir)).toBeUndefined(); // a directory
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(fs.existsSync('/sys/kernel/btf/vmlinux'))('maps the kernel BTF as read gives it, when the kernel allows it (6.16+)', () => {
    const mapped = mapFileReadOnly('/sys/kernel/btf/vmlinux');
    if (mapped === undefined) return; // an older kernel: callers read the file
    expect(Buffer.from(mapped).equals(fs.readFileSync('/sys/kernel/btf/vmlinux'))).toBe(true);
  });
});
