import { MapType, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS, errorOf } from './backends.js';

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `ring buffer and perf event array maps on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('creates ring buffers by the kernel rules, and answers every element command ENOTSUPP', () => {
        using system = backend.open();
        using rb = system.createMap({ name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 16 });
        expect(rb.info()).toMatchObject({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 16 });
        expect(errorOf(() => rb.peek()).code).toBe('ENOTSUPP');
        expect(errorOf(() => rb.push(new Uint8Array(0))).code).toBe('ENOTSUPP');
        expect(errorOf(() => rb.pop()).code).toBe('ENOTSUPP');
        expect(errorOf(() => [...rb.keys()]).code).toBe('ENOTSUPP');
        for (const bad of [
          { keySize: 4, valueSize: 0, maxEntries: 4096 },
          { keySize: 0, valueSize: 0, maxEntries: 4097 },
          { keySize: 0, valueSize: 0, maxEntries: 3 * 4096 },
          { keySize: 0, valueSize: 0, maxEntries: 0 },
        ]) {
          expect([bad, errorOf(() => system.createMap({ type: MapType.RINGBUF, ...bad }).close()).code]).toEqual([bad, 'EINVAL']);
        }
      });

      it('creates perf event arrays, refuses reads and non-perf fds, and walks their slots', () => {
        using system = backend.open();
        using events = system.createMap(
          { name: 'events', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 },
          { key: u32, value: u32 },
        );
        expect(errorOf(() => events.lookup(0)).code).toBe('ENOTSUPP');
        // A map fd is not a perf event.
        expect(errorOf(() => events.update(0, events.fd)).code).toBe('EBADF');
        expect(events.delete(0)).toBe(false);
        expect(errorOf(() => events.delete(9)).code).toBe('E2BIG');
        for (const bad of [
          { keySize: 8, valueSize: 4, maxEntries: 2 },
          { keySize: 4, valueSize: 8, maxEntries: 2 },
          { keySize: 4, valueSize: 4, maxEntries: 0 },
        ]) {
          expect([bad, errorOf(() => system.createMap({ type: MapType.PERF_EVENT_ARRAY, ...bad }).close()).code]).toEqual([bad, 'EINVAL']);
        }
      });
    },
  );
}
