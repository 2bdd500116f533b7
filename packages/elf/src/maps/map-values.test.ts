import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import { mapsFromBtf } from './btf-maps.js';
import { mapInitialValues } from './map-values.js';

const testdata = new URL('../../testdata/', import.meta.url);

describe('mapInitialValues', () => {
  for (const file of ['tailcalls.bpf.o', 'tailcalls.bpf.eb.o']) {
    it(`reads the programs of a prog array and the maps of a map-in-map (${file})`, () => {
      const elf = parseElf(new Uint8Array(fs.readFileSync(new URL(file, testdata))));
      const btf = parseBtf(elf.data(elf.section('.BTF')!));
      const values = mapInitialValues(elf, btf);
      expect(values.jump_table).toEqual([
        { slot: 0, kind: 'program', target: 'tail_pass' },
        { slot: 2, kind: 'program', target: 'tail_drop' },
      ]);
      expect(values.outer).toEqual([{ slot: 1, kind: 'map', target: 'answers' }]);
      expect(values.answers).toBeUndefined();
      const maps = mapsFromBtf(btf);
      expect(maps.jump_table).toMatchObject({ keySize: 4, valueSize: 4, maxEntries: 4 });
      expect(maps.outer!.innerMap).toMatchObject({ keySize: 4, valueSize: 8, maxEntries: 1 });
    });
  }

  it('finds nothing in an object whose maps have no initialisers', () => {
    const elf = parseElf(new Uint8Array(fs.readFileSync(new URL('basics.bpf.o', testdata))));
    expect(mapInitialValues(elf, parseBtf(elf.data(elf.section('.BTF')!)))).toEqual({});
  });
});
