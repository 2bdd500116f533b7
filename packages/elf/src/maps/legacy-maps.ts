import { ParseError } from '../errors.js';
import { Elf } from '../elf/parse.js';
import type { ElfFile } from '../elf/parse.js';
import type { BtfMapSpec } from './btf-maps.js';

/** `struct bpf_map_def` of the legacy `maps` section: five u32 (type, key_size, value_size, max_entries, map_flags). */
const LEGACY_DEF_SIZE = 20;

/**
 * The maps of a legacy `maps` section (`struct bpf_map_def` per symbol, as
 * objects written before BTF map definitions declare them). Definitions
 * larger than 20 bytes (iproute2's extended layout) are read for the first
 * five fields; extra bytes must be zero, since their meaning differs between
 * loaders.
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
    for (let i = offset + LEGACY_DEF_SIZE; i < offset + size; i++) {
      if (data[i] !== 0)
        throw new ParseError(
          'ELF',
          `section '${sectionName}': map '${sym.name}' sets fields beyond struct bpf_map_def (byte ${i - offset}), which this loader does not know`,
        );
    }
    const u32 = (k: number) => view.getUint32(offset + 4 * k, elf.littleEndian);
    out[sym.name] = { name: sym.name, type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4) };
  }
  return out;
}
