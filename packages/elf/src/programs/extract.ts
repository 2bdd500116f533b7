import type { ProgramSpec } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import { CallSrc, PseudoSrc } from '../asm/instruction.js';
import { Elf } from '../elf/parse.js';
import type { ElfFile, ElfRelocation, ElfSection, ElfSymbol } from '../elf/parse.js';
import { sectionInfo } from './sections.js';
import type { Btf } from '../btf/parse.js';
import { parseBtfExt } from '../btf/ext.js';
import type { BtfExt, BtfExtLineInfo, BtfExtSection } from '../btf/ext.js';

/** What an instruction of a linked program must be given at load time. */
export interface ProgramReference {
  /** Instruction slot (8-byte unit) in the linked program. */
  index: number;
  /**
   * `map`: an `lddw` of a map's fd; `map_value`: of an address inside a
   * global data map; `extern`: an `lddw` of a kconfig/ksym symbol (or of a
   * kfunc's address, for `bpf_ksym_exists()`); `kfunc`: a call to a kernel
   * function.
   */
  kind: 'map' | 'map_value' | 'extern' | 'kfunc';
  /** The map (variable name), global data section (`.rodata`…) or extern symbol. */
  target: string;
  /** For `map_value`: the byte offset inside the section. */
  offset: number;
}

/**
 * A `bpf_func_info` of a linked program: the function whose first instruction
 * is at slot `insnOff`.
 *
 * @example
 * const f: ProgramFuncInfo = { insnOff: 0, typeId: 12 };
 */
export interface ProgramFuncInfo {
  /** Instruction slot (8-byte unit) in the linked program. */
  insnOff: number;
  /** The FUNC type in the object's `.BTF`. */
  typeId: number;
}

/**
 * A `bpf_line_info` of a linked program. The string offsets are the raw
 * ones of the object's `.BTF`; `fileName` and `line` are what they point
 * at, for a loader that rewrites the BTF strings.
 *
 * @example
 * const l: ProgramLineInfo = { insnOff: 0, fileNameOff: 1, lineOff: 30, lineCol: (7 << 10) | 3, fileName: 'x.bpf.c', line: 'int x = 0;' };
 */
export interface ProgramLineInfo extends Omit<BtfExtLineInfo, 'insnOff' | 'lineNumber' | 'column'> {
  /** Instruction slot (8-byte unit) in the linked program. */
  insnOff: number;
}

/**
 * A CO-RE relocation of a linked program (a `bpf_core_relo` moved to the
 * program's instruction slots), for `resolveCoreRelocations`.
 *
 * @example
 * const r: ProgramCoreRelocation = { index: 4, typeId: 8, accessString: '0:1', accessStringOff: 40, kind: 0 };
 */
export interface ProgramCoreRelocation {
  /** Instruction slot (8-byte unit) in the linked program. */
  index: number;
  /** The local root type in the object's `.BTF`. */
  typeId: number;
  accessString: string;
  /** The raw offset of the access string in the object's `.BTF` strings. */
  accessStringOff: number;
  /** `enum bpf_core_relo_kind`. */
  kind: number;
}

/** A program read from an object: linked with its subprograms, with the references left for load. */
export interface ElfProgramSpec extends ProgramSpec {
  section: string;
  references: ProgramReference[];
  /** Function starts, sorted, the first at slot 0 (empty without `.BTF.ext`). */
  funcInfo: ProgramFuncInfo[];
  /** Source lines, sorted by slot (empty without `.BTF.ext`). */
  lineInfo: ProgramLineInfo[];
  /** CO-RE relocations to resolve before load, sorted by slot (empty without `.BTF.ext`). */
  coreRelocations: ProgramCoreRelocation[];
}

const INSN = 8;
const LDDW = 0x18;
const CALL = 0x85;

interface Func {
  section: ElfSection;
  symbol: ElfSymbol;
  start: number; // slot in the section
  slots: number;
}

/**
 * Every program of an object (each global function in a section libbpf
 * recognises), with the subprograms it calls appended and the call offsets
 * rewritten, map and global-data loads marked (`src_reg` set to
 * `BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_VALUE`) and listed as references for
 * the loader, and the license from the `license` section.
 *
 * Given the object's BTF (and its `.BTF.ext`, which is parsed from the
 * object when not given), each program also carries its function and line
 * information and its CO-RE relocations, moved from the section offsets of
 * `.BTF.ext` to instruction slots of the linked program.
 *
 * @example
 * const programs = programsFromElf(elf);
 * programs.count_packets.references; // [{ index: 3, kind: 'map', target: 'flows', offset: 0 }, …]
 * const btf = parseBtf(elf.data(elf.section('.BTF')!));
 * programsFromElf(elf, btf).count_packets.funcInfo; // [{ insnOff: 0, typeId: 7 }, { insnOff: 21, typeId: 9 }]
 */
export function programsFromElf(elf: ElfFile, btf?: Btf, ext?: BtfExt, warnings?: string[]): Record<string, ElfProgramSpec> {
  const le = elf.littleEndian;
  if (!ext && btf) {
    const extSection = elf.section('.BTF.ext');
    if (extSection) ext = parseBtfExt(elf.data(extSection), btf);
  }
  const licenseSection = elf.section('license');
  const license = licenseSection ? new TextDecoder().decode(elf.data(licenseSection)).replace(/\0.*$/s, '') : '';
  const code = elf.sections.filter((s) => s.type === Elf.SHT_PROGBITS && (s.flags & BigInt(Elf.SHF_EXECINSTR)) !== 0n && s.size > 0);
  const funcs = new Map<string, Func>(); // key: `${section}:${slot}`
  for (const s of code) {
    if (s.size % INSN !== 0) throw new ParseError('ELF', `section '${s.name}': ${s.size} bytes is not a whole number of instructions`);
    for (const sym of elf.symbols) {
      if (sym.section !== s.index || sym.type !== Elf.STT_FUNC) continue;
      const start = Number(sym.value) / INSN;
      const slots = Number(sym.size) / INSN || s.size / INSN - start;
      // Whole instructions inside the section, at least one: a symbol of a corrupt object may start
      // past the end (a negative length), mid-instruction, or hold a fraction of one.
      if (!Number.isInteger(start) || !Number.isInteger(slots) || slots < 1 || start + slots > s.size / INSN)
        throw new ParseError(
          'ELF',
          `function '${sym.name}' (${sym.size} bytes at byte ${sym.value}) is not whole instructions inside section '${s.name}' of ${s.size} bytes`,
        );
      funcs.set(`${s.index}:${start}`, { section: s, symbol: sym, start, slots });
    }
  }
  const codeSections = new Set(code.map((s) => s.index));
  const mapSections = new Set(elf.sections.filter((s) => s.name === '.maps' || s.name === 'maps').map((s) => s.index));
  const dataSections = new Map(elf.sections.filter((s) => /^\.(data|rodata|bss)(\..+)?$/.test(s.name)).map((s) => [s.index, s.name]));
  const relocs = new Map<number, Map<number, ElfRelocation>>();
  const relocsOf = (section: ElfSection) => {
    let m = relocs.get(section.index);
    if (!m) {
      m = new Map(elf.relocations(section.index).map((r) => [r.offset / INSN, r]));
      relocs.set(section.index, m);
    }
    return m;
  };

  const out: Record<string, ElfProgramSpec> = {};
  if (warnings) {
    // Code bpfkit cannot type is never dropped silently.
    for (const s of code) {
      if (s.name === '.text' || sectionInfo(s.name)) continue;
      const names = [...funcs.values()].filter((f) => f.section === s && f.symbol.bind === Elf.STB_GLOBAL).map((f) => `'${f.symbol.name}'`);
      warnings.push(
        `section '${s.name}' holds code of no program type bpfkit knows${names.length ? ` (${names.join(', ')})` : ''}: not loaded; name the section as libbpf does (e.g. SEC("xdp"), SEC("tc"), SEC("socket"))`,
      );
    }
  }
  for (const f of funcs.values()) {
    const info = sectionInfo(f.section.name);
    if (!info || f.symbol.bind !== Elf.STB_GLOBAL) continue;
    try {
      // defineProperty: a program named '__proto__' is a program, not the record's prototype.
      Object.defineProperty(out, f.symbol.name, { value: linkProgram(f, info), enumerable: true, writable: true, configurable: true });
    } catch (e) {
      // One program that cannot be linked leaves the others loadable: the caller that collects
      // warnings gets this one named there (and the program left out), else the error.
      if (!(e instanceof ParseError) || !warnings) throw e;
      warnings.push(`program '${f.symbol.name}' (section '${f.section.name}') is left out: ${e.message}`);
    }
  }
  return out;

  function linkProgram(f: Func, info: NonNullable<ReturnType<typeof sectionInfo>>): ElfProgramSpec {
    const pieces: Func[] = [f];
    const placed = new Map<string, number>([[`${f.section.index}:${f.start}`, 0]]);
    let total = f.slots;
    const bytes: Uint8Array[] = [];
    const references: ProgramReference[] = [];
    const extInfo: ExtInfo = { funcInfo: [], lineInfo: [], coreRelocations: [] };
    const described: string[] = []; // functions with a func_info
    for (let p = 0; p < pieces.length; p++) {
      const piece = pieces[p]!;
      const base = placed.get(`${piece.section.index}:${piece.start}`)!;
      if (ext && placeExtInfo(ext, piece, base, f.symbol.name, extInfo)) described.push(piece.symbol.name);
      // A copy (subarray, then copied): linking rewrites call offsets, and the section is shared by every program.
      const insns = new Uint8Array(elf.data(piece.section).subarray(piece.start * INSN, (piece.start + piece.slots) * INSN));
      const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
      const srcOf = (i: number) => (le ? insns[i * INSN + 1]! >> 4 : insns[i * INSN + 1]! & 0xf);
      const setSrc = (i: number, src: number) => {
        const r = insns[i * INSN + 1]!;
        insns[i * INSN + 1] = le ? (r & 0x0f) | (src << 4) : (r & 0xf0) | src;
      };
      const rel = relocsOf(piece.section);
      for (let i = 0; i < piece.slots; i++) {
        const opcode = insns[i * INSN]!;
        const r = rel.get(piece.start + i);
        const imm = view.getInt32(i * INSN + 4, le);
        if (opcode === LDDW && r) {
          const sym = elf.symbols[r.symbol]!;
          if (mapSections.has(sym.section)) {
            setSrc(i, PseudoSrc.MAP_FD);
            references.push({ index: base + i, kind: 'map', target: sym.name, offset: 0 });
          } else if (dataSections.has(sym.section)) {
            setSrc(i, PseudoSrc.MAP_VALUE);
            // Against a section symbol the offset is in imm; against a variable it is the symbol's value plus imm.
            const offset = (sym.type === Elf.STT_SECTION ? 0 : Number(sym.value)) + imm;
            references.push({ index: base + i, kind: 'map_value', target: dataSections.get(sym.section)!, offset });
          } else if (sym.section === Elf.SHN_UNDEF) {
            // The addend (a field of an extern struct, a byte of a kconfig string) is in imm.
            references.push({ index: base + i, kind: 'extern', target: sym.name, offset: imm });
          } else if (codeSections.has(sym.section)) {
            // The address of a function (a callback for bpf_loop, bpf_for_each_map_elem,
            // bpf_timer_set_callback, bpf_find_vma, bpf_user_ringbuf_drain…): a BPF_PSEUDO_FUNC
            // load of the subprogram, appended to the program like a called one. imm becomes the
            // offset from the next instruction to the function (the verifier's `insn_idx + imm + 1`).
            const byteOffset = Number(sym.value) + imm; // against .text's section symbol the offset is the addend
            if (byteOffset % INSN !== 0)
              throw new ParseError(
                'ELF',
                `program '${f.symbol.name}': instruction ${i} of '${piece.symbol.name}' takes the address of byte ${byteOffset} of section '${elf.sections[sym.section]?.name}', which is not an instruction boundary`,
              );
            const key = `${sym.section}:${byteOffset / INSN}`;
            const callee = funcs.get(key);
            if (!callee)
              throw new ParseError(
                'ELF',
                `program '${f.symbol.name}': instruction ${i} of '${piece.symbol.name}' takes the address of instruction ${byteOffset / INSN} of section '${elf.sections[sym.section]?.name}', where no function starts`,
              );
            if (!placed.has(key)) {
              placed.set(key, total);
              total += callee.slots;
              pieces.push(callee);
            }
            setSrc(i, PseudoSrc.FUNC);
            view.setInt32(i * INSN + 4, placed.get(key)! - (base + i + 1), le);
            i++;
            continue;
          } else {
            throw new ParseError(
              'ELF',
              `program '${f.symbol.name}': instruction ${i} of '${piece.symbol.name}' loads from section ${sym.section}, which is neither maps nor global data`,
            );
          }
          view.setInt32(i * INSN + 4, 0, le);
          i++; // the second half of lddw
          continue;
        }
        if (opcode === CALL && r && elf.symbols[r.symbol]?.section === Elf.SHN_UNDEF) {
          // A call to an extern function: a kfunc, resolved against the kernel's BTF at load.
          references.push({ index: base + i, kind: 'kfunc', target: elf.symbols[r.symbol]!.name, offset: 0 });
          setSrc(i, 0);
          view.setInt32(i * INSN + 4, 0, le);
          continue;
        }
        if (opcode === CALL && (srcOf(i) === CallSrc.LOCAL || r)) {
          let targetSection: ElfSection;
          let targetSlot: number;
          if (r) {
            const sym = elf.symbols[r.symbol]!;
            targetSection = elf.sections[sym.section]!;
            if (!targetSection) throw new ParseError('ELF', `program '${f.symbol.name}': call to '${sym.name}', which no section holds`);
            targetSlot = Number(sym.value) / INSN + (sym.type === Elf.STT_SECTION ? imm + 1 : 0);
            setSrc(i, CallSrc.LOCAL);
          } else {
            targetSection = piece.section;
            targetSlot = piece.start + i + imm + 1;
          }
          const key = `${targetSection.index}:${targetSlot}`;
          const callee = funcs.get(key);
          if (!callee) {
            // A jump inside the same function (clang may keep local calls relative): nothing to link.
            if (targetSection === piece.section && targetSlot >= piece.start && targetSlot < piece.start + piece.slots) continue;
            throw new ParseError(
              'ELF',
              `program '${f.symbol.name}': call at instruction ${i} of '${piece.symbol.name}' targets no function (section '${targetSection.name}', instruction ${targetSlot})`,
            );
          }
          if (!placed.has(key)) {
            placed.set(key, total);
            total += callee.slots;
            pieces.push(callee);
          }
          view.setInt32(i * INSN + 4, placed.get(key)! - (base + i + 1), le);
        }
      }
      bytes.push(insns);
    }
    const instructions = new Uint8Array(total * INSN);
    let at = 0;
    for (const b of bytes) {
      instructions.set(b, at);
      at += b.length;
    }
    return {
      name: f.symbol.name,
      type: info.programType,
      ...(info.expectedAttachType !== undefined ? { expectedAttachType: info.expectedAttachType } : {}),
      ...(info.attachTo !== undefined ? { attachTo: info.attachTo } : {}),
      ...(info.flags ? { flags: info.flags } : {}),
      instructions,
      license,
      section: f.section.name,
      references,
      ...sortExtInfo(
        extInfo,
        f.symbol.name,
        described.length === 0 ? [] : pieces.filter((x) => !described.includes(x.symbol.name)).map((x) => x.symbol.name),
      ),
    };
  }
}

type ExtInfo = Pick<ElfProgramSpec, 'funcInfo' | 'lineInfo' | 'coreRelocations'>;

/** The slot of a `.BTF.ext` record inside `piece`, or undefined when the record is elsewhere in the section. */
function slotIn(piece: Func, insnOff: number, what: string): number | undefined {
  if (insnOff % INSN !== 0)
    throw new ParseError('BTF.ext', `${what} in section '${piece.section.name}' at byte ${insnOff}, which is not an instruction boundary`);
  const slot = insnOff / INSN;
  return slot >= piece.start && slot < piece.start + piece.slots ? slot - piece.start : undefined;
}

/** Moves the records of `piece` (placed at slot `base` of the linked program) into `into`; true when it has a func_info. */
function placeExtInfo(ext: BtfExt, piece: Func, base: number, program: string, into: ExtInfo): boolean {
  const records: BtfExtSection | undefined = Object.hasOwn(ext.sections, piece.section.name) ? ext.sections[piece.section.name] : undefined;
  if (!records) return false;
  let hasFunc = false;
  for (const r of records.funcInfo) {
    const at = slotIn(piece, r.insnOff, 'func_info');
    if (at === undefined) continue;
    if (at !== 0)
      throw new ParseError(
        'BTF.ext',
        `program '${program}': func_info of '${piece.symbol.name}' is at instruction ${at} of the function, not at its start`,
      );
    if (hasFunc) throw new ParseError('BTF.ext', `program '${program}': function '${piece.symbol.name}' has two func_info records`);
    hasFunc = true;
    into.funcInfo.push({ insnOff: base, typeId: r.typeId });
  }
  for (const r of records.lineInfo) {
    const at = slotIn(piece, r.insnOff, 'line_info');
    if (at === undefined) continue;
    into.lineInfo.push({
      insnOff: base + at,
      fileNameOff: r.fileNameOff,
      lineOff: r.lineOff,
      lineCol: r.lineCol,
      fileName: r.fileName,
      line: r.line,
    });
  }
  for (const r of records.coreRelos) {
    const at = slotIn(piece, r.insnOff, 'core_relo');
    if (at === undefined) continue;
    into.coreRelocations.push({
      index: base + at,
      typeId: r.typeId,
      accessString: r.accessString,
      accessStringOff: r.accessStringOff,
      kind: r.kind,
    });
  }
  return hasFunc;
}

/** Sorts the records by slot and checks what the kernel requires of func_info: every function or none, the first at 0. */
function sortExtInfo(info: ExtInfo, program: string, undescribed: string[]): ExtInfo {
  if (undescribed.length > 0) {
    throw new ParseError(
      'BTF.ext',
      `program '${program}': function${undescribed.length > 1 ? 's' : ''} ${undescribed.map((n) => `'${n}'`).join(', ')} ha${undescribed.length > 1 ? 've' : 's'} no func_info while others have`,
    );
  }
  const bySlot = <T extends { insnOff: number }>(a: T, b: T) => a.insnOff - b.insnOff;
  info.funcInfo.sort(bySlot);
  info.lineInfo.sort(bySlot);
  info.coreRelocations.sort((a, b) => a.index - b.index);
  if (info.funcInfo.length > 0 && info.funcInfo[0]!.insnOff !== 0) {
    throw new ParseError(
      'BTF.ext',
      `program '${program}': no func_info for the program's own function (the first starts at instruction ${info.funcInfo[0]!.insnOff})`,
    );
  }
  return info;
}
