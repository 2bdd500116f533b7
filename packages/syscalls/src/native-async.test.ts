import { describe, expect, it } from 'vitest';
import { native } from './native.js';
import { whenKernel } from './test-support/index.js';

const BPF_MAP_CREATE = 0;
const BPF_OBJ_GET_INFO_BY_FD = 15;

/** A BPF_MAP_CREATE attr: map_type @0, key_size @4, value_size @8, max_entries @12. */
function mapCreateAttr(): Uint8Array {
  const attr = new Uint8Array(72);
  const v = new DataView(attr.buffer);
  v.setUint32(0, 1, true); // BPF_MAP_TYPE_HASH
  v.setUint32(4, 4, true);
  v.setUint32(8, 8, true);
  v.setUint32(12, 16, true);
  return attr;
}

describe('native.bpfAsync', () => {
  it('checks its arguments before queueing anything: a TypeError or RangeError at the call, not a rejection', () => {
    expect(() => native.bpfAsync(0, 'attr' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => native.bpfAsync(0, new Uint8Array(16), [0], [])).toThrow(TypeError);
    expect(() => native.bpfAsync(0, new Uint8Array(16), [12], [null])).toThrow(RangeError);
  });

  it('resolves to -errno when the kernel refuses (an unknown command)', async () => {
    await expect(native.bpfAsync(0x7fff, new Uint8Array(16))).resolves.toBeLessThan(0);
  });

  whenKernel('map:hash').it('resolves to the result, pointers patched in as the synchronous call patches them', async () => {
    const fd = await native.bpfAsync(BPF_MAP_CREATE, mapCreateAttr());
    expect(fd).toBeGreaterThan(0);
    try {
      // bpf_attr.info: bpf_fd @0, info_len @4, info (a pointer) @8.
      const info = new Uint8Array(96);
      const attr = new Uint8Array(16);
      const v = new DataView(attr.buffer);
      v.setUint32(0, fd, true);
      v.setUint32(4, info.length, true);
      expect(await native.bpfAsync(BPF_OBJ_GET_INFO_BY_FD, attr, [8], [info])).toBe(0);
      const iv = new DataView(info.buffer);
      expect(iv.getUint32(0, true)).toBe(1); // type: hash
      expect(iv.getUint32(12, true)).toBe(8); // value_size
    } finally {
      native.close(fd);
    }
  });
});
