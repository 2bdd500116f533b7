import { ParseError } from '../errors.js';
import { Elf } from '../elf/parse.js';
import type { ElfFile, ElfRelocation } from '../elf/parse.js';
import type { BtfMapSpec } from './btf-maps.js';

/** `struct bpf_map_def` of the legacy `maps` section: five u32 (type, key_size, value_size, max_entries, map_flags). */
const LEGACY_DEF_SIZE = 20;

/**
 * goebpf's `struct bpf_map_def` (its bpf_helpers.h): the five u32, 4 bytes
 * of padding, then two pointers the compiler leaves to relocations:
 * `void *inner_map_def` (the definition of a map-in-map's inner map, another
 * entry of the section) and `const char *persistent_path` (a string: pin the
 * map there, or reuse the map pinned there).
 */
const GOEBPF_DEF_SIZE = 40;
const GOEBPF_INNER_MAP = 24;
const GOEBPF_PERSISTENT_PATH = 32;

/**
 * The maps of a legacy `maps` section (`struct bpf_map_def` per symbol, as
 * objects written before BTF map definitions declare them). Definitions
 * larger than 20 bytes (iproute2's extended layout) are read for the first
 * five fields; extra bytes must be zero, since their meaning differs between
 * loaders — except goebpf's 40-byte layout, whose pointer fields give a
 * map-in-map its inner map and a map its `persistentPath`.
 *
 * @example
 * mapsFromLegacySection(parseElf(fs.readFileSync('prog.bpf.o'))).counts.maxEntries;
 */
export function mapsFromLegacySection(elf: ElfFile, sectionName = 'maps'): Record<string, BtfMapSpec> {
  const out: Record<string, BtfMapSpec> = {};
  const section = elf.section(sectionName);
  if (!section) return out;
  const data = elf.data(section);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const symbols = elf.symbols.filter((s) => s.section === section.index && s.type !== Elf.STT_SECTION && s.name !== '');
  if (symbols.length === 0 && data.byteLength > 0) throw new ParseError('ELF', `section '${sectionName}': map definitions without symbols`);
  // Relocations of the section: goebpf's pointer fields, by byte offset in the section.
  const relocations = new Map(elf.relocations(section.index).map((r) => [r.offset, r]));
  const pointers = new Map<string, { inner?: string; persistentPath?: string }>();
  for (const sym of symbols) {
    const offset = Number(sym.value);
    // Objects that leave st_size 0 use the spacing of the definitions instead.
    const size = Number(sym.size) || Math.floor(data.byteLength / symbols.length);
    if (size < LEGACY_DEF_SIZE || offset + size > data.byteLength) {
      throw new ParseError(
        'ELF',
        `section '${sectionName}': map '${sym.name}' (${size} bytes at ${offset}) is not a whole struct bpf_map_def of at least ${LEGACY_DEF_SIZE} bytes`,
      );
    }
    const goebpf = size === GOEBPF_DEF_SIZE ? goebpfPointers(elf, sectionName, sym.name, data, offset, relocations) : undefined;
    for (let i = offset + LEGACY_DEF_SIZE; i < offset + size; i++) {
      // goebpf's pointer fields hold relocated addends, read above.
      if (goebpf && i >= offset + GOEBPF_INNER_MAP) break;
      if (data[i] !== 0)
        throw new ParseError(
          'ELF',
          `section '${sectionName}': map '${sym.name}' sets fields beyond struct bpf_map_def (byte ${i - offset}), which this loader does not know`,
        );
    }
    const u32 = (k: number) => view.getUint32(offset + 4 * k, elf.littleEndian);
    // defineProperty: a map named '__proto__' is a map, not the record's prototype.
    Object.defineProperty(out, sym.name, {
      value: { name: sym.name, type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4) },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    if (goebpf) pointers.set(sym.name, goebpf);
  }
  for (const [name, p] of pointers) {
    const map = ownMap(out, name)!;
    if (p.inner !== undefined) {
      const template = ownMap(out, p.inner); // an own entry: not Object.prototype's toString
      if (!template || p.inner === name)
        throw new ParseError(
          'ELF',
          `section '${sectionName}': map '${name}' names '${p.inner}' as its inner map, which is not another map of the section`,
        );
      const { name: _n, ...inner } = template;
      map.innerMap = { ...inner, name: p.inner };
    }
    if (p.persistentPath !== undefined) map.persistentPath = p.persistentPath;
  }
  return out;
}

/** The entry named `name` of a record filled with defineProperty (read the same way: `__proto__` too). */
function ownMap(maps: Record<string, BtfMapSpec>, name: string): BtfMapSpec | undefined {
  return Object.getOwnPropertyDescriptor(maps, name)?.value as BtfMapSpec | undefined;
}

/** goebpf's inner_map_def and persistent_path of the definition at `offset`, from the section's relocations. */
function goebpfPointers(
  elf: ElfFile,
  sectionName: string,
  map: string,
  data: Uint8Array,
  offset: number,
  relocations: Map<number, ElfRelocation>,
): { inner?: string; persistentPath?: string } | undefined {
  const inner = relocations.get(offset + GOEBPF_INNER_MAP);
  const path = relocations.get(offset + GOEBPF_PERSISTENT_PATH);
  if (!inner && !path) return undefined;
  const out: { inner?: string; persistentPath?: string } = {};
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (inner) {
    const sym = elf.symbols[inner.symbol];
    if (!sym || sym.name === '')
      throw new ParseError('ELF', `section '${sectionName}': map '${map}': its inner_map_def points at no named symbol`);
    out.inner = sym.name;
  }
  if (path) {
    const sym = elf.symbols[path.symbol];
    const strings = sym ? elf.sections[sym.section] : undefined;
    if (!sym || !strings || strings.type === Elf.SHT_NOBITS)
      throw new ParseError('ELF', `section '${sectionName}': map '${map}': its persistent_path points into no section with data`);
    // SHT_REL: the addend is what the field holds; against a named string the symbol's value adds to it.
    const at = Number(sym.value) + Number(view.getBigUint64(offset + GOEBPF_PERSISTENT_PATH, elf.littleEndian));
    const bytes = elf.data(strings);
    const end = bytes.indexOf(0, at);
    if (at >= bytes.byteLength || end < 0)
      throw new ParseError(
        'ELF',
        `section '${sectionName}': map '${map}': its persistent_path (byte ${at} of '${strings.name}') is not a string`,
      );
    const text = new TextDecoder().decode(bytes.subarray(at, end));
    if (!text.startsWith('/'))
      throw new ParseError('ELF', `section '${sectionName}': map '${map}': persistent_path '${text}' is not an absolute path`);
    out.persistentPath = text;
  }
  return out;
}
