import { InvalidArgumentError, MapType } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `what the ${backend.name} backend cannot do yet${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('reads ring buffers and perf event arrays (event-readers.contract.test.ts tests them)', () => {
        using system = backend.open();
        using ring = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
        using perf = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
        using ringReader = system.openRingBuffer(ring);
        expect(ringReader.closed).toBe(false);
        if (backend.name === 'mock') {
          // The kernel's needs max_entries of at least the possible CPUs (its own tests).
          using perfReader = system.openPerfEventArray(perf);
          expect(perfReader.closed).toBe(false);
        }
      });

      it('attaches (each hook has its own tests); what is not a program of the backend is refused by name', () => {
        using system = backend.open();
        const notAProgram = { name: 'mocked', fd: -1, closed: false } as unknown as Program;
        expect(() => system.attach(notAProgram, { kind: 'kprobe', symbol: 'do_unlinkat' })).toThrow(InvalidArgumentError);
        expect(() => system.attach(notAProgram, { kind: 'kprobe', symbol: 'do_unlinkat' })).toThrow(/mocked/);
      });
    },
  );
}
