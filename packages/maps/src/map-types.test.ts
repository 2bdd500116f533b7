import { Errno, InvalidArgumentError, MapFlags, MapType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { permanentMapFlags } from '@bpfkit/core';
import { isPerCpuMapType, rawValueSize } from '@bpfkit/core';
import { createRefusalHint, mapSpecProblems } from './map-types.js';
import { objectFd } from './object-fd.js';

describe('map type rules (no kernel needed)', () => {
  it('per-CPU raw values are cpus × roundUp(valueSize, 8)', () => {
    expect(rawValueSize({ type: MapType.PERCPU_HASH, valueSize: 12 }, 4)).toBe(64);
    expect(rawValueSize({ type: MapType.LRU_PERCPU_HASH, valueSize: 8 }, 3)).toBe(24);
    expect(rawValueSize({ type: MapType.HASH, valueSize: 12 }, 4)).toBe(12);
    expect([MapType.PERCPU_ARRAY, MapType.PERCPU_CGROUP_STORAGE, MapType.ARRAY].map(isPerCpuMapType)).toEqual([true, true, false]);
  });

  it('permanent flags drop per-fd bits, add numa_node and what devmaps get', () => {
    expect(permanentMapFlags({ type: MapType.HASH, flags: MapFlags.RDONLY | MapFlags.NO_PREALLOC })).toBe(MapFlags.NO_PREALLOC);
    expect(permanentMapFlags({ type: MapType.HASH, numaNode: 0 })).toBe(MapFlags.NUMA_NODE);
    expect(permanentMapFlags({ type: MapType.DEVMAP })).toBe(MapFlags.RDONLY_PROG);
  });

  it('a valid spec breaks no rule', () => {
    expect(mapSpecProblems({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 16 }, { btf: false })).toEqual([]);
    expect(
      mapSpecProblems({ type: MapType.TASK_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0, flags: MapFlags.NO_PREALLOC }, { btf: true }),
    ).toEqual([]);
  });

  it('lists every broken rule', () => {
    expect(
      mapSpecProblems(
        { type: MapType.ARRAY, keySize: 8, valueSize: 0, maxEntries: 0, flags: MapFlags.NO_PREALLOC | MapFlags.ZERO_SEED },
        { btf: false },
      ),
    ).toEqual([
      'array maps do not take flags no_prealloc, zero_seed',
      'array keys are 4 bytes, got key_size 8',
      'array maps need value_size > 0',
      'array maps need max_entries > 0',
    ]);
    expect(
      mapSpecProblems(
        { type: MapType.INODE_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0, flags: MapFlags.NO_PREALLOC },
        { btf: false },
      ),
    ).toEqual(['inode_storage maps need BTF for key and value']);
  });

  it('names the minimum kernel when this kernel is older than the map type', () => {
    const spec = { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };
    expect(createRefusalHint(spec, Errno.EINVAL, { btf: false }, '5.4.0-100-generic')).toBe(
      'this kernel (5.4) lacks ringbuf maps: they require at least Linux 5.8',
    );
    expect(createRefusalHint(spec, Errno.EINVAL, { btf: false }, '6.18.0')).toMatch(
      /refused a ringbuf map that follows the Linux 6.18 rules \(ringbuf maps require at least Linux 5.8/,
    );
    expect(createRefusalHint({ ...spec, type: MapType.HASH, keySize: 4, valueSize: 4 }, Errno.ENOMEM, { btf: false }, '5.4.0')).toMatch(
      /RLIMIT_MEMLOCK/,
    );
    expect(createRefusalHint({ ...spec, type: MapType.HASH }, Errno.EPERM, { btf: false })).toBeUndefined();
    expect(createRefusalHint({ ...spec, type: 999 }, Errno.EINVAL, { btf: false }, '6.18.44-fc')).toBe(
      'unknown map type 999: Linux 6.18 knows map types 1 to 33',
    );
  });
});

describe('objectFd codec (no kernel needed)', () => {
  it('encodes an fd or a handle, decodes the id', () => {
    const buf = new Uint8Array(4);
    objectFd.encode(7, buf);
    expect(objectFd.decode(buf)).toBe(7);
    objectFd.encode({ fd: 9 }, buf);
    expect(objectFd.decode(buf)).toBe(9);
    expect(objectFd.size).toBe(4);
  });

  it('refuses what is not an fd', () => {
    const buf = new Uint8Array(4);
    expect(() => objectFd.encode(-1, buf)).toThrow(InvalidArgumentError);
    expect(() => objectFd.encode({ fd: 3, closed: true }, buf)).toThrow(/an open handle/);
    expect(() => objectFd.encode('3' as unknown as number, buf)).toThrow(/a file descriptor/);
  });
});
