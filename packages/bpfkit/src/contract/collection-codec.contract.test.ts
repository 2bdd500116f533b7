import path from 'node:path';
import { InvalidArgumentError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

const object = path.resolve(import.meta.dirname, '../../../elf/testdata/basics.bpf.o');

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `collection.codec on the ${backend.name}${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it("builds a codec from the object's BTF by type name and reads a map written with it", () => {
        using system = backend.open();
        // The flows map is pinned by name: keep the pin out of /sys/fs/bpf.
        const pins = backend.pinDir();
        try {
          using coll = system.loadCollection(object, { programs: [], pinPath: pins.dir });
          const flow = coll.codec<{ saddr: number; daddr: number; sport: number; dport: number }>('struct flow');
          expect(flow.size).toBe(12);
          const key = new Uint8Array(flow.size);
          flow.encode({ saddr: 0x0a000001, daddr: 0x0a000002, sport: 40000, dport: 443 }, key);
          const flows = coll.maps.flows;
          if (!flows) throw new Error('no flows map');
          const count = new Uint8Array(8);
          count[0] = 3;
          flows.update(key, count);
          const [[storedKey]] = [...flows.entries()] as [[Uint8Array, Uint8Array]];
          expect(flow.decode(storedKey)).toEqual({ saddr: 0x0a000001, daddr: 0x0a000002, sport: 40000, dport: 443 });
          expect(() => coll.codec('struct no_such_type')).toThrow(InvalidArgumentError);
          expect(() => coll.codec('')).toThrow(/type name/);
        } finally {
          pins.cleanup();
        }
      });
    },
  );
}
