import { BpfError, Errno, MapType, NotSupportedError, u32, u64 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { MockSystem } from '../mock-system.js';

const errno = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (err) {
    if (err instanceof BpfError) return err.errno;
    throw err;
  }
  return undefined;
};

describe('devmap maps on the mock', () => {
  it('DEVMAP: entries name interfaces that exist; an empty slot is ENOENT; delete empties it', () => {
    using system = new MockSystem();
    using ports = system.createMap(
      { name: 'ports', type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
      { key: u32, value: u32 },
    );
    expect(ports.lookup(0)).toBeUndefined();
    expect(errno(() => ports.update(0, 5))).toBe(Errno.EINVAL);
    ports.update(0, 1); // lo
    const eth0 = system.addInterface('eth0', { ifindex: 5 });
    ports.update(1, eth0.ifindex);
    expect(ports.lookup(0)).toBe(1);
    expect(ports.lookup(1)).toBe(5);
    expect(errno(() => ports.update(2, 1, 'noexist'))).toBe(Errno.EEXIST);
    expect(errno(() => ports.update(4, 1))).toBe(Errno.E2BIG);
    expect([...ports.keys()]).toEqual([0, 1]);
    ports.delete(1);
    expect(ports.lookup(1)).toBeUndefined();
    ports.delete(3); // empty: the kernel answers 0 all the same
    expect(errno(() => ports.delete(4))).toBe(Errno.EINVAL);
    // ifindex 0 leaves the slot empty.
    ports.update(0, 0);
    expect(ports.lookup(0)).toBeUndefined();
    // Iteration skips empty slots (their lookup is ENOENT).
    expect([...ports.keys()]).toEqual([]);
  });

  it('DEVMAP_HASH: a key per interface; ifindex 0 and unknown interfaces are EINVAL', () => {
    using system = new MockSystem();
    using ports = system.createMap({ type: MapType.DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 2 }, { key: u32, value: u32 });
    expect(errno(() => ports.update(10, 0))).toBe(Errno.EINVAL);
    expect(errno(() => ports.update(10, 9))).toBe(Errno.EINVAL);
    // BPF_EXIST on an absent key adds it (dev_map_hash_update_elem does not check it).
    ports.update(10, 1, 'exist');
    expect(ports.lookup(10)).toBe(1);
    expect(errno(() => ports.update(10, 1, 'noexist'))).toBe(Errno.EEXIST);
    ports.update(11, system.addInterface('eth0').ifindex);
    expect(errno(() => ports.update(12, 1))).toBe(Errno.E2BIG);
  });

  it('refuses an entry with a program to run on the target', () => {
    using system = new MockSystem();
    using ports = system.createMap({ type: MapType.DEVMAP, keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u32, value: u64 });
    ports.update(0, 1n | ((-1n << 32n) & 0xffffffff00000000n)); // bpf_prog.fd -1: none
    expect(() => ports.update(0, 1n | (3n << 32n))).toThrow(NotSupportedError);
  });
});
