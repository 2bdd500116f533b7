/**
 * BTF to TypeScript: a type and a codec for each struct, union, enum and
 * typedef of a BTF blob, as text of a module that imports only `bpfkit`.
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';
import { BtfKind, ParseError } from '@bpfkit/elf';
import type { Btf, BtfType } from '@bpfkit/elf';
import { NameTable } from './names.js';

/** The namespace generated code imports `bpfkit` as (`$` never starts a C-derived name). */
export const LIB = '$bpfkit';

const INT_SIGNED = 1;
const INT_CHAR = 2;
const INT_BOOL = 4;

const QUALIFIERS: ReadonlySet<number> = new Set([BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);
const NAMED_KINDS: ReadonlySet<number> = new Set([BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64, BtfKind.TYPEDEF]);

/** A type as generated code spells it: its TypeScript type and an expression for its codec. */
export interface Described {
  ts: string;
  codec: string;
}

/** Options of {@link TypeEmitter}. */
export interface TypeEmitterOptions {
  /**
   * Emit only these types (C names, `struct foo` or `foo`) and what they
   * contain by value. Default: every named struct, union, enum and typedef.
   */
  types?: readonly string[];
  /**
   * How plain structs (no bitfields, unions or anonymous members) get their
   * codecs: `'struct'`, the core `struct()` whose inferred value type
   * TypeScript checks against the generated interface, or `'layout'`, the
   * `layoutCodec<T>()` that the others use, which costs the type checker
   * far less (vmlinux: ten thousand structs). Default: `'struct'` up to
   * 2,000 declared types, `'layout'` beyond.
   */
  structCodecs?: 'struct' | 'layout';
}

const kindWord = (kind: number) =>
  kind === BtfKind.STRUCT ? 'struct' : kind === BtfKind.UNION ? 'union' : kind === BtfKind.TYPEDEF ? 'typedef' : 'enum';

/**
 * Writes the declarations of a BTF's named types, in an order where every
 * codec is defined before a codec that contains it. Anonymous structs,
 * unions and enums are written inline where they are used.
 *
 * @example
 * const emitter = new TypeEmitter(btf, { types: ['struct event'] });
 * emitter.emitAll();
 * emitter.declarations.join('\n\n'); // export interface event { … } …
 */
export class TypeEmitter {
  readonly btf: Btf;
  /** Identifiers taken among types and values of the generated module. */
  readonly typeNames: NameTable;
  readonly valueNames: NameTable;
  readonly #le: boolean;
  readonly #tsName = new globalThis.Map<number, string>();
  readonly #codecName = new globalThis.Map<number, string>();
  readonly #emitted = new Set<number>();
  /** `typedef struct foo foo;`: the typedef's id → the struct's, which serves both. */
  readonly #aliasOf = new globalThis.Map<number, number>();
  readonly #inProgress = new Set<number>();
  readonly #hoisted = new globalThis.Map<string, string>();
  /** Anonymous types spelled out once. */
  readonly #described = new globalThis.Map<number, Described>();
  readonly #declarations: string[] = [];
  #named: number[] = [];
  #checked = true;

  constructor(btf: Btf, options: TypeEmitterOptions = {}) {
    this.btf = btf;
    this.#le = btf.littleEndian;
    this.typeNames = new NameTable('type');
    this.valueNames = new NameTable('value', [LIB]);
    this.#assignNames(options.types);
    this.#checked = (options.structCodecs ?? (this.#named.length > 2000 ? 'layout' : 'struct')) === 'struct';
  }

  /** The ids of the named types this module declares, in id order. */
  get named(): readonly number[] {
    return this.#named;
  }

  /** The TypeScript name of a declared type, by BTF id. */
  tsName(id: number): string | undefined {
    return this.#tsName.get(id);
  }

  /** The name of a declared type's codec constant, by BTF id. */
  codecName(id: number): string | undefined {
    return this.#codecName.get(id);
  }

  #assignNames(only: readonly string[] | undefined): void {
    const btf = this.btf;
    const tags: number[] = [];
    const typedefs: number[] = [];
    for (let id = 1; id < btf.typeCount; id++) {
      const t = btf.type(id)!;
      if (!t.name || !NAMED_KINDS.has(t.kind)) continue;
      if (t.kind === BtfKind.TYPEDEF) typedefs.push(id);
      else tags.push(id);
    }
    let wanted: Set<number> | undefined;
    if (only) {
      wanted = new Set();
      for (const spec of only) {
        const ids = this.#find(spec);
        if (ids.length === 0) {
          throw new InvalidArgumentError('types', 'names of structs, unions, enums or typedefs of the BTF (`struct foo` or `foo`)', spec);
        }
        for (const id of ids) this.#collectDependencies(id, wanted);
      }
    } else if (btf.base) {
      // Split BTF (a kernel module's): its own types, and the base's they hold by value.
      wanted = new Set();
      for (const id of [...tags, ...typedefs]) if (id >= btf.firstTypeId) this.#collectDependencies(id, wanted);
    }
    const typedefAliases: [number, number][] = [];
    for (const id of tags) {
      if (wanted && !wanted.has(id)) continue;
      const name = this.typeNames.claim(btf.type(id)!.name);
      this.#tsName.set(id, name);
      // An enum's const object has the type's name: the value must be free too.
      if (btf.type(id)!.kind === BtfKind.ENUM || btf.type(id)!.kind === BtfKind.ENUM64) {
        let v = name;
        for (let n = 2; this.valueNames.has(v); n++) v = `${name}_${n}`;
        if (v !== name) {
          // Rename the type to match its value (both namespaces free).
          this.#tsName.set(id, this.typeNames.claim(v));
          v = this.#tsName.get(id)!;
        }
        this.valueNames.take(v);
      }
    }
    for (const id of typedefs) {
      if (wanted && !wanted.has(id)) continue;
      const t = btf.type(id)!;
      if (!this.#complete(t.sizeOrType)) continue;
      // `typedef struct foo foo;`: the struct's type serves both names.
      const target = btf.type(t.sizeOrType)!;
      if (target.name === t.name && this.#tsName.has(target.id) && target.kind !== BtfKind.TYPEDEF) {
        typedefAliases.push([id, target.id]);
        continue;
      }
      this.#tsName.set(id, this.typeNames.claim(t.name));
    }
    for (const [id, target] of typedefAliases) {
      this.#tsName.set(id, this.#tsName.get(target)!);
      this.#aliasOf.set(id, target);
    }
    this.#named = [...this.#tsName.keys()].filter((id) => !typedefAliases.some(([a]) => a === id)).sort((a, b) => a - b);
    for (const id of this.#named) this.#codecName.set(id, this.valueNames.claim(`${this.#tsName.get(id)}Codec`));
    for (const [id, target] of typedefAliases) this.#codecName.set(id, this.#codecName.get(target)!);
  }

  /** Ids of the named types `spec` (`struct foo`, `union foo`, `enum foo`, or a bare name) names. */
  #find(spec: string): number[] {
    const m = /^(struct|union|enum)\s+(.+)$/.exec(spec.trim());
    const name = (m ? m[2]! : spec).trim();
    const kinds = m
      ? m[1] === 'struct'
        ? [BtfKind.STRUCT]
        : m[1] === 'union'
          ? [BtfKind.UNION]
          : [BtfKind.ENUM, BtfKind.ENUM64]
      : [...NAMED_KINDS];
    const out: number[] = [];
    for (let id = 1; id < this.btf.typeCount; id++) {
      const t = this.btf.type(id)!;
      if (t.name === name && kinds.includes(t.kind as never)) out.push(id);
    }
    return out;
  }

  /** Adds `id` and the named types it holds by value (pointers hold none). */
  #collectDependencies(id: number, into: Set<number>, depth = 0): void {
    if (depth > 256) throw new ParseError('BTF', `type ${id}: nested too deeply`);
    const t = this.btf.type(id);
    if (!t) return;
    if (t.name && NAMED_KINDS.has(t.kind)) {
      if (into.has(id)) return;
      into.add(id);
    }
    if (t.kind === BtfKind.TYPEDEF || QUALIFIERS.has(t.kind)) this.#collectDependencies(t.sizeOrType, into, depth + 1);
    else if (t.kind === BtfKind.ARRAY) this.#collectDependencies(t.array!.type, into, depth + 1);
    else if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION)
      for (const m of t.members ?? []) this.#collectDependencies(m.type, into, depth + 1);
  }

  /** The type behind qualifiers (typedefs kept). */
  #unqualified(id: number): BtfType {
    let t = this.btf.type(id);
    for (let hops = 0; t && QUALIFIERS.has(t.kind); hops++) {
      if (hops > 64) throw new ParseError('BTF', `type ${id}: a loop of qualifiers`);
      t = this.btf.type(t.sizeOrType);
    }
    if (!t) throw new ParseError('BTF', `type ${id} does not exist`);
    return t;
  }

  /** The type behind typedefs and qualifiers. */
  resolve(id: number): BtfType {
    let t = this.#unqualified(id);
    for (let hops = 0; t.kind === BtfKind.TYPEDEF; hops++) {
      if (hops > 64) throw new ParseError('BTF', `type ${id}: a loop of typedefs`);
      t = this.#unqualified(t.sizeOrType);
    }
    return t;
  }

  /** Whether a value of this type has a size (not void, a function or a forward declaration). */
  #complete(id: number): boolean {
    if (id === 0) return false;
    const t = this.resolve(id);
    if (t.kind === BtfKind.ARRAY) return this.#complete(t.array!.type);
    return (
      t.kind === BtfKind.INT ||
      t.kind === BtfKind.PTR ||
      t.kind === BtfKind.STRUCT ||
      t.kind === BtfKind.UNION ||
      t.kind === BtfKind.ENUM ||
      t.kind === BtfKind.ENUM64 ||
      t.kind === BtfKind.FLOAT
    );
  }

  /** Bytes a value of the type occupies. */
  sizeOf(id: number): number {
    const t = this.resolve(id);
    if (t.kind === BtfKind.PTR) return 8;
    if (t.kind === BtfKind.ARRAY) return t.array!.elements * this.sizeOf(t.array!.type);
    return t.sizeOrType;
  }

  /** A codec constant hoisted to the top of the module (byte-order variants, wide integers). */
  #hoist(key: string, expression: string): string {
    let name = this.#hoisted.get(key);
    if (!name) {
      name = `$${key}`;
      this.#hoisted.set(key, name);
      this.#declarations.push(`const ${name} = ${expression};`);
    }
    return name;
  }

  /** The codec of an integer of `size` bytes (numbers up to 4 bytes, bigints from 8). */
  #integer(size: number, signed: boolean): string {
    const s = signed ? 's' : 'u';
    if (size === 1) return `${LIB}.${s}8`;
    if (size === 2 || size === 4 || size === 8) {
      if (this.#le) return `${LIB}.${s}${size * 8}`;
      const as = size === 8 ? ", as: 'bigint'" : '';
      return this.#hoist(`${s}${size * 8}be`, `${LIB}.integerCodec({ bits: ${size * 8}, signed: ${signed}, byteOrder: 'big'${as} })`);
    }
    return this.#hoist(
      `${s}${size * 8}${this.#le ? '' : 'be'}`,
      `${LIB}.wideInteger({ size: ${size}, signed: ${signed}, littleEndian: ${this.#le} })`,
    );
  }

  #isChar(t: BtfType): boolean {
    return t.kind === BtfKind.INT && t.sizeOrType === 1 && (((t.int?.encoding ?? 0) & INT_CHAR) !== 0 || t.name === 'char');
  }

  #isByte(t: BtfType): boolean {
    return t.kind === BtfKind.INT && t.sizeOrType === 1 && ((t.int?.encoding ?? 0) & (INT_SIGNED | INT_BOOL)) === 0;
  }

  /**
   * The TypeScript type and codec expression of a BTF type: a declared
   * type by name, anything else spelled out.
   */
  describe(id: number, depth = 0): Described {
    if (depth > 256) throw new ParseError('BTF', `type ${id}: nested too deeply`);
    const t = this.#unqualified(id);
    const named = this.#tsName.get(t.id);
    if (named !== undefined) {
      this.#emit(this.#aliasOf.get(t.id) ?? t.id);
      return { ts: named, codec: this.#codecName.get(t.id)! };
    }
    switch (t.kind) {
      case BtfKind.TYPEDEF:
        return this.describe(t.sizeOrType, depth + 1);
      case BtfKind.INT: {
        const enc = t.int?.encoding ?? 0;
        if (enc & INT_BOOL && t.sizeOrType === 1) return { ts: 'boolean', codec: `${LIB}.bool` };
        const size = t.sizeOrType;
        return { ts: size >= 8 || ![1, 2, 4].includes(size) ? 'bigint' : 'number', codec: this.#integer(size, (enc & INT_SIGNED) !== 0) };
      }
      case BtfKind.PTR:
        return { ts: 'bigint', codec: this.#integer(8, false) };
      case BtfKind.FLOAT:
        if (t.sizeOrType === 4 || t.sizeOrType === 8) return { ts: 'number', codec: `${LIB}.f${t.sizeOrType * 8}${this.#le ? '' : 'be'}` };
        return { ts: 'Uint8Array', codec: `${LIB}.bytes(${t.sizeOrType})` };
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const big = t.kind === BtfKind.ENUM64 || t.sizeOrType === 8;
        return { ts: big ? 'bigint' : 'number', codec: this.#integer(t.sizeOrType, t.kindFlag) };
      }
      case BtfKind.ARRAY:
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        let d = this.#described.get(t.id);
        if (!d) {
          d = this.#spell(t, depth);
          this.#described.set(t.id, d);
        }
        return d;
      }
      default:
        throw new ParseError('BTF', `type ${id} (${t.name || 'anonymous'}, kind ${t.kind}) has no size: it cannot be a value`);
    }
  }

  /** An array or anonymous struct or union spelled out. */
  #spell(t: BtfType, depth: number): Described {
    switch (t.kind) {
      case BtfKind.ARRAY: {
        const { type, elements } = t.array!;
        const element = this.resolve(type);
        if (elements > 0 && this.#isChar(element)) return { ts: 'string', codec: `${LIB}.cstring(${elements})` };
        if (this.#isByte(element) && !this.#isChar(element)) return { ts: 'Uint8Array', codec: `${LIB}.bytes(${elements})` };
        const inner = this.describe(type, depth + 1);
        const ts = /^[A-Za-z0-9_$.]+(\[\])*$/.test(inner.ts) ? `${inner.ts}[]` : `(${inner.ts})[]`;
        return { ts, codec: `${LIB}.array(${inner.codec}, ${elements})` };
      }
      default:
        // A named struct left out of the declarations (by `types`) is spelled out under its C name.
        return this.#anonymous(t, `${kindWord(t.kind)} ${t.name || '(anonymous)'}`, depth);
    }
  }

  /** An anonymous struct or union spelled out, its codec called `name`. */
  #anonymous(t: BtfType, name: string, depth: number): Described {
    const ts = `{ ${this.#composite(t, '', depth, true).fields.join('; ')} }`;
    return { ts, codec: this.#composite(t, name, depth, false, ts).codec };
  }

  /** A struct's or union's fields as TypeScript (anonymous members' flattened in) and its codec. */
  #composite(t: BtfType, name: string, depth: number, fieldsOnly = false, tsType = ''): { fields: string[]; codec: string } {
    const members = t.members ?? [];
    const fields: string[] = [];
    const special =
      !this.#checked ||
      t.kind === BtfKind.UNION ||
      members.some((m) => (m.bitfieldSize ?? 0) > 0 || m.bitOffset % 8 !== 0 || m.name === '');
    const parts: string[] = [];
    for (const m of members) {
      const bitfield = (m.bitfieldSize ?? 0) > 0 || m.bitOffset % 8 !== 0;
      if (bitfield) {
        const base = this.resolve(m.type);
        const bits = m.bitfieldSize || (base.int?.bits ?? base.sizeOrType * 8);
        const enc = base.kind === BtfKind.INT ? (base.int?.encoding ?? 0) : 0;
        const bool = (enc & INT_BOOL) !== 0;
        const signed = base.kind === BtfKind.INT ? (enc & INT_SIGNED) !== 0 : base.kindFlag;
        if (m.name === '') continue; // an unnamed bitfield is padding
        fields.push(`${m.name}: ${bool ? 'boolean' : bits > 32 ? 'bigint' : 'number'}`);
        parts.push(`[${JSON.stringify(m.name)}, ${m.bitOffset}, ${bits}, ${(signed ? 1 : 0) | (bool ? 2 : 0)}]`);
        continue;
      }
      if (m.name === '') {
        const inner = this.resolve(m.type);
        if (inner.kind !== BtfKind.STRUCT && inner.kind !== BtfKind.UNION) continue;
        // C lends an anonymous member's members to the parent.
        fields.push(...this.#composite(inner, '', depth + 1, true).fields);
        if (!fieldsOnly) parts.push(`['', ${m.bitOffset / 8}, ${this.describe(m.type, depth + 1).codec}]`);
        continue;
      }
      const d = this.describe(m.type, depth + 1);
      fields.push(`${m.name}: ${d.ts}`);
      parts.push(special ? `[${JSON.stringify(m.name)}, ${m.bitOffset / 8}, ${d.codec}]` : `${m.name}: [${m.bitOffset / 8}, ${d.codec}]`);
    }
    if (fieldsOnly) return { fields, codec: '' };
    const options = `size: ${t.sizeOrType}, name: ${JSON.stringify(name)}`;
    const codec = special
      ? `${LIB}.layoutCodec<${tsType}>({ ${t.kind === BtfKind.UNION ? "kind: 'union', " : ''}${options}${this.#le ? '' : ', littleEndian: false'} }${parts.map((p) => `, ${p}`).join('')})`
      : `${LIB}.struct({ ${parts.join(', ')} }, { ${options} })`;
    return { fields, codec };
  }

  /** Writes the declaration of named type `id` (after those its codec needs). */
  #emit(id: number): void {
    if (this.#emitted.has(id)) return;
    if (this.#inProgress.has(id)) throw new ParseError('BTF', `type ${id} contains itself by value`);
    this.#inProgress.add(id);
    const t = this.btf.type(id)!;
    const name = this.#tsName.get(id)!;
    const codec = this.#codecName.get(id)!;
    const out: string[] = [];
    const cName = `${kindWord(t.kind)} ${t.name}`;
    switch (t.kind) {
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const body = this.#composite(t, cName, 0, false, name);
        out.push(`/** \`${cName}\` (${t.sizeOrType} bytes). */`);
        out.push(body.fields.length ? `export interface ${name} {\n  ${body.fields.join(';\n  ')};\n}` : `export interface ${name} {}`);
        out.push(`export const ${codec}: ${LIB}.Codec<${name}> = ${body.codec};`);
        break;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const big = t.kind === BtfKind.ENUM64 || t.sizeOrType === 8;
        const entries = (t.enumerators ?? []).map((e) => `${JSON.stringify(e.name)}: ${e.value}${big ? 'n' : ''}`);
        out.push(`/** \`${cName}\` (${t.sizeOrType} bytes, ${t.kindFlag ? 'signed' : 'unsigned'}). */`);
        out.push(`export const ${name} = { ${entries.join(', ')} } as const;`);
        out.push(
          entries.length
            ? `export type ${name} = (typeof ${name})[keyof typeof ${name}];`
            : `export type ${name} = ${big ? 'bigint' : 'number'};`,
        );
        out.push(`export const ${codec} = ${this.#integer(t.sizeOrType, t.kindFlag)} as ${LIB}.Codec<${name}>;`);
        break;
      }
      case BtfKind.TYPEDEF: {
        // `typedef struct { … } name;`: the struct's codec goes by the typedef's name.
        const target = this.#unqualified(t.sizeOrType);
        const anonymous =
          (target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION) && !target.name && !this.#described.has(target.id);
        const d = anonymous ? this.#anonymous(target, t.name, 1) : this.describe(t.sizeOrType, 1);
        out.push(`/** \`typedef ${t.name}\`. */`);
        out.push(`export type ${name} = ${d.ts};`);
        out.push(`export const ${codec}: ${LIB}.Codec<${name}> = ${d.codec};`);
        break;
      }
    }
    this.#inProgress.delete(id);
    this.#emitted.add(id);
    this.#declarations.push(out.join('\n'));
  }

  /** Declares every named type (those the options asked for). */
  emitAll(): void {
    for (const id of this.#named) this.#emit(id);
  }

  /** The declarations written so far, in order. */
  get declarations(): readonly string[] {
    return this.#declarations;
  }
}
