import { btfBlob, TypeWriter } from './encode.js';
import { BtfKind } from './kinds.js';
import type { Btf } from './parse.js';

/**
 * Writes small BTF blobs: integers, structs, enums. Enough for map
 * definitions that the kernel wants BTF for (local storage maps, spin locks)
 * and for tests. Type ids start at 1 in the order types are added.
 *
 * @example
 * const b = new BtfBuilder();
 * const int = b.addInt('int', 4, true);
 * const blob = b.encode();
 */
export class BtfBuilder {
  readonly #types: number[][] = [];
  readonly #strings: number[] = [0];
  readonly #stringIndex = new globalThis.Map<string, number>([['', 0]]);

  #str(s: string): number {
    const known = this.#stringIndex.get(s);
    if (known !== undefined) return known;
    const off = this.#strings.length + this.#stringBase;
    this.#strings.push(...new TextEncoder().encode(s), 0);
    this.#stringIndex.set(s, off);
    return off;
  }

  #add(words: number[]): number {
    this.#types.push(words);
    return this.#types.length + this.#firstId - 1;
  }

  /** An integer of `size` bytes; returns its type id. */
  addInt(name: string, size: number, signed: boolean): number {
    const encoding = signed ? 1 : 0; // BTF_INT_SIGNED
    return this.#add([this.#str(name), BtfKind.INT << 24, size, (encoding << 24) | (size * 8)]);
  }

  /** A struct whose members are `[name, typeId, byteOffset]`; returns its type id. */
  addStruct(name: string, size: number, members: readonly [string, number, number][]): number {
    const words = [this.#str(name), (BtfKind.STRUCT << 24) | members.length, size];
    for (const [m, type, offset] of members) words.push(this.#str(m), type, offset * 8);
    return this.#add(words);
  }

  /** A 4-byte enum; returns its type id. */
  addEnum(name: string, values: readonly [string, number][]): number {
    const words = [this.#str(name), (BtfKind.ENUM << 24) | values.length, 4];
    for (const [n, v] of values) words.push(this.#str(n), v >>> 0);
    return this.#add(words);
  }

  /** A pointer to `target`; returns its type id. */
  addPointer(target: number): number {
    return this.#add([0, BtfKind.PTR << 24, target]);
  }

  /** An array of `elements` of `type`, indexed by `indexType`; returns its type id. */
  addArray(type: number, indexType: number, elements: number): number {
    return this.#add([0, BtfKind.ARRAY << 24, 0, type, indexType, elements]);
  }

  /** A variable (linkage 0 static, 1 global, 2 extern); returns its type id. */
  addVar(name: string, type: number, linkage = 1): number {
    return this.#add([this.#str(name), BtfKind.VAR << 24, type, linkage]);
  }

  /** A data section holding `[varTypeId, offset, size]` entries; returns its type id. */
  addDatasec(name: string, size: number, variables: readonly [number, number, number][]): number {
    const words = [this.#str(name), (BtfKind.DATASEC << 24) | variables.length, size];
    for (const [type, offset, bytes] of variables) words.push(type, offset, bytes);
    return this.#add(words);
  }

  /** A function prototype `returns (params…)`; returns its type id. */
  addFuncProto(returns: number, params: readonly [string, number][]): number {
    const words = [0, (BtfKind.FUNC_PROTO << 24) | params.length, returns];
    for (const [n, t] of params) words.push(this.#str(n), t);
    return this.#add(words);
  }

  /** A function of prototype `proto` (linkage in vlen: 0 static, 1 global); returns its type id. */
  addFunc(name: string, proto: number, linkage = 1): number {
    return this.#add([this.#str(name), (BtfKind.FUNC << 24) | linkage, proto]);
  }

  // Split BTF: ids and string offsets continue after a base's (set by `splitOf`).
  #firstId = 1;
  #stringBase = 0;

  /**
   * A builder of split BTF on top of `base` (as a kernel module's BTF is on
   * vmlinux): type ids continue after the base's, string offsets after its
   * strings, and the base's type ids may be referred to.
   *
   * @example
   * const mod = BtfBuilder.splitOf(vmlinux);
   * const id = mod.addStruct('nf_conn', 8, [['status', vmlinux.find('int')!.id, 0]]);
   * parseBtf(mod.encode(), vmlinux).type(id)!.name; // 'nf_conn'
   */
  static splitOf(base: Btf): BtfBuilder {
    const b = new BtfBuilder();
    b.#firstId = base.typeCount;
    b.#stringBase = base.firstStringOffset + base.strings.byteLength;
    return b;
  }

  /**
   * A struct or union whose members carry bit offsets and, for bitfields,
   * bit sizes (then the type's kind_flag is set); returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * const uint = b.addInt('unsigned int', 4, false);
   * b.addComposite('struct', 'flags', 4, [{ name: 'a', type: uint, bitOffset: 0, bitfieldSize: 3 }]);
   */
  addComposite(
    kind: 'struct' | 'union',
    name: string,
    size: number,
    members: readonly { name: string; type: number; bitOffset: number; bitfieldSize?: number }[],
  ): number {
    const bitfields = members.some((m) => (m.bitfieldSize ?? 0) > 0);
    const k = kind === 'struct' ? BtfKind.STRUCT : BtfKind.UNION;
    const words = [this.#str(name), (((bitfields ? 1 : 0) << 31) | (k << 24) | members.length) >>> 0, size];
    for (const m of members)
      words.push(this.#str(m.name), m.type, bitfields ? (((m.bitfieldSize ?? 0) << 24) | m.bitOffset) >>> 0 : m.bitOffset);
    return this.#add(words);
  }

  /**
   * A union whose members are `[name, typeId]` (all at offset 0); returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * const int = b.addInt('int', 4, true);
   * const long = b.addInt('long', 8, true);
   * b.addUnion('u', 8, [['a', int], ['b', long]]);
   */
  addUnion(name: string, size: number, members: readonly [string, number][]): number {
    return this.addComposite(
      'union',
      name,
      size,
      members.map(([n, type]) => ({ name: n, type, bitOffset: 0 })),
    );
  }

  /**
   * A typedef of `type`; returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addTypedef('pid_t', b.addInt('int', 4, true));
   */
  addTypedef(name: string, type: number): number {
    return this.#add([this.#str(name), BtfKind.TYPEDEF << 24, type]);
  }

  /**
   * A qualifier (`'const'`, `'volatile'`, `'restrict'`) of `type`; returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addQualifier('const', b.addInt('int', 4, true));
   */
  addQualifier(qualifier: 'const' | 'volatile' | 'restrict', type: number): number {
    const kind = qualifier === 'const' ? BtfKind.CONST : qualifier === 'volatile' ? BtfKind.VOLATILE : BtfKind.RESTRICT;
    return this.#add([0, kind << 24, type]);
  }

  /**
   * An enum of `size` bytes (1, 2, 4), signed or not (kind_flag); returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addEnumSized('e8', 1, [['A', -1]], true);
   */
  addEnumSized(name: string, size: number, values: readonly [string, number][], signed: boolean): number {
    const words = [this.#str(name), (((signed ? 1 : 0) << 31) | (BtfKind.ENUM << 24) | values.length) >>> 0, size];
    for (const [n, v] of values) words.push(this.#str(n), v >>> 0);
    return this.#add(words);
  }

  /**
   * An 8-byte enum with 64-bit values, signed or not; returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addEnum64('big', [['HUGE', 1n << 40n]]);
   */
  addEnum64(name: string, values: readonly [string, bigint][], signed = false): number {
    const words = [this.#str(name), (((signed ? 1 : 0) << 31) | (BtfKind.ENUM64 << 24) | values.length) >>> 0, 8];
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      words.push(this.#str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.#add(words);
  }

  /**
   * A forward declaration of a struct (or union); returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addFwd('sock');
   */
  addFwd(name: string, union = false): number {
    return this.#add([this.#str(name), (((union ? 1 : 0) << 31) | (BtfKind.FWD << 24)) >>> 0, 0]);
  }

  /**
   * A floating-point type of `size` bytes; returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addFloat('double', 8);
   */
  addFloat(name: string, size: number): number {
    return this.#add([this.#str(name), BtfKind.FLOAT << 24, size]);
  }

  /**
   * An integer with an explicit encoding (1 signed, 2 char, 4 bool) and
   * bit count; returns its type id.
   *
   * @example
   * const b = new BtfBuilder();
   * b.addIntEncoded('_Bool', 1, 4, 8);
   */
  addIntEncoded(name: string, size: number, encoding: number, bits = size * 8): number {
    return this.#add([this.#str(name), BtfKind.INT << 24, size, ((encoding & 0xf) << 24) | (bits & 0xff)]);
  }

  /** The blob: header, types, strings. */
  encode(littleEndian = true): Uint8Array {
    const types = new TypeWriter(littleEndian);
    for (const words of this.#types) for (const w of words) types.word(w);
    return btfBlob(types.bytes(), this.#strings, littleEndian);
  }
}
