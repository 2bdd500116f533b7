import type { ProgramSpec } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import { CallSrc, PseudoSrc } from '../asm/instruction.js';
import { Elf } from '../elf/parse.js';
import type { ElfFile, ElfRelocation, ElfSection, ElfSymbol } from '../elf/parse.js';
import { sectionInfo } from './sections.js';

/** What an instruction of a linked program must be given at load time. */
export interface ProgramReference {
  /** Instruction slot (8-byte unit) in the linked program. */
  index: number;
  /** `map`: an `lddw` of a map's fd; `map_value`: of an address inside a global data map; `extern`: a kconfig/ksym symbol. */
  kind: 'map' | 'map_value' | 'extern';
  /** The map (variable name), global data section (`.rodata`…) or extern symbol. */
  target: string;
  /** For `map_value`: the byte offset inside the section. */
  offset: number;
}

/** A program read from an object: linked with its subprograms, with the references left for load. */
export interface ElfProgramSpec extends ProgramSpec {
  section: string;
  references: ProgramReference[];
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
 * @example
 * const programs = programsFromElf(elf);
 * programs.count_packets.references; // [{ index: 3, kind: 'map', target: 'flows', offset: 0 }, …]
 */
export function programsFromElf(elf: ElfFile): Record<string, ElfProgramSpec> {
  const le = elf.littleEndian;
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
      if (!Number.isInteger(start) || start + slots > s.size / INSN) throw new ParseError('ELF', `function '${sym.name}' lies outside section '${s.name}'`);
      funcs.set(`${s.index}:${start}`, { section: s, symbol: sym, start, slots });
    }
  }
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
  for (const f of funcs.values()) {
    const info = sectionInfo(f.section.name);
    if (!info || f.symbol.bind !== Elf.STB_GLOBAL) continue;
    const pieces: Func[] = [f];
    const placed = new Map<string, number>([[`${f.section.index}:${f.start}`, 0]]);
    let total = f.slots;
    const bytes: Uint8Array[] = [];
    const references: ProgramReference[] = [];
    for (let p = 0; p < pieces.length; p++) {
      const piece = pieces[p]!;
      const base = placed.get(`${piece.section.index}:${piece.start}`)!;
      const insns = elf.data(piece.section).slice(piece.start * INSN, (piece.start + piece.slots) * INSN);
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
            references.push({ index: base + i, kind: 'extern', target: sym.name, offset: 0 });
          } else {
            throw new ParseError('ELF', `program '${f.symbol.name}': instruction ${i} of '${piece.symbol.name}' loads from section ${sym.section}, which is neither maps nor global data`);
          }
          view.setInt32(i * INSN + 4, 0, le);
          i++; // the second half of lddw
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
            throw new ParseError('ELF', `program '${f.symbol.name}': call at instruction ${i} of '${piece.symbol.name}' targets no function (section '${targetSection.name}', instruction ${targetSlot})`);
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
    out[f.symbol.name] = {
      name: f.symbol.name,
      type: info.programType,
      ...(info.expectedAttachType !== undefined ? { expectedAttachType: info.expectedAttachType } : {}),
      ...(info.attachTo !== undefined ? { attachTo: info.attachTo } : {}),
      ...(info.flags ? { flags: info.flags } : {}),
      instructions,
      license,
      section: f.section.name,
      references,
    };
  }
  return out;
}
