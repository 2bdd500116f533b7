import { ParseError } from '../errors.js';
import { BtfKind } from '../btf/kinds.js';
import type { Btf } from '../btf/parse.js';
import { Elf, variableOffsets } from '../elf/parse.js';
import type { ElfFile } from '../elf/parse.js';
import { skipModifiers } from './btf-maps.js';

/** One slot a map definition initialises: `.values = { [slot] = &target }`. */
export interface MapInitialValue {
  slot: number;
  /** A program (function name) for prog arrays, a map (variable name) for map-in-maps. */
  kind: 'program' | 'map';
  target: string;
}

/**
 * The initial contents of prog arrays and map-in-maps declared with
 * `__array(values, …)` and an initialiser (`.values = { [1] = &other }`):
 * clang leaves them as relocations against the `.maps` section, one per
 * filled slot, pointing at a program or a map.
 *
 * @example
 * mapInitialValues(elf, btf).jump_table; // [{ slot: 0, kind: 'program', target: 'tail_one' }]
 */
export function mapInitialValues(elf: ElfFile, btf: Btf, sectionName = '.maps'): Record<string, MapInitialValue[]> {
  const section = elf.section(sectionName);
  const datasec = btf.find(sectionName, BtfKind.DATASEC);
  const out: Record<string, MapInitialValue[]> = {};
  if (!section || !datasec) return out;
  const relocations = elf.relocations(section.index);
  if (relocations.length === 0) return out;
  const symbolOffset = variableOffsets(elf, section.index);
  const maps = (datasec.variables ?? []).map((v) => {
    const variable = btf.type(v.type)!;
    const def = skipModifiers(btf, variable.sizeOrType);
    const values = def.members?.find((m) => m.name === 'values');
    return {
      name: variable.name,
      start: symbolOffset.get(variable.name) ?? v.offset,
      size: v.size,
      valuesOffset: values ? values.bitOffset / 8 : undefined,
    };
  });
  for (const r of relocations) {
    const map = maps.find((m) => r.offset >= m.start && r.offset < m.start + m.size);
    if (!map) throw new ParseError('ELF', `relocation at ${sectionName}+${r.offset} lies in no map definition`);
    if (map.valuesOffset === undefined || r.offset < map.start + map.valuesOffset) {
      throw new ParseError('ELF', `map '${map.name}': relocation at offset ${r.offset - map.start} is not in its 'values' array`);
    }
    const slot = (r.offset - map.start - map.valuesOffset) / 8;
    if (!Number.isInteger(slot))
      throw new ParseError('ELF', `map '${map.name}': relocation at offset ${r.offset - map.start} is not aligned to a slot`);
    const sym = elf.symbols[r.symbol];
    if (!sym) throw new ParseError('ELF', `map '${map.name}': relocation against missing symbol ${r.symbol}`);
    const kind = sym.type === Elf.STT_FUNC ? 'program' : sym.section === section.index ? 'map' : undefined;
    if (!kind) throw new ParseError('ELF', `map '${map.name}': slot ${slot} points at '${sym.name}', which is neither a program nor a map`);
    (out[map.name] ??= []).push({ slot, kind, target: sym.name });
  }
  return out;
}
