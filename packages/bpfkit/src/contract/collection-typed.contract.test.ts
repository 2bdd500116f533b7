import path from 'node:path';
import { InvalidArgumentError, ClosedError, MapType, struct, u16, u32, u64 } from '@bpfkit/core';
import { readObject } from '@bpfkit/elf';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

// testdata/typed.bpf.c: flows (struct flow → __u64), hits (per-CPU __u32 → __u64),
// totals (__u32 → struct stats), and the constant drop_protocol (6 as compiled).
const file = path.resolve(import.meta.dirname, '../../testdata/typed.bpf.o');
const flowCodec = struct({ saddr: [0, u32], daddr: [4, u32], sport: [8, u16], dport: [10, u16] }, { size: 12, name: 'struct flow' });

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `typed collection maps on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('says which maps the object declared and which are global data', () => {
        using system = backend.open();
        using coll = system.loadCollection(file, { programs: [] });
        expect(coll.mapKinds).toEqual({ flows: 'map', hits: 'map', totals: 'map', '.rodata': 'global-data' });
      });

      it('gives typed views checked against key/value sizes and the BTF struct types; closing the collection closes them', () => {
        using system = backend.open();
        const coll = system.loadCollection(file, { programs: [] });
        const flows = coll.typedMap('flows', { key: coll.codec('struct flow'), value: u64 });
        flows.update({ saddr: 1, daddr: 2, sport: 3, dport: 4 }, 10n);
        expect(flows.lookup({ saddr: 1, daddr: 2, sport: 3, dport: 4 })).toBe(10n);
        // The raw map sees the same entry: the view shares it.
        expect(coll.maps.flows!.lookup(encodeFlow())).toEqual(new Uint8Array([10, 0, 0, 0, 0, 0, 0, 0]));
        // A hand-written codec named like the BTF struct is accepted; another struct of the same size is not.
        expect(coll.typedMap('flows', { key: flowCodec, value: u64 }).lookup({ saddr: 1, daddr: 2, sport: 3, dport: 4 })).toBe(10n);
        const other = struct({ a: [0, u32], b: [4, u32], c: [8, u32] }, { size: 12, name: 'struct other' });
        expect(() => coll.typedMap('flows', { key: other, value: u64 })).toThrow(
          /a codec of struct flow \(the object's BTF type of the map's key\)/,
        );
        expect(() => coll.typedMap('flows', { key: u32, value: u64 })).toThrow(/a codec of 12 bytes \(the map's key size\)/);
        expect(() => coll.typedMap('nope', { key: u32, value: u64 })).toThrow(InvalidArgumentError);
        expect(() => coll.typedMap('hits', { key: u32, value: u64 })).toThrow(/use withPerCpuCodecs/);
        const totals = coll.typedMap('totals', { key: u32, value: coll.codec<{ packets: bigint; bytes: bigint }>('struct stats') });
        totals.update(0, { packets: 2n, bytes: 128n });
        expect(totals.lookup(0)).toEqual({ packets: 2n, bytes: 128n });
        coll.close();
        expect(() => flows.lookup({ saddr: 1, daddr: 2, sport: 3, dport: 4 })).toThrow(ClosedError);
      });

      it('gives per-CPU maps as arrays of one value per possible CPU', () => {
        using system = backend.open();
        using coll = system.loadCollection(file, { programs: [] });
        const hits = coll.typedPerCpuMap('hits', { key: u32, value: u64 });
        const values = Array.from({ length: system.possibleCpus }, (_, i) => BigInt(i));
        hits.update(1, values);
        expect(hits.lookup(1)).toEqual(values);
        expect(hits.lookup(0)).toEqual(values.map(() => 0n));
        expect(() => coll.typedPerCpuMap('flows', { key: flowCodec, value: u64 })).toThrow(/a per-CPU map/);
        expect(coll.maps.hits!.type).toBe(MapType.PERCPU_ARRAY);
      });

      it('gives each load exactly the constants it was given: a spec is a value', () => {
        using system = backend.open();
        const spec = readObject(new Uint8Array(fs.readFileSync(file)));
        {
          using udp = system.loadCollection(spec, { programs: [], constants: { drop_protocol: 17 } });
          expect(udp.variables.drop_protocol!.get()).toBe(17n);
        }
        using plain = system.loadCollection(spec, { programs: [] });
        expect(plain.variables.drop_protocol!.get()).toBe(6n);
        expect(new DataView(spec.globals['.rodata']!.contents.buffer).getUint32(0, true)).toBe(6);
      });
    },
  );
}

function encodeFlow(): Uint8Array {
  const b = new Uint8Array(12);
  flowCodec.encode({ saddr: 1, daddr: 2, sport: 3, dport: 4 }, b);
  return b;
}
