import { ParseError } from '../errors.js';
import { BTF_MAGIC, BtfKind } from './kinds.js';

/** One BTF type as stored: its kind, name and the raw fields a reader needs. */
export interface BtfType {
  id: number;
  kind: number;
  name: string;
  /** `size` for sized kinds, the referenced type id for the others (`struct btf_type`'s union). */
  sizeOrType: number;
  vlen: number;
  kindFlag: boolean;
  /** Enumerators, for ENUM and ENUM64. */
  enumerators?: { name: string; value: bigint }[];
  /** Members, for STRUCT and UNION: name, type id, bit offset (and bitfield size when kind_flag is set). */
  members?: { name: string; type: number; bitOffset: number; bitfieldSize?: number }[];
  /** INT: `encoding` bits (1 signed, 2 char, 4 bool), bit offset and bit count. */
  int?: { encoding: number; offset: number; bits: number };
  /** ARRAY: element type, index type, number of elements. */
  array?: { type: number; indexType: number; elements: number };
  /** FUNC_PROTO: parameters (name may be empty), by type id. */
  params?: { name: string; type: number }[];
  /** VAR: linkage (0 static, 1 global, 2 extern). DECL_TAG: component index (-1 for the whole type). */
  linkage?: number;
  /** DATASEC: the variables it holds, by type id, with their offset and size in the section. */
  variables?: { type: number; offset: number; size: number }[];
}

/**
 * A parsed BTF blob.
 *
 * Types are decoded on demand: parsing checks the whole blob and indexes
 * where each type starts and what it is called, and {@link Btf.type}
 * materialises a type the first time it is asked for. vmlinux holds over
 * 100,000 types and a CO-RE object needs a few hundred of them.
 */
export interface Btf {
  /**
   * Every type by id; index 0 is the void type. For split BTF the base's
   * types come first, so `types[id]` works for any id the blob may use.
   *
   * Materialises every type on first use (for vmlinux, tens of megabytes):
   * prefer {@link Btf.type} and {@link Btf.typeCount}.
   */
  readonly types: BtfType[];
  /** The number of type ids, void included (for split BTF, the base's too): ids run from 0 to `typeCount - 1`. */
  readonly typeCount: number;
  /** The type with this id (the base's for a lower id of split BTF), or undefined outside `0..typeCount-1`. */
  type(id: number): BtfType | undefined;
  littleEndian: boolean;
  /** The first type with this name and, when given, kind (the base is searched first). */
  find(name: string, kind?: number): BtfType | undefined;
  /**
   * The ids of the named types this blob defines itself (not its base's)
   * whose essential name (the name without a `___flavour` suffix) is `essential`,
   * in id order: CO-RE's candidates. `which` narrows the search to
   * functions (FUNC) or to every other kind (what CO-RE looks among).
   */
  idsByEssentialName(essential: string, which?: NameClasses): readonly number[];
  /**
   * The string at `offset` of the string section, as type names and
   * `.BTF.ext` records refer to it. For split BTF, offsets below
   * {@link Btf.firstStringOffset} are read from the base. Throws
   * `ParseError` for an offset outside the strings.
   */
  string(offset: number): string;
  /** This blob's own string section, raw (for split BTF: without the base's strings). */
  strings: Uint8Array;
  /** The BTF this one extends (`/sys/kernel/btf/<module>` extends vmlinux), if it is split. */
  base?: Btf;
  /** The first type id this blob defines: 1, or the number of the base's types for split BTF. */
  firstTypeId: number;
  /** The string offset of this blob's first string: 0, or the total length of the base's strings. */
  firstStringOffset: number;
}

const HEADER_SIZE = 24;

/**
 * Bytes that follow the 12-byte `struct btf_type`, by kind: a fixed part
 * (-1 for an unknown kind) and a part per `vlen` entry. Tables, not a
 * function: the scan runs once per type, a hundred thousand times for
 * vmlinux, mostly before the JIT has compiled anything.
 */
const TRAILER_FIXED = new Int8Array(32).fill(-1);
const TRAILER_PER_ENTRY = new Uint8Array(32);
for (const kind of [
  BtfKind.PTR,
  BtfKind.FWD,
  BtfKind.TYPEDEF,
  BtfKind.VOLATILE,
  BtfKind.CONST,
  BtfKind.RESTRICT,
  BtfKind.FUNC,
  BtfKind.FLOAT,
  BtfKind.TYPE_TAG,
])
  TRAILER_FIXED[kind] = 0;
for (const kind of [BtfKind.INT, BtfKind.VAR, BtfKind.DECL_TAG]) TRAILER_FIXED[kind] = 4;
TRAILER_FIXED[BtfKind.ARRAY] = 12;
for (const kind of [BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM64, BtfKind.DATASEC]) {
  TRAILER_FIXED[kind] = 0;
  TRAILER_PER_ENTRY[kind] = 12;
}
for (const kind of [BtfKind.ENUM, BtfKind.FUNC_PROTO]) {
  TRAILER_FIXED[kind] = 0;
  TRAILER_PER_ENTRY[kind] = 8;
}

/**
 * Bytes of the type record whose second word is `info`: the 12-byte header
 * and the kind's trailer (vlen entries for the kinds that have them), or -1
 * for a kind BTF does not define.
 *
 * @example
 * typeRecordBytes((BtfKind.STRUCT << 24) | 2); // 36: the header and two members
 */
export function typeRecordBytes(info: number): number {
  const kind = (info >>> 24) & 0x1f;
  const fixed = TRAILER_FIXED[kind]!;
  return fixed < 0 ? -1 : 12 + fixed + TRAILER_PER_ENTRY[kind]! * (info & 0xffff);
}

/** Kinds whose `type` field refers to another type. */
function refersToType(kind: number): boolean {
  switch (kind) {
    case BtfKind.PTR:
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.FUNC:
    case BtfKind.FUNC_PROTO:
    case BtfKind.VAR:
    case BtfKind.TYPE_TAG:
    case BtfKind.DECL_TAG:
      return true;
    default:
      return false;
  }
}

const UNDERSCORE = 0x5f;

/**
 * Where the essential name of the NUL-terminated name at `start` ends: the
 * flavour starts at the last `___` with a non-underscore byte on both sides
 * (libbpf's `bpf_core_essential_name_len`), else the name's end.
 */
function essentialEnd(bytes: Uint8Array, start: number, end: number): number {
  for (let i = end - 5; i >= start; i--) {
    if (
      bytes[i] !== UNDERSCORE &&
      bytes[i + 1] === UNDERSCORE &&
      bytes[i + 2] === UNDERSCORE &&
      bytes[i + 3] === UNDERSCORE &&
      bytes[i + 4] !== UNDERSCORE
    ) {
      return i + 1;
    }
  }
  return end;
}

/** FNV-1a over a byte range: the name index's hash. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** The length of a BTF's own string section (without copying it when it is one of ours). */
function stringSectionLength(btf: Btf): number {
  return btf instanceof ParsedBtf ? btf.stringsLength : btf.strings.byteLength;
}

/**
 * A hash table in typed arrays: no object per type (chains are short; names
 * are compared, not hashes). `heads[hash & mask]` and `next[e]` hold entry
 * numbers from 1 (0 ends a chain); `entries[e]` is the type's index.
 */
interface NameIndex {
  heads: Int32Array;
  entries: Int32Array;
  next: Int32Array;
  mask: number;
}

/** Which types a name lookup searches: functions (FUNC), every other kind, or all. */
export type NameClasses = 'functions' | 'types' | 'all';

/**
 * Another implementation of {@link parseBtf}'s two passes over a whole blob,
 * given in {@link ParseBtfOptions.indexer}: the kernel backend passes the
 * native addon's, which runs them on vmlinux in a few milliseconds where
 * JavaScript takes ~40 ms cold. Both must give exactly what the JavaScript passes give.
 */
export interface BtfIndexer {
  /**
   * Writes the byte offset of each type record of `blob[start, start + length)`
   * into `offsets` and returns their number; -1 when a record is cut short
   * or of an unknown kind (the JavaScript scan then says where), -2 when
   * `offsets` is too small.
   */
  scanTypes(blob: Uint8Array, start: number, length: number, littleEndian: boolean, offsets: Uint32Array): number;
  /**
   * Fills the essential-name hash table of the functions (FUNC records) or
   * of every other kind: the records with a name, highest first, become
   * entries 1, 2, … (`entries[e]` = the record's index), each chained from
   * `heads[hash & (heads.length - 1)]` through `next`, so that a chain lists
   * lower indexes first; `hash` is the FNV-1a hash of the essential name.
   */
  indexNames(
    blob: Uint8Array,
    offsets: Uint32Array,
    strStart: number,
    strLen: number,
    firstStringOffset: number,
    littleEndian: boolean,
    functions: boolean,
    heads: Int32Array,
    entries: Int32Array,
    next: Int32Array,
  ): void;
}

/** A BTF blob checked and indexed at parse time, its types decoded when first asked for. */
class ParsedBtf implements Btf {
  readonly littleEndian: boolean;
  readonly base?: Btf;
  readonly firstTypeId: number;
  readonly firstStringOffset: number;
  readonly typeCount: number;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  /** Byte offset of each own type's record in #bytes, by `id - firstTypeId`. */
  readonly #offsets: Uint32Array;
  readonly #strStart: number;
  readonly #strLen: number;
  readonly #decoded: (BtfType | undefined)[] = [];
  #all: BtfType[] | undefined;
  /** Own named types by essential-name hash: the other kinds' index, then the functions'. */
  readonly #indexes: [NameIndex | undefined, NameIndex | undefined] = [undefined, undefined];
  readonly #indexer: BtfIndexer | undefined;

  constructor(
    bytes: Uint8Array,
    le: boolean,
    typesStart: number,
    typeLen: number,
    strStart: number,
    strLen: number,
    base: Btf | undefined,
    trusted: boolean,
    indexer: BtfIndexer | undefined,
  ) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = le;
    this.#strStart = strStart;
    this.#strLen = strLen;
    if (base) this.base = base;
    this.firstStringOffset = base ? base.firstStringOffset + stringSectionLength(base) : 0;
    this.firstTypeId = base ? base.typeCount : 1;
    this.#indexer = indexer;
    this.#offsets = this.#nativeScan(typesStart, typeLen) ?? this.#scan(typesStart, typeLen);
    this.typeCount = this.firstTypeId + this.#offsets.length;
    if (!trusted) this.#check();
  }

  /**
   * The indexer's scan, or undefined without one or when it found the
   * records malformed (the JavaScript scan says how). The offsets get room
   * for the most records the section could hold, but only the part written
   * is ever touched: a large zeroed buffer is fresh memory, faulted in page
   * by page as it is written (each fault cost ~11 µs on machines with page-table isolation and no PCID).
   */
  #nativeScan(start: number, length: number): Uint32Array | undefined {
    const indexer = this.#indexer;
    if (!indexer) return undefined;
    const offsets = new Uint32Array(Math.ceil(length / 12));
    const n = indexer.scanTypes(this.#bytes, start, length, this.littleEndian, offsets);
    return n >= 0 ? offsets.subarray(0, n) : undefined;
  }

  /** Walks the records once: where each starts, with sizes and kinds checked. */
  #scan(start: number, length: number): Uint32Array {
    const view = this.#view;
    const le = this.littleEndian;
    const end = start + length;
    let offsets = new Uint32Array(Math.max(16, Math.ceil(length / 16)));
    let n = 0;
    for (let p = start; p < end; ) {
      const id = this.firstTypeId + n;
      if (p + 12 > end) throw new ParseError('BTF', `type ${id} runs past the type section`, p);
      const info = view.getUint32(p + 4, le);
      const bytes = typeRecordBytes(info);
      if (bytes < 0) throw new ParseError('BTF', `type ${id} has unknown kind ${(info >>> 24) & 0x1f}`, p);
      if (p + bytes > end) throw new ParseError('BTF', `type ${id} runs past the type section`, p + 12);
      if (n === offsets.length) {
        const grown = new Uint32Array(offsets.length * 2);
        grown.set(offsets);
        offsets = grown;
      }
      offsets[n++] = p;
      p += bytes;
    }
    return offsets.slice(0, n);
  }

  /** Every string offset in range and every type id a type refers to defined: readers then follow references without checks. */
  #check(): void {
    const view = this.#view;
    const le = this.littleEndian;
    const count = this.typeCount;
    const stringEnd = this.firstStringOffset + this.#strLen;
    // Plain comparisons in the loop (no closure per record: vmlinux has a million of them); messages only on failure.
    const badString = (off: number): never => {
      this.string(off); // throws the ParseError naming the section
      throw new ParseError('BTF', `string offset ${off} is out of range`);
    };
    const badRef = (id: number, ref: number, what: string): never => {
      const name = this.string(view.getUint32(this.#offsets[id - this.firstTypeId]!, le)) || 'anonymous';
      throw new ParseError('BTF', `type ${id} (${name}): ${what} refers to type ${ref}, but there are ${count}`);
    };
    for (let i = 0; i < this.#offsets.length; i++) {
      const id = this.firstTypeId + i;
      const p = this.#offsets[i]!;
      const nameOff = view.getUint32(p, le);
      if (nameOff >= stringEnd) badString(nameOff);
      const info = view.getUint32(p + 4, le);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const sizeOrType = view.getUint32(p + 8, le);
      if (sizeOrType >= count && refersToType(kind)) badRef(id, sizeOrType, 'its target');
      const q = p + 12;
      switch (kind) {
        case BtfKind.ARRAY: {
          const element = view.getUint32(q, le);
          const index = view.getUint32(q + 4, le);
          if (element >= count) badRef(id, element, 'its element type');
          if (index >= count) badRef(id, index, 'its index type');
          break;
        }
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          for (let m = q; m < q + 12 * vlen; m += 12) {
            const name = view.getUint32(m, le);
            const type = view.getUint32(m + 4, le);
            if (name >= stringEnd) badString(name);
            if (type >= count) badRef(id, type, `member '${this.string(name)}'`);
          }
          break;
        case BtfKind.ENUM:
          for (let e = q; e < q + 8 * vlen; e += 8) {
            const name = view.getUint32(e, le);
            if (name >= stringEnd) badString(name);
          }
          break;
        case BtfKind.ENUM64:
          for (let e = q; e < q + 12 * vlen; e += 12) {
            const name = view.getUint32(e, le);
            if (name >= stringEnd) badString(name);
          }
          break;
        case BtfKind.FUNC_PROTO:
          for (let a = q; a < q + 8 * vlen; a += 8) {
            const name = view.getUint32(a, le);
            const type = view.getUint32(a + 4, le);
            if (name >= stringEnd) badString(name);
            if (type >= count) badRef(id, type, `parameter '${this.string(name)}'`);
          }
          break;
        case BtfKind.DATASEC:
          for (let v = q; v < q + 12 * vlen; v += 12) {
            const ref = view.getUint32(v, le);
            if (ref >= count) badRef(id, ref, 'a variable');
            const refKind = this.#kindOf(ref);
            if (refKind !== BtfKind.VAR && refKind !== BtfKind.FUNC) {
              throw new ParseError('BTF', `data section '${this.string(nameOff)}': entry ${ref} is not a variable`);
            }
            const offset = view.getUint32(v + 4, le);
            const size = view.getUint32(v + 8, le);
            if (offset + size > sizeOrType && sizeOrType !== 0) {
              throw new ParseError(
                'BTF',
                `data section '${this.string(nameOff)}': variable at ${offset}+${size} exceeds the section's ${sizeOrType} bytes`,
              );
            }
          }
          break;
      }
    }
  }

  /** The kind of any id (the base's included), without materialising the type. */
  #kindOf(id: number): number {
    if (id < this.firstTypeId) return this.base ? this.base.type(id)!.kind : BtfKind.UNKN;
    return (this.#view.getUint32(this.#offsets[id - this.firstTypeId]! + 4, this.littleEndian) >>> 24) & 0x1f;
  }

  #strings: Uint8Array | undefined;

  /** A copy, made when first asked for: the blob itself may be a read-only mapping. */
  get strings(): Uint8Array {
    this.#strings ??= this.#bytes.slice(this.#strStart, this.#strStart + this.#strLen);
    return this.#strings;
  }

  /** The length of the own string section, without copying it. */
  get stringsLength(): number {
    return this.#strLen;
  }

  get types(): BtfType[] {
    if (!this.#all) {
      const all = this.base ? this.base.types.slice() : [this.type(0)!];
      for (let id = this.firstTypeId; id < this.typeCount; id++) all.push(this.type(id)!);
      this.#all = all;
    }
    return this.#all;
  }

  type(id: number): BtfType | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.typeCount) return undefined;
    if (id < this.firstTypeId) {
      return this.base
        ? this.base.type(id)
        : (this.#decoded[0] ??= { id: 0, kind: BtfKind.UNKN, name: '', sizeOrType: 0, vlen: 0, kindFlag: false });
    }
    return (this.#decoded[id] ??= this.#decode(id));
  }

  #decode(id: number): BtfType {
    const view = this.#view;
    const le = this.littleEndian;
    const str = (off: number) => this.string(off);
    let p = this.#offsets[id - this.firstTypeId]!;
    const info = view.getUint32(p + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const type: BtfType = { id, kind, name: str(view.getUint32(p, le)), sizeOrType: view.getUint32(p + 8, le), vlen, kindFlag };
    p += 12;
    switch (kind) {
      case BtfKind.INT: {
        const v = view.getUint32(p, le);
        type.int = { encoding: (v >>> 24) & 0x0f, offset: (v >>> 16) & 0xff, bits: v & 0xff };
        break;
      }
      case BtfKind.ARRAY:
        type.array = { type: view.getUint32(p, le), indexType: view.getUint32(p + 4, le), elements: view.getUint32(p + 8, le) };
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        type.members = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const offset = view.getUint32(p + 8, le);
          // With kind_flag, the offset word holds the bitfield size in its top 8 bits.
          type.members.push(
            kindFlag
              ? {
                  name: str(view.getUint32(p, le)),
                  type: view.getUint32(p + 4, le),
                  bitOffset: offset & 0xffffff,
                  bitfieldSize: offset >>> 24,
                }
              : { name: str(view.getUint32(p, le)), type: view.getUint32(p + 4, le), bitOffset: offset },
          );
        }
        break;
      case BtfKind.ENUM:
        type.enumerators = [];
        for (let i = 0; i < vlen; i++, p += 8) {
          const raw = view.getUint32(p + 4, le);
          // kind_flag set means the enum is signed (BTF since 6.0).
          type.enumerators.push({ name: str(view.getUint32(p, le)), value: kindFlag ? BigInt(raw | 0) : BigInt(raw) });
        }
        break;
      case BtfKind.ENUM64:
        type.enumerators = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const v = (BigInt(view.getUint32(p + 8, le)) << 32n) | BigInt(view.getUint32(p + 4, le));
          type.enumerators.push({ name: str(view.getUint32(p, le)), value: kindFlag ? BigInt.asIntN(64, v) : v });
        }
        break;
      case BtfKind.FUNC_PROTO:
        type.params = [];
        for (let i = 0; i < vlen; i++, p += 8) type.params.push({ name: str(view.getUint32(p, le)), type: view.getUint32(p + 4, le) });
        break;
      case BtfKind.VAR:
        type.linkage = view.getUint32(p, le);
        break;
      case BtfKind.DATASEC:
        type.variables = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          type.variables.push({ type: view.getUint32(p, le), offset: view.getUint32(p + 4, le), size: view.getUint32(p + 8, le) });
        }
        break;
      case BtfKind.DECL_TAG:
        type.linkage = view.getInt32(p, le);
        break;
    }
    return type;
  }

  string(off: number): string {
    if (off < this.firstStringOffset) return this.base!.string(off);
    const own = off - this.firstStringOffset;
    if (own >= this.#strLen) {
      throw new ParseError(
        'BTF',
        `string offset ${off} outside the ${this.#strLen}-byte string section${this.base ? ` (which starts at ${this.firstStringOffset})` : ''}`,
      );
    }
    const bytes = this.#bytes;
    const start = this.#strStart + own;
    const limit = this.#strStart + this.#strLen;
    let end = start;
    let ascii = true;
    while (end < limit && bytes[end] !== 0) {
      if (bytes[end]! >= 0x80) ascii = false;
      end++;
    }
    // Type and member names are short ASCII identifiers: building them by char code skips the decoder's per-call cost.
    if (ascii && end - start <= 64) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    return utf8.decode(bytes.subarray(start, end));
  }

  /** Where the name of own type `index` starts in #bytes (-1 when it is anonymous or the base's). */
  #nameStart(index: number): number {
    const off = this.#view.getUint32(this.#offsets[index]!, this.littleEndian);
    if (off === 0 || off < this.firstStringOffset) return -1;
    return this.#strStart + off - this.firstStringOffset;
  }

  /** Where the NUL-terminated string at `start` ends. */
  #stringEnd(start: number): number {
    const bytes = this.#bytes;
    const limit = this.#strStart + this.#strLen;
    let end = start;
    while (end < limit && bytes[end] !== 0) end++;
    return end;
  }

  /**
   * The name index of one class of types, built on first use: functions
   * (FUNC) or every other kind. CO-RE looks only among the others, which
   * in vmlinux are a fifth of the named types (15k against 56k functions).
   */
  #nameIndex(functions: boolean): NameIndex {
    const cls = functions ? 1 : 0;
    const built = this.#indexes[cls];
    if (built) return built;
    const count = this.#offsets.length;
    // Buckets for about one name each in vmlinux (a quarter of the types are functions, a tenth the others).
    let size = 16;
    while (size < count / (functions ? 2 : 8)) size *= 2;
    const heads = new Int32Array(size);
    // Room for every type; only the entries written are ever touched (fresh pages cost a fault each).
    const entries = new Int32Array(count + 1);
    const next = new Int32Array(count + 1);
    const mask = size - 1;
    if (this.#indexer) {
      this.#indexer.indexNames(
        this.#bytes,
        this.#offsets,
        this.#strStart,
        this.#strLen,
        this.firstStringOffset,
        this.littleEndian,
        functions,
        heads,
        entries,
        next,
      );
    } else {
      this.#indexNames(functions, heads, entries, next, mask);
    }
    const index = { heads, entries, next, mask };
    this.#indexes[cls] = index;
    return index;
  }

  /** {@link BtfIndexer.indexNames}, in JavaScript. */
  #indexNames(functions: boolean, heads: Int32Array, entries: Int32Array, next: Int32Array, mask: number): void {
    const bytes = this.#bytes;
    const view = this.#view;
    const le = this.littleEndian;
    const offsets = this.#offsets;
    const first = this.firstStringOffset;
    const base = this.#strStart - first;
    const limit = this.#strStart + this.#strLen;
    let n = 0;
    // Highest id first, so each chain lists ids in ascending order. One pass per name, inlined (see
    // essentialEnd and hashBytes): the FNV-1a hash of the bytes so far, and the hash as it stood
    // where the last `___flavour` seen so far starts.
    for (let i = offsets.length - 1; i >= 0; i--) {
      const off = view.getUint32(offsets[i]!, le);
      if (off === 0 || off < first) continue;
      if ((((view.getUint32(offsets[i]! + 4, le) >>> 24) & 0x1f) === BtfKind.FUNC) !== functions) continue;
      let p = base + off;
      if (p >= limit || bytes[p] === 0) continue;
      let h = 0x811c9dc5;
      let essential = 0;
      let flavoured = false;
      for (let c = bytes[p]!; ; ) {
        h = Math.imul(h ^ c, 0x01000193);
        const nextByte = p + 1 < limit ? bytes[p + 1]! : 0;
        if (nextByte === 0) break;
        if (
          c !== UNDERSCORE &&
          nextByte === UNDERSCORE &&
          bytes[p + 2] === UNDERSCORE &&
          bytes[p + 3] === UNDERSCORE &&
          p + 4 < limit &&
          bytes[p + 4] !== UNDERSCORE &&
          bytes[p + 4] !== 0
        ) {
          essential = h;
          flavoured = true;
        }
        p++;
        c = nextByte;
      }
      const hash = (flavoured ? essential : h) >>> 0;
      n++;
      entries[n] = i;
      next[n] = heads[hash & mask]!;
      heads[hash & mask] = n;
    }
  }

  /**
   * Own type indexes (id - firstTypeId) whose name passes `matches`, among
   * those whose essential name is `essential`'s, in ascending order: from
   * the index of functions, of the other types, or both.
   */
  #lookup(essential: Uint8Array, matches: (start: number, end: number) => boolean, which: NameClasses): number[] {
    const h = hashBytes(essential, 0, essential.length);
    const out: number[] = [];
    for (const functions of which === 'types' ? [false] : which === 'functions' ? [true] : [false, true]) {
      const { heads, entries, next, mask } = this.#nameIndex(functions);
      for (let k = heads[h & mask]!; k !== 0; k = next[k]!) {
        const i = entries[k]!;
        const start = this.#nameStart(i);
        if (matches(start, this.#stringEnd(start))) out.push(i);
      }
    }
    return which === 'all' ? out.sort((a, b) => a - b) : out;
  }

  #equal(start: number, end: number, want: Uint8Array): boolean {
    if (end - start !== want.length) return false;
    for (let i = 0; i < want.length; i++) if (this.#bytes[start + i] !== want[i]) return false;
    return true;
  }

  find(name: string, kind?: number): BtfType | undefined {
    const inBase = this.base?.find(name, kind);
    if (inBase || !name) return inBase;
    const want = encoder.encode(name);
    const essential = want.subarray(0, essentialEnd(want, 0, want.length));
    const which = kind === undefined ? 'all' : kind === BtfKind.FUNC ? 'functions' : 'types';
    for (const i of this.#lookup(essential, (start, end) => this.#equal(start, end, want), which)) {
      const id = this.firstTypeId + i;
      if (kind === undefined || this.#kindOf(id) === kind) return this.type(id);
    }
    return undefined;
  }

  idsByEssentialName(essential: string, which: NameClasses = 'all'): readonly number[] {
    if (!essential) return [];
    const want = encoder.encode(essential);
    return this.#lookup(want, (start, end) => this.#equal(start, essentialEnd(this.#bytes, start, end), want), which).map(
      (i) => this.firstTypeId + i,
    );
  }
}

/** How {@link parseBtf} treats the blob. */
export interface ParseBtfOptions {
  /**
   * The caller hands the bytes over (a buffer it read for this and never
   * changes, or a read-only mapping of the file): they are kept as they are
   * instead of copied, and never written. Types are decoded from them on
   * demand, so they must not change afterwards.
   */
  owned?: boolean;
  /**
   * The blob is the kernel's own (`/sys/kernel/btf/*`), which the kernel
   * validated when it booted or loaded the module: its type references are
   * not checked again (the record sizes and kinds still are, as the scan
   * needs them).
   */
  trusted?: boolean;
  /** Runs the two whole-blob passes (record offsets, name index) natively; see {@link BtfIndexer}. */
  indexer?: BtfIndexer;
}

/**
 * Parses a BTF blob (such as `/sys/kernel/btf/vmlinux`): header, string
 * section and every type's record, in either byte order. The whole blob is
 * checked here (sizes, kinds, string offsets, type references); types are
 * decoded when first asked for.
 *
 * With `base`, the blob is split BTF (a kernel module's
 * `/sys/kernel/btf/<module>`): its type ids continue after the base's last
 * one, its string offsets after the base's strings, and it may refer to the
 * base's types and strings.
 *
 * @example
 * const btf = parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux'));
 * btf.find('bpf_link_type', BtfKind.ENUM)?.enumerators;
 * const nf = parseBtf(fs.readFileSync('/sys/kernel/btf/nf_tables'), btf);
 * // A buffer read for this alone need not be copied:
 * const own = parseBtf(new Uint8Array(fs.readFileSync('/sys/kernel/btf/vmlinux')), undefined, { owned: true });
 */
export function parseBtf(bytes: Uint8Array, base?: Btf, options: ParseBtfOptions = {}): Btf {
  if (bytes.byteLength < HEADER_SIZE)
    throw new ParseError('BTF', `blob of ${bytes.byteLength} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  if (view.getUint16(0, true) !== BTF_MAGIC) {
    if (view.getUint16(0, false) !== BTF_MAGIC)
      throw new ParseError('BTF', `bad magic 0x${view.getUint16(0, true).toString(16)}, expected 0xeb9f`, 0);
    le = false;
  }
  const version = view.getUint8(2);
  if (version !== 1) throw new ParseError('BTF', `unsupported version ${version}, expected 1`, 2);
  const hdrLen = view.getUint32(4, le);
  const typeOff = view.getUint32(8, le);
  const typeLen = view.getUint32(12, le);
  const strOff = view.getUint32(16, le);
  const strLen = view.getUint32(20, le);
  const typesStart = hdrLen + typeOff;
  const strStart = hdrLen + strOff;
  if (hdrLen < HEADER_SIZE || typesStart + typeLen > bytes.byteLength || strStart + strLen > bytes.byteLength) {
    throw new ParseError(
      'BTF',
      `sections (types ${typesStart}+${typeLen}, strings ${strStart}+${strLen}) exceed the blob of ${bytes.byteLength} bytes`,
      4,
    );
  }
  if (base && base.littleEndian !== le) throw new ParseError('BTF', `split BTF is ${le ? 'little' : 'big'}-endian but its base is not`, 0);
  // Types are decoded from the blob later: a private copy unless the caller hands the bytes over.
  return new ParsedBtf(
    options.owned ? bytes : bytes.slice(),
    le,
    typesStart,
    typeLen,
    strStart,
    strLen,
    base,
    options.trusted === true,
    options.indexer,
  );
}
