import { ParseError } from '../errors.js';

/** ELF constants a BPF object uses (elf.h). */
export const Elf = {
  EM_BPF: 247,
  ET_REL: 1,
  SHT_NULL: 0,
  SHT_PROGBITS: 1,
  SHT_SYMTAB: 2,
  SHT_STRTAB: 3,
  SHT_RELA: 4,
  SHT_NOBITS: 8,
  SHT_REL: 9,
  STB_LOCAL: 0,
  STB_GLOBAL: 1,
  STB_WEAK: 2,
  STT_NOTYPE: 0,
  STT_OBJECT: 1,
  STT_FUNC: 2,
  STT_SECTION: 3,
  SHN_UNDEF: 0,
  SHN_ABS: 0xfff1,
  SHN_COMMON: 0xfff2,
  SHF_WRITE: 1,
  SHF_ALLOC: 2,
  SHF_EXECINSTR: 4,
} as const;

/** One section header, with its name resolved. */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

/** One symbol of `.symtab`. */
export interface ElfSymbol {
  index: number;
  name: string;
  /** `st_info >> 4`: local, global, weak. */
  bind: number;
  /** `st_info & 0xf`: notype, object, func, section. */
  type: number;
  /** `st_other & 3`: visibility. */
  visibility: number;
  /** Section index (`SHN_UNDEF` for externs). */
  section: number;
  value: bigint;
  size: bigint;
}

/** One relocation of a `SHT_REL` section: where, which symbol, which kind (`R_BPF_*`). */
export interface ElfRelocation {
  offset: number;
  symbol: number;
  type: number;
}

/** A parsed relocatable BPF ELF object. */
export interface ElfFile {
  littleEndian: boolean;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** The section with this name, if any. */
  section(name: string): ElfSection | undefined;
  /** The bytes of a section (empty for `SHT_NOBITS`). */
  data(section: ElfSection): Uint8Array;
  /** Relocations that apply to the section with index `target`. */
  relocations(target: number): ElfRelocation[];
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

/**
 * Where each variable (`STT_OBJECT` symbol) of a section starts, by name.
 * clang leaves the offsets in a BTF DATASEC zero (libbpf fills them in at
 * load), so the symbol table is where variables really are.
 *
 * @example
 * variableOffsets(elf, elf.section('.bss')!.index).get('packets'); // 8
 */
export function variableOffsets(elf: ElfFile, sectionIndex: number): Map<string, number> {
  return new Map(elf.symbols.filter((s) => s.section === sectionIndex && s.type === Elf.STT_OBJECT).map((s) => [s.name, Number(s.value)]));
}

/**
 * Parses a 64-bit relocatable ELF object for the BPF machine, in either byte
 * order: header, section headers and names, the symbol table and the
 * relocation sections. Objects for another machine, 32-bit objects and
 * anything malformed are refused with a {@link ParseError} naming the problem.
 *
 * @example
 * const elf = parseElf(fs.readFileSync('prog.bpf.o'));
 * elf.section('.maps');
 */
export function parseElf(input: Uint8Array): ElfFile {
  const fail = (message: string, offset?: number): never => {
    throw new ParseError('ELF', message, offset);
  };
  if (!(input instanceof Uint8Array)) fail('expected the object as a Uint8Array');
  // A plain Uint8Array over the same memory: section data is handed out as subarrays of it, and a
  // subclass's slice() may be a view instead of a copy (Node's Buffer, what fs.readFileSync
  // returns), so a reader that copies section bytes to patch them (the program linker does) would
  // write into the caller's bytes and into what the next program of the object is linked from.
  const bytes =
    Object.getPrototypeOf(input) === Uint8Array.prototype ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.byteLength < EHDR_SIZE) fail(`file of ${bytes.byteLength} bytes is shorter than the 64-byte ELF header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) fail('not an ELF file (bad magic)', 0);
  if (bytes[4] !== 2) fail(`ELF class ${bytes[4]} is not 64-bit (BPF objects are ELF64)`, 4);
  if (bytes[5] !== 1 && bytes[5] !== 2) fail(`unknown data encoding ${bytes[5]}`, 5);
  const le = bytes[5] === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machine = view.getUint16(18, le);
  if (machine !== Elf.EM_BPF) fail(`machine ${machine} is not BPF (${Elf.EM_BPF}): not a BPF object`, 18);
  const type = view.getUint16(16, le);
  if (type !== Elf.ET_REL) fail(`ELF type ${type} is not a relocatable object (clang -c output)`, 16);
  const shoff = Number(view.getBigUint64(40, le));
  const shentsize = view.getUint16(58, le);
  const shnum = view.getUint16(60, le);
  const shstrndx = view.getUint16(62, le);
  if (shnum === 0) fail('no section headers');
  if (shentsize !== SHDR_SIZE) fail(`section header size ${shentsize}, expected ${SHDR_SIZE}`, 58);
  if (shoff + shnum * SHDR_SIZE > bytes.byteLength) fail(`section headers (${shnum} at ${shoff}) run past the end of the file`, 40);
  if (shstrndx >= shnum) fail(`section name table index ${shstrndx} is out of range (${shnum} sections)`, 62);

  const raw: Omit<ElfSection, 'name'>[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SHDR_SIZE;
    nameOffsets.push(view.getUint32(at, le));
    const section = {
      index: i,
      type: view.getUint32(at + 4, le),
      flags: view.getBigUint64(at + 8, le),
      offset: Number(view.getBigUint64(at + 24, le)),
      size: Number(view.getBigUint64(at + 32, le)),
      link: view.getUint32(at + 40, le),
      info: view.getUint32(at + 44, le),
      align: Number(view.getBigUint64(at + 48, le)),
      entsize: Number(view.getBigUint64(at + 56, le)),
    };
    // Sizes beyond 2 GiB cannot be map values or programs; they only come from corrupt headers.
    if (section.size > 0x7fffffff) fail(`section ${i} claims ${section.size} bytes`, at);
    if (section.type !== Elf.SHT_NOBITS && section.type !== Elf.SHT_NULL && section.offset + section.size > bytes.byteLength) {
      fail(`section ${i} (${section.size} bytes at ${section.offset}) runs past the end of the file`, at);
    }
    raw.push(section);
  }
  const decoder = new TextDecoder();
  const stringAt = (table: Omit<ElfSection, 'name'>, off: number, what: string): string => {
    if (table.type !== Elf.SHT_STRTAB) fail(`${what}: section ${table.index} is not a string table`);
    if (off >= table.size) fail(`${what}: name offset ${off} is outside its string table of ${table.size} bytes`);
    let end = table.offset + off;
    const limit = table.offset + table.size;
    while (end < limit && bytes[end] !== 0) end++;
    return decoder.decode(bytes.subarray(table.offset + off, end));
  };
  const shstr = raw[shstrndx]!;
  const sections: ElfSection[] = raw.map((s, i) => ({ ...s, name: i === 0 ? '' : stringAt(shstr, nameOffsets[i]!, `section ${i}`) }));

  const symbols: ElfSymbol[] = [];
  const symtab = sections.find((s) => s.type === Elf.SHT_SYMTAB);
  if (symtab) {
    if (symtab.entsize !== SYM_SIZE) fail(`symbol size ${symtab.entsize}, expected ${SYM_SIZE}`);
    // A fraction of a symbol at the end would be read from past the table (and maybe the file).
    if (symtab.size % SYM_SIZE !== 0) fail(`symbol table of ${symtab.size} bytes is not a whole number of ${SYM_SIZE}-byte symbols`);
    const strtab = sections[symtab.link];
    if (!strtab) fail(`symbol table links to missing string table ${symtab.link}`);
    for (let i = 0; i < symtab.size / SYM_SIZE; i++) {
      const at = symtab.offset + i * SYM_SIZE;
      const info = view.getUint8(at + 4);
      symbols.push({
        index: i,
        name: stringAt(strtab!, view.getUint32(at, le), `symbol ${i}`),
        bind: info >> 4,
        type: info & 0xf,
        visibility: view.getUint8(at + 5) & 3,
        section: view.getUint16(at + 6, le),
        value: view.getBigUint64(at + 8, le),
        size: view.getBigUint64(at + 16, le),
      });
    }
  }

  const relocationsByTarget = new Map<number, ElfRelocation[]>();
  for (const s of sections) {
    if (s.type === Elf.SHT_RELA) fail(`section '${s.name}': RELA relocations are not used by BPF objects`);
    if (s.type !== Elf.SHT_REL) continue;
    if (s.entsize !== 16) fail(`section '${s.name}': relocation size ${s.entsize}, expected 16`);
    if (s.size % 16 !== 0) fail(`section '${s.name}': ${s.size} bytes is not a whole number of 16-byte relocations`);
    const list: ElfRelocation[] = [];
    for (let i = 0; i < s.size / 16; i++) {
      const at = s.offset + i * 16;
      const info = view.getBigUint64(at + 8, le);
      const symbol = Number(info >> 32n);
      if (symbol >= symbols.length) fail(`section '${s.name}': relocation ${i} names symbol ${symbol} of ${symbols.length}`);
      list.push({ offset: Number(view.getBigUint64(at, le)), symbol, type: Number(info & 0xffffffffn) });
    }
    relocationsByTarget.set(s.info, [...(relocationsByTarget.get(s.info) ?? []), ...list]);
  }

  const byName = new Map(sections.map((s) => [s.name, s]));
  return {
    littleEndian: le,
    sections,
    symbols,
    section: (name) => byName.get(name),
    data: (s) => (s.type === Elf.SHT_NOBITS ? new Uint8Array(0) : bytes.subarray(s.offset, s.offset + s.size)),
    relocations: (target) => relocationsByTarget.get(target) ?? [],
  };
}
