import { InvalidArgumentError, MapType, NotSupportedError } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

/** The NotSupportedError `f` throws (any other outcome fails the test). */
function refusalOf(f: () => unknown): NotSupportedError {
  try {
    f();
  } catch (err) {
    if (err instanceof NotSupportedError) return err;
    throw err;
  }
  throw new Error('expected a NotSupportedError, nothing was thrown');
}

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

      it(
        backend.name === 'kernel'
          ? 'attaches (each hook has its own tests); what is not a kernel program is refused by name'
          : 'refuses attach, naming the mock: it runs no programs yet',
        () => {
          using system = backend.open();
          const notAProgram = { name: 'mocked', fd: -1, closed: false } as unknown as Program;
          if (backend.name === 'kernel') {
            expect(() => system.attach(notAProgram, { kind: 'kprobe', symbol: 'do_unlinkat' })).toThrow(InvalidArgumentError);
            return;
          }
          // The mock refuses before it looks at the program.
          const attach = refusalOf(() => system.attach(notAProgram, { kind: 'kprobe', symbol: 'do_unlinkat' }));
          expect(attach.message).toMatch(/^attaching programs to 'kprobe' is not supported by the mock backend: /);
          expect(attach.lackedBy).toBe('the mock backend');
        },
      );
    },
  );
}
