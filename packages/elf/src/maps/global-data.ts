import { InvalidArgumentError, MapFlags, MapType } from '@bpfkit/core';
import { BtfKind } from '../btf/kinds.js';
import type { Btf } from '../btf/parse.js';
import { Elf, variableOffsets } from '../elf/parse.js';
import type { ElfFile } from '../elf/parse.js';
import { ParseError } from '../errors.js';
import { btfSizeOf, skipModifiers } from './btf-maps.js';

/** One global variable of a data section, from the BTF DATASEC. */
export interface GlobalVariable {
  name: string;
  offset: number;
  size: number;
  /** BTF type id of the variable's type. */
  type: number;
}

/** A global data section (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`) as the array map it becomes. */
export interface GlobalDataSpec {
  /** The section name, e.g. `.rodata`. */
  section: string;
  type: typeof MapType.ARRAY;
  keySize: 4;
  valueSize: number;
  maxEntries: 1;
  /** `.rodata*` is read-only for programs (`BPF_F_RDONLY_PROG`) and frozen after it is written. */
  flags: number;
  readOnly: boolean;
  /** The initial bytes (zeros for `.bss`): edit them through {@link rewriteConstants} before load. */
  contents: Uint8Array;
  variables: GlobalVariable[];
}

const GLOBAL_SECTION = /^\.(data|rodata|bss)(\..+)?$/;

/**
 * The largest global data section read: an array map's value may not exceed
 * KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages, 32 MiB with 16 KiB pages), and a
 * `.bss` of a corrupt object may claim up to 2 GiB, which every load would copy.
 */
const MAX_GLOBAL_SECTION = 32 << 20;

/**
 * The global data sections of an object as array-map specs with their
 * initial contents and, when the object has BTF, the variables they hold.
 *
 * @example
 * const globals = globalData(elf, btf);
 * globals['.rodata'].variables.map((v) => v.name); // ['debug', 'target_pid']
 */
export function globalData(elf: ElfFile, btf?: Btf): Record<string, GlobalDataSpec> {
  const out: Record<string, GlobalDataSpec> = {};
  for (const s of elf.sections) {
    if (!GLOBAL_SECTION.test(s.name) || (s.flags & BigInt(Elf.SHF_ALLOC)) === 0n || (s.flags & BigInt(Elf.SHF_EXECINSTR)) !== 0n) continue;
    if (s.size === 0) continue;
    if (s.size > MAX_GLOBAL_SECTION)
      throw new ParseError(
        'ELF',
        `global data section '${s.name}' of ${s.size} bytes: at most ${MAX_GLOBAL_SECTION} fit an array map value (the kernel's KMALLOC_MAX_SIZE)`,
      );
    const readOnly = s.name.startsWith('.rodata');
    const contents = new Uint8Array(s.size);
    contents.set(elf.data(s));
    const datasec = btf?.find(s.name, BtfKind.DATASEC);
    const symbolOffset = variableOffsets(elf, s.index);
    const variables: GlobalVariable[] = (datasec?.variables ?? [])
      .map((v) => {
        const variable = btf!.type(v.type)!;
        return { name: variable.name, offset: symbolOffset.get(variable.name) ?? v.offset, size: v.size, type: variable.sizeOrType };
      })
      .sort((a, b) => a.offset - b.offset);
    out[s.name] = {
      section: s.name,
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: s.size,
      maxEntries: 1,
      flags: readOnly ? MapFlags.RDONLY_PROG : 0,
      readOnly,
      contents,
      variables,
    };
  }
  return out;
}

/** A value for a global: an integer (number or bigint) or boolean for integer types, or raw bytes of the exact size. */
export type ConstantValue = number | bigint | boolean | Uint8Array;

/**
 * Sets `const volatile` globals before load (seed: RewriteConstants):
 * integers and booleans are encoded by their BTF type (size, sign) in the
 * object's byte order; other types take raw bytes of the exact size. Every
 * name must exist in a `.rodata*` section.
 *
 * @example
 * const globals = globalData(elf, btf);
 * rewriteConstants(globals, { target_pid: 1234, debug: true }, btf, true);
 */
export function rewriteConstants(
  globals: Record<string, GlobalDataSpec>,
  values: Record<string, ConstantValue>,
  btf: Btf,
  littleEndian: boolean,
): void {
  for (const [name, value] of Object.entries(values)) {
    const found = Object.values(globals)
      .filter((g) => g.readOnly)
      .flatMap((g) => g.variables.filter((v) => v.name === name).map((v) => ({ g, v })))[0];
    if (!found) {
      const known = Object.values(globals)
        .filter((g) => g.readOnly)
        .flatMap((g) => g.variables.map((v) => v.name));
      throw new InvalidArgumentError(`constant '${name}'`, `one of the object's read-only globals (${known.join(', ') || 'none'})`, value);
    }
    const { g, v } = found;
    const target = g.contents.subarray(v.offset, v.offset + v.size);
    if (value instanceof Uint8Array) {
      if (value.byteLength !== v.size) throw new InvalidArgumentError(`constant '${name}'`, `${v.size} bytes`, value);
      target.set(value);
      continue;
    }
    const t = skipModifiers(btf, v.type);
    const isInt = t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;
    if (!isInt) throw new InvalidArgumentError(`constant '${name}'`, `raw bytes (its type is not an integer)`, value);
    const size = btfSizeOf(btf, v.type);
    const signed = t.kind === BtfKind.INT ? (t.int!.encoding & 1) === 1 : t.kindFlag;
    const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    const bits = BigInt(size * 8);
    const min = signed ? -(1n << (bits - 1n)) : 0n;
    const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    if (typeof value === 'number' && !Number.isInteger(value)) throw new InvalidArgumentError(`constant '${name}'`, 'an integer', value);
    if (n < min || n > max)
      throw new InvalidArgumentError(`constant '${name}'`, `an integer from ${min} to ${max} (${signed ? 's' : 'u'}${size * 8})`, value);
    let u = BigInt.asUintN(size * 8, n);
    for (let i = 0; i < size; i++) {
      target[littleEndian ? i : size - 1 - i] = Number(u & 0xffn);
      u >>= 8n;
    }
  }
}
