import { ParseError } from '../errors.js';
import { BtfKind } from '../btf/kinds.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { essentialName } from '../co-re/btf-util.js';
import { Elf, variableOffsets } from '../elf/parse.js';
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/parse.js';
import { sectionInfo } from '../programs/sections.js';
import { ProgramType } from '@bpfkit/core';
import { btfSizeOf, skipModifiers } from './btf-maps.js';

/**
 * A function pointer member of a struct_ops variable that the object sets
 * to one of its programs (`.ssthresh = (void *)my_ssthresh`).
 *
 * @example
 * const f: StructOpsFunction = { member: 'ssthresh', memberIndex: 0, offset: 0, program: 'my_ssthresh' };
 */
export interface StructOpsFunction {
  /** The member's name in the object's struct (matched by name against the kernel's). */
  member: string;
  /** The member's index in the object's struct (not the kernel's: the loader maps it by name). */
  memberIndex: number;
  /** Byte offset of the member in the object's struct. */
  offset: number;
  /** The program (function name) the member points to. */
  program: string;
}

/**
 * A struct_ops map: one variable of a `.struct_ops` or `.struct_ops.link`
 * section, typed by the object's own (possibly partial) copy of a kernel
 * struct such as `tcp_congestion_ops`.
 *
 * @example
 * const m = readObject(fs.readFileSync('cc.bpf.o')).structOps.bpfkit_cc;
 * m.kernelTypeName; // 'tcp_congestion_ops'
 * m.functions.map((f) => f.member); // ['ssthresh', 'cong_avoid', …]
 */
export interface StructOpsMapSpec {
  /** The variable's name: the map's name. */
  name: string;
  /** The ELF section: `.struct_ops`, `.struct_ops.link`, or either with libbpf's `?` prefix. */
  section: string;
  /**
   * `.struct_ops.link`: the map is created with `BPF_F_LINK`; its update
   * only stores the value and a link registers it. Otherwise the update
   * registers the ops with the kernel.
   */
  link: boolean;
  /** The section starts with `?`: libbpf does not create the map unless asked to (autocreate off). */
  optional: boolean;
  /** The struct type id in the object's BTF. */
  typeId: number;
  /** The struct's name in the object, flavour suffix included (`tcp_congestion_ops___v2`). */
  typeName: string;
  /** The kernel struct to look up: the name without a `___flavour` suffix. */
  kernelTypeName: string;
  /** `sizeof` the object's struct. */
  size: number;
  /**
   * The variable's initial bytes, in the object's byte order, with the
   * function pointer slots set by relocations zeroed (they hold program fds
   * once loaded).
   */
  data: Uint8Array;
  /** The function pointer members set to programs, by member offset. */
  functions: StructOpsFunction[];
}

/**
 * Where a struct_ops program is used: a map and its member (a program may
 * serve the same member of several maps).
 *
 * @example
 * const use: StructOpsUse = { map: 'bpfkit_cc', member: 'ssthresh', memberIndex: 0 };
 */
export interface StructOpsUse {
  map: string;
  member: string;
  /** The member's index in the object's struct. */
  memberIndex: number;
}

const R_BPF_64_ABS64 = 2;
const SECTION = /^\??\.struct_ops(\.link)?$/;

/**
 * Whether a section name is one libbpf reads struct_ops maps from
 * (`.struct_ops`, `.struct_ops.link`, optionally `?`-prefixed).
 *
 * @example
 * isStructOpsSection('.struct_ops.link'); // true
 * isStructOpsSection('struct_ops/my_init'); // false: a program's section
 */
export function isStructOpsSection(name: string): boolean {
  return SECTION.test(name);
}

/** The function prototype a member points to, or undefined when it is not a function pointer. */
function funcProto(btf: Btf, type: number): BtfType | undefined {
  const ptr = skipModifiers(btf, type);
  if (ptr.kind !== BtfKind.PTR) return undefined;
  const target = skipModifiers(btf, ptr.sizeOrType);
  return target.kind === BtfKind.FUNC_PROTO ? target : undefined;
}

/**
 * The struct_ops maps an object declares: every variable of its
 * `.struct_ops` / `.struct_ops.link` sections (and libbpf's `?` variants),
 * with its struct type, its initial bytes and, from the section's
 * `R_BPF_64_ABS64` relocations, the programs its function pointer members
 * point to. Pure: reads only the ELF and its BTF.
 *
 * @throws ParseError for a struct_ops section without BTF, a variable that
 *   is not a named struct or lies outside its section, a relocation that is
 *   not at a function pointer member, or one that points to something other
 *   than a global function of a `struct_ops/…` section
 * @example
 * const elf = parseElf(fs.readFileSync('cc.bpf.o'));
 * const maps = structOpsFromElf(elf, parseBtf(elf.data(elf.section('.BTF')!)));
 * maps.bpfkit_cc.functions; // [{ member: 'ssthresh', memberIndex: 0, offset: 0, program: 'bpfkit_ssthresh' }, …]
 */
export function structOpsFromElf(elf: ElfFile, btf: Btf | undefined): Record<string, StructOpsMapSpec> {
  const out: Record<string, StructOpsMapSpec> = {};
  for (const section of elf.sections) {
    if (!isStructOpsSection(section.name)) continue;
    if (!btf)
      throw new ParseError('ELF', `section '${section.name}' declares struct_ops maps, which need the object's BTF (compile with -g)`);
    for (const map of sectionMaps(elf, btf, section)) {
      if (Object.hasOwn(out, map.name)) throw new ParseError('ELF', `struct_ops map '${map.name}' is declared twice`);
      out[map.name] = map;
    }
  }
  return out;
}

/**
 * Which struct_ops maps and members each program serves, by program name
 * (what libbpf records as the program's `attach_btf_id` and
 * `expected_attach_type` once the kernel's types are known).
 *
 * @example
 * structOpsUses(readObject(fs.readFileSync('cc.bpf.o')).structOps).bpfkit_ssthresh; // [{ map: 'bpfkit_cc', member: 'ssthresh', memberIndex: 0 }]
 */
export function structOpsUses(maps: Readonly<Record<string, StructOpsMapSpec>>): Record<string, StructOpsUse[]> {
  const out: Record<string, StructOpsUse[]> = {};
  for (const m of Object.values(maps)) {
    for (const f of m.functions) (out[f.program] ??= []).push({ map: m.name, member: f.member, memberIndex: f.memberIndex });
  }
  return out;
}

interface Variable {
  spec: StructOpsMapSpec;
  start: number;
  type: BtfType;
}

function sectionMaps(elf: ElfFile, btf: Btf, section: ElfSection): StructOpsMapSpec[] {
  const where = `section '${section.name}'`;
  const datasec = btf.find(section.name, BtfKind.DATASEC);
  if (!datasec) throw new ParseError('BTF', `${where} has no DATASEC in the object's BTF`);
  const bytes = section.type === Elf.SHT_NOBITS ? new Uint8Array(section.size) : elf.data(section);
  const symbolOffset = variableOffsets(elf, section.index);
  const link = section.name.endsWith('.link');
  const optional = section.name.startsWith('?');
  const variables: Variable[] = [];
  for (const v of datasec.variables ?? []) {
    const variable = btf.type(v.type);
    if (!variable || variable.kind !== BtfKind.VAR) throw new ParseError('BTF', `${where}: entry ${v.type} is not a variable`);
    const type = skipModifiers(btf, variable.sizeOrType);
    if (type.kind !== BtfKind.STRUCT) throw new ParseError('BTF', `${where}: struct_ops variable '${variable.name}' is not a struct`);
    if (!type.name)
      throw new ParseError(
        'BTF',
        `${where}: struct_ops variable '${variable.name}' has an anonymous struct type (the kernel type is found by its name)`,
      );
    const start = symbolOffset.get(variable.name) ?? v.offset;
    const size = btfSizeOf(btf, type.id);
    if (start + size > bytes.byteLength) {
      throw new ParseError(
        'ELF',
        `${where}: struct_ops variable '${variable.name}' (${size} bytes at ${start}) lies beyond the section's ${bytes.byteLength} bytes`,
      );
    }
    variables.push({
      start,
      type,
      spec: {
        name: variable.name,
        section: section.name,
        link,
        optional,
        typeId: type.id,
        typeName: type.name,
        kernelTypeName: essentialName(type.name),
        size,
        data: bytes.slice(start, start + size),
        functions: [],
      },
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const r of elf.relocations(section.index)) {
    const v = variables.find((x) => r.offset >= x.start && r.offset < x.start + x.spec.size);
    if (!v) throw new ParseError('ELF', `${where}: relocation at offset ${r.offset} lies in no struct_ops variable`);
    const name = v.spec.name;
    const moff = r.offset - v.start;
    const memberIndex = (v.type.members ?? []).findIndex((m) => m.bitOffset === moff * 8 && !m.bitfieldSize);
    const member = v.type.members?.[memberIndex];
    if (!member)
      throw new ParseError('ELF', `struct_ops map '${name}': relocation at offset ${moff} is at no member of struct ${v.spec.typeName}`);
    if (!funcProto(btf, member.type))
      throw new ParseError('ELF', `struct_ops map '${name}': member '${member.name}' is set by a relocation but is not a function pointer`);
    if (r.type !== R_BPF_64_ABS64)
      throw new ParseError(
        'ELF',
        `struct_ops map '${name}': member '${member.name}' has relocation type ${r.type}, expected R_BPF_64_ABS64 (2)`,
      );
    if (moff + 8 > v.spec.size)
      throw new ParseError('ELF', `struct_ops map '${name}': member '${member.name}' is cut off by the end of the struct`);
    const sym = elf.symbols[r.symbol];
    if (!sym)
      throw new ParseError('ELF', `struct_ops map '${name}': member '${member.name}' is relocated against missing symbol ${r.symbol}`);
    // REL relocations keep their addend in the slot (zero when the symbol is the function itself).
    const addend = Number(view.getBigUint64(r.offset, elf.littleEndian));
    const program = targetProgram(elf, sym, addend, `struct_ops map '${name}': member '${member.name}'`);
    v.spec.data.fill(0, moff, moff + 8);
    v.spec.functions.push({ member: member.name, memberIndex, offset: moff, program });
  }
  for (const v of variables) v.spec.functions.sort((a, b) => a.offset - b.offset);
  return variables.map((v) => v.spec);
}

/** The program a function pointer relocation points to: a global function starting a `struct_ops/…` section's code. */
function targetProgram(elf: ElfFile, sym: ElfSymbol, addend: number, what: string): string {
  const section = elf.sections[sym.section];
  if (sym.section === Elf.SHN_UNDEF || !section || sym.section >= 0xff00) {
    throw new ParseError('ELF', `${what} points to '${sym.name}', which is not defined in the object`);
  }
  const at = (sym.type === Elf.STT_SECTION ? 0 : Number(sym.value)) + addend;
  if (at % 8 !== 0)
    throw new ParseError('ELF', `${what} points to offset ${at} of section '${section.name}', which is not an instruction boundary`);
  const func =
    sym.type === Elf.STT_FUNC && addend === 0
      ? sym
      : elf.symbols.find((s) => s.section === sym.section && s.type === Elf.STT_FUNC && Number(s.value) === at);
  if (!func) throw new ParseError('ELF', `${what} points to offset ${at} of section '${section.name}', where no function starts`);
  const info = sectionInfo(section.name);
  if (info?.programType !== ProgramType.STRUCT_OPS || func.bind !== Elf.STB_GLOBAL) {
    throw new ParseError(
      'ELF',
      `${what} points to '${func.name}' in section '${section.name}', which is not a struct_ops program (a global function in SEC("struct_ops/…") or SEC("struct_ops.s/…"))`,
    );
  }
  return func.name;
}
