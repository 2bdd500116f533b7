import { BTF_MAGIC, BtfKind } from './kinds.js';

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
    const off = this.#strings.length;
    this.#strings.push(...new TextEncoder().encode(s), 0);
    this.#stringIndex.set(s, off);
    return off;
  }

  #add(words: number[]): number {
    this.#types.push(words);
    return this.#types.length;
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

  /** The blob: header, types, strings. */
  encode(littleEndian = true): Uint8Array {
    const typeLen = this.#types.reduce((n, w) => n + w.length * 4, 0);
    const strLen = this.#strings.length;
    const out = new Uint8Array(24 + typeLen + strLen);
    const view = new DataView(out.buffer);
    view.setUint16(0, BTF_MAGIC, littleEndian);
    view.setUint8(2, 1);
    view.setUint8(3, 0);
    view.setUint32(4, 24, littleEndian);
    view.setUint32(8, 0, littleEndian);
    view.setUint32(12, typeLen, littleEndian);
    view.setUint32(16, typeLen, littleEndian);
    view.setUint32(20, strLen, littleEndian);
    let p = 24;
    for (const words of this.#types) for (const w of words) { view.setUint32(p, w, littleEndian); p += 4; }
    out.set(this.#strings, p);
    return out;
  }
}
