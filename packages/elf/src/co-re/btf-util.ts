import { ParseError } from '../errors.js';
import { BtfKind } from '../btf/kinds.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { btfSizeOf, skipModifiers } from '../maps/btf-maps.js';

/** A CO-RE failure that aborts the relocation (libbpf refuses the object): malformed input or ambiguity. */
export function coreError(message: string): never {
  throw new ParseError('CO-RE', message);
}

/** The type with this id, or a CO-RE error naming it. */
export function typeById(btf: Btf, id: number): BtfType {
  const t = btf.type(id);
  if (!t) coreError(`type id ${id} does not exist (the BTF has ${btf.typeCount} types)`);
  return t;
}

/** Follows typedefs and qualifiers (const, volatile, restrict, type tags). */
export function skipMods(btf: Btf, id: number): BtfType {
  typeById(btf, id);
  return skipModifiers(btf, id);
}

/** sizeof the type, as libbpf's btf__resolve_size computes it; a CO-RE error for unsized types. */
export function sizeOf(btf: Btf, id: number): number {
  typeById(btf, id);
  try {
    return btfSizeOf(btf, id);
  } catch (err) {
    if (err instanceof ParseError) coreError(err.message.replace(/^BTF: /, ''));
    throw err;
  }
}

export function isComposite(t: BtfType): boolean {
  return t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION;
}

export function isAnyEnum(t: BtfType): boolean {
  return t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;
}

/** Same kind, or both enums (ENUM and ENUM64 may stand for each other). */
export function kindsCompatible(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

/**
 * A name without its flavour: `task_struct___v2` → `task_struct`. The
 * flavour starts at the last `___` that has a non-underscore character on
 * both sides.
 *
 * @example
 * essentialName('task_struct___old'); // 'task_struct'
 * essentialName('a____b'); // 'a____b'
 */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_') {
      return name.slice(0, i + 1);
    }
  }
  return name;
}

const KIND_WORDS: Record<number, string> = {
  [BtfKind.INT]: 'int',
  [BtfKind.PTR]: 'ptr',
  [BtfKind.ARRAY]: 'array',
  [BtfKind.STRUCT]: 'struct',
  [BtfKind.UNION]: 'union',
  [BtfKind.ENUM]: 'enum',
  [BtfKind.FWD]: 'fwd',
  [BtfKind.TYPEDEF]: 'typedef',
  [BtfKind.VOLATILE]: 'volatile',
  [BtfKind.CONST]: 'const',
  [BtfKind.RESTRICT]: 'restrict',
  [BtfKind.FUNC]: 'func',
  [BtfKind.FUNC_PROTO]: 'func_proto',
  [BtfKind.VAR]: 'var',
  [BtfKind.DATASEC]: 'datasec',
  [BtfKind.FLOAT]: 'float',
  [BtfKind.DECL_TAG]: 'decl_tag',
  [BtfKind.TYPE_TAG]: 'type_tag',
  [BtfKind.ENUM64]: 'enum64',
};

/** `struct task_struct`, `enum <anon>`, `void`: how reports name a type. */
export function typeLabel(t: BtfType): string {
  if (t.id === 0 && t.kind === BtfKind.UNKN) return 'void';
  return `${KIND_WORDS[t.kind] ?? `kind ${t.kind}`} ${t.name || '<anon>'}`;
}

/** The 64-bit value of enumerator `index`, as libbpf reads it: 32-bit values sign-extended. */
export function enumeratorValue(t: BtfType, index: number): bigint {
  const v = t.enumerators![index]!.value;
  return BigInt.asUintN(64, t.kind === BtfKind.ENUM ? BigInt.asIntN(32, v) : v);
}
