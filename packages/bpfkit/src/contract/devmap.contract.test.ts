import { Errno, MapType, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS, errorOf } from './backends.js';

/** An ifindex no interface has (on the kernel: this test's network namespace has far fewer). */
const NO_SUCH_IFINDEX = 0x7ffffff0;

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `devmap maps on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('DEVMAP: lo (ifindex 1) is a target, an unknown ifindex is EINVAL, an empty slot is ENOENT, delete empties it', () => {
        using system = backend.open();
        using ports = system.createMap(
          { name: 'ports', type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
          { key: u32, value: u32 },
        );
        expect(ports.lookup(0)).toBeUndefined();
        expect(errorOf(() => ports.update(0, NO_SUCH_IFINDEX)).errno).toBe(Errno.EINVAL);
        ports.update(2, 1);
        expect(ports.lookup(2)).toBe(1);
        expect([...ports.keys()]).toEqual([2]);
        expect(errorOf(() => ports.update(1, 1, 'noexist')).errno).toBe(Errno.EEXIST);
        expect(errorOf(() => ports.update(4, 1)).errno).toBe(Errno.E2BIG);
        ports.delete(2);
        expect(ports.lookup(2)).toBeUndefined();
        ports.delete(3);
        expect(errorOf(() => ports.delete(4)).errno).toBe(Errno.EINVAL);
        ports.update(0, 1);
        ports.update(0, 0);
        expect(ports.lookup(0)).toBeUndefined();
      });

      it('DEVMAP_HASH: ifindex 0 and unknown interfaces are EINVAL; exist on an absent key adds it; full is E2BIG', () => {
        using system = backend.open();
        using ports = system.createMap(
          { name: 'ports_h', type: MapType.DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 1 },
          { key: u32, value: u32 },
        );
        expect(errorOf(() => ports.update(10, 0)).errno).toBe(Errno.EINVAL);
        expect(errorOf(() => ports.update(10, NO_SUCH_IFINDEX)).errno).toBe(Errno.EINVAL);
        ports.update(10, 1, 'exist');
        expect(ports.lookup(10)).toBe(1);
        expect(errorOf(() => ports.update(10, 1, 'noexist')).errno).toBe(Errno.EEXIST);
        expect(errorOf(() => ports.update(11, 1)).errno).toBe(Errno.E2BIG);
        ports.delete(10);
        expect(ports.lookup(10)).toBeUndefined();
      });
    },
  );
}
