/**
 * Table-driven struct layouts for the kernel structs bpfkit passes to
 * `bpf()` and `perf_event_open()`.
 *
 * Every struct is described once, as a {@link StructLayout}: its size and one
 * entry per field giving the byte offset, the kind (width and meaning) and the
 * uapi name. The same table drives encoding (JavaScript object → bytes, with
 * pointer fields reported as offsets for the native side to patch) and
 * decoding (bytes → JavaScript object).
 *
 * Values are written in the host byte order: bpfkit talks to the kernel it
 * runs on, and the kernel reads these structs in its own (= the host's) order.
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';

/** Whether this host is little-endian (probed once with a `Uint16Array`). */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A pointer field: a buffer whose address the native side writes into the
 * struct, a raw address as a bigint, or `null` for NULL.
 */
export type Pointer = Uint8Array | bigint | null;

/**
 * A pointer to a NUL-terminated C string: a JavaScript string (encoded as
 * UTF-8 and terminated), a buffer holding the bytes (terminated by the
 * caller), a raw address, or `null`.
 */
export type CStringPointer = string | Uint8Array | bigint | null;

/** What every field description has. */
export interface FieldBase {
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** The field's name in the uapi header, e.g. `'map_type'` or `'link_create.tcx.relative_fd'`. */
  readonly uapi: string;
}

/** A 1, 2 or 4 byte integer field. */
export interface IntField extends FieldBase {
  readonly kind: 'u8' | 'u16' | 'u32' | 's32';
}
/** An 8 byte integer field (accepts `number` or `bigint`, decodes to `bigint`). */
export interface WideField extends FieldBase {
  readonly kind: 'u64' | 's64';
}
/** An 8 byte pointer field (`__aligned_u64` holding a user-space address). */
export interface PtrField extends FieldBase {
  readonly kind: 'ptr';
}
/** An 8 byte pointer to a NUL-terminated string. */
export interface CStrField extends FieldBase {
  readonly kind: 'cstr';
}
/** A fixed-size `char[length]` array holding a NUL-terminated string. */
export interface StrField extends FieldBase {
  readonly kind: 'str';
  readonly length: number;
}
/** A fixed-size byte array (e.g. `__u8 tag[8]`). */
export interface BytesField extends FieldBase {
  readonly kind: 'bytes';
  readonly length: number;
}
/** A one-bit bitfield inside a `wordSize`-byte word, as a boolean. */
export interface FlagField extends FieldBase {
  readonly kind: 'flag';
  /** Bit number in declaration order (0 = first declared bit). */
  readonly bit: number;
  readonly wordSize: 4 | 8;
}
/** A multi-bit bitfield inside a `wordSize`-byte word, as a number. */
export interface BitsField extends FieldBase {
  readonly kind: 'bits';
  /** First bit in declaration order (0 = first declared bit). */
  readonly bit: number;
  readonly width: number;
  readonly wordSize: 4 | 8;
}
/** A nested struct (for example one member of a union) placed at `offset`. */
export interface StructField<T extends object> extends FieldBase {
  readonly kind: 'struct';
  readonly layout: StructLayout<T>;
}

/** Any field description. */
export type AnyField = IntField | WideField | PtrField | CStrField | StrField | BytesField | FlagField | BitsField | StructField<object>;

/** The field descriptions allowed for a property whose (non-null) value type is `V`. */
export type FieldFor<V> = [V] extends [boolean]
  ? FlagField
  : [V] extends [number]
    ? IntField | BitsField
    : [V] extends [string]
      ? StrField
      : [V] extends [Uint8Array]
        ? BytesField
        : [V] extends [number | bigint]
          ? WideField
          : [V] extends [Uint8Array | bigint]
            ? PtrField
            : [V] extends [string | Uint8Array | bigint]
              ? CStrField
              : V extends object
                ? StructField<V>
                : never;

/** One field description for every property of `T`. */
export type FieldTable<T> = { readonly [K in keyof T]-?: FieldFor<NonNullable<T[K]>> };

/** The decoded form of a property of type `V`: 64-bit values and pointers become `bigint`. */
export type DecodedValue<V> = [V] extends [boolean]
  ? boolean
  : [V] extends [number]
    ? number
    : [V] extends [string]
      ? string
      : [V] extends [Uint8Array]
        ? Uint8Array
        : [V] extends [number | bigint]
          ? bigint
          : [V] extends [string | Uint8Array | bigint]
            ? bigint
            : V extends object
              ? Decoded<V>
              : never;

/** What decoding a struct described by input type `T` produces: every field present. */
export type Decoded<T> = { -readonly [K in keyof T]-?: DecodedValue<NonNullable<T[K]>> };

/** A struct as bytes, with its pointer fields listed for the native side to patch. */
export interface EncodedStruct {
  /** The struct's bytes (pointer fields given as buffers are left zero here). */
  bytes: Uint8Array;
  /** Byte offsets of the pointer fields whose address the native side writes. */
  ptrOffsets: number[];
  /** The buffer whose address goes at the matching offset (`null` writes NULL). */
  ptrBuffers: (Uint8Array | null)[];
}

/**
 * An encoded `union bpf_attr` member, ready for `native.bpf(cmd, attr, ptrOffsets, ptrBuffers)`.
 * `attr.byteLength` is the size passed to the kernel.
 */
export interface EncodedAttr {
  attr: Uint8Array;
  ptrOffsets: number[];
  ptrBuffers: (Uint8Array | null)[];
}

const WIDTH: Record<AnyField['kind'], number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  s32: 4,
  u64: 8,
  s64: 8,
  ptr: 8,
  cstr: 8,
  str: 0,
  bytes: 0,
  flag: 0,
  bits: 0,
  struct: 0,
};

/** The number of bytes a field occupies. */
export function fieldWidth(field: AnyField): number {
  switch (field.kind) {
    case 'str':
    case 'bytes':
      return field.length;
    case 'flag':
    case 'bits':
      return field.wordSize;
    case 'struct':
      return field.layout.size;
    default:
      return WIDTH[field.kind];
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * A NUL-terminated UTF-8 copy of `s`, for `char *` pointer fields.
 *
 * @example
 * cString('/sys/fs/bpf/x'); // Uint8Array [..., 0]
 */
export function cString(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Reads a NUL-terminated string from `bytes` (the whole range when there is no NUL). */
export function readCString(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
  const view = bytes.subarray(offset, offset + length);
  const nul = view.indexOf(0);
  return decoder.decode(nul >= 0 ? view.subarray(0, nul) : view);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const U32_MAX = 0xffff_ffff;
const RANGES: Record<'u8' | 'u16' | 'u32' | 's32', [number, number, string]> = {
  u8: [0, 0xff, 'an integer in 0..255'],
  u16: [0, 0xffff, 'an integer in 0..65535'],
  u32: [0, U32_MAX, 'an unsigned 32-bit integer'],
  s32: [-0x8000_0000, 0x7fff_ffff, 'a signed 32-bit integer'],
};

function checkInt(name: string, v: unknown, kind: 'u8' | 'u16' | 'u32' | 's32'): number {
  const [min, max, expected] = RANGES[kind];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(name, expected, v);
  }
  return v;
}

function toU64(name: string, v: unknown, signed: boolean): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else throw new InvalidArgumentError(name, `a ${signed ? 'signed' : 'unsigned'} 64-bit integer (number or bigint)`, v);
  const ok = signed ? BigInt.asIntN(64, b) === b : BigInt.asUintN(64, b) === b;
  if (!ok) throw new InvalidArgumentError(name, `a ${signed ? 'signed' : 'unsigned'} 64-bit integer`, v);
  return BigInt.asUintN(64, b);
}

/** The value-bit position of a bitfield declared at `bit` with `width` bits in a word of `wordBits`. */
function bitPosition(bit: number, width: number, wordBits: number): number {
  // GCC allocates bitfields from the least significant bit on little-endian
  // hosts and from the most significant bit on big-endian hosts.
  return HOST_LITTLE_ENDIAN ? bit : wordBits - bit - width;
}

function readWord(dv: DataView, offset: number, size: 4 | 8): bigint {
  return size === 8 ? dv.getBigUint64(offset, HOST_LITTLE_ENDIAN) : BigInt(dv.getUint32(offset, HOST_LITTLE_ENDIAN));
}

function writeWord(dv: DataView, offset: number, size: 4 | 8, value: bigint): void {
  if (size === 8) dv.setBigUint64(offset, value, HOST_LITTLE_ENDIAN);
  else dv.setUint32(offset, Number(value), HOST_LITTLE_ENDIAN);
}

interface EncodeState {
  bytes: Uint8Array;
  dv: DataView;
  ptrOffsets: number[];
  ptrBuffers: (Uint8Array | null)[];
  /** Byte ranges of the fields given so far, to catch two members of one union. */
  ranges: { start: number; end: number; name: string }[];
}

/**
 * The layout of one kernel struct: its size and one {@link AnyField} per
 * property of `T` (the JavaScript shape).
 *
 * @example
 * interface Pair { a: number; b?: number | bigint }
 * const pair = new StructLayout<Pair>('pair', 16, { a: u32(0, 'a'), b: u64(8, 'b') });
 * pair.encode({ a: 1, b: 2n }).bytes.byteLength; // 16
 */
export class StructLayout<T extends object> {
  /** Fields in offset order (for documentation and dumps). */
  readonly ordered: readonly (readonly [keyof T & string, AnyField])[];

  /**
   * @param name   the struct's name, used in error messages (e.g. `'bpf_attr (BPF_MAP_CREATE)'`)
   * @param size   the size in bytes: the size passed to the kernel (`offsetofend` of the
   *               last field for `bpf_attr` members, `sizeof` for info structs)
   * @param fields one description per property of `T`
   */
  constructor(
    readonly name: string,
    readonly size: number,
    readonly fields: FieldTable<T>,
  ) {
    const entries = Object.entries(fields) as [keyof T & string, AnyField][];
    for (const [key, f] of entries) {
      const end = f.offset + fieldWidth(f);
      if (f.offset < 0 || end > size) {
        throw new RangeError(`${name}: field ${key} (${f.uapi}) at ${f.offset}..${end} does not fit in ${size} bytes`);
      }
    }
    this.ordered = entries.sort((a, b) => a[1].offset - b[1].offset);
  }

  /** Encodes `values` into a new zeroed buffer of {@link size} bytes. Missing fields are zero. */
  encode(values: T): EncodedStruct {
    const bytes = new Uint8Array(this.size);
    const state: EncodeState = { bytes, dv: viewOf(bytes), ptrOffsets: [], ptrBuffers: [], ranges: [] };
    this.encodeInto(state, values, 0, '');
    return { bytes, ptrOffsets: state.ptrOffsets, ptrBuffers: state.ptrBuffers };
  }

  /** Encodes `values` as a `bpf_attr` member (the same as {@link encode}, named for `native.bpf`). */
  encodeAttr(values: T): EncodedAttr {
    const { bytes, ptrOffsets, ptrBuffers } = this.encode(values);
    return { attr: bytes, ptrOffsets, ptrBuffers };
  }

  private encodeInto(state: EncodeState, values: T, base: number, prefix: string): void {
    const record = values as Record<string, unknown>;
    for (const [key, f] of this.ordered) {
      const v = record[key];
      if (v === undefined) continue;
      const name = prefix + key;
      const at = base + f.offset;
      if (f.kind !== 'flag' && f.kind !== 'bits') {
        const end = at + fieldWidth(f);
        const clash = state.ranges.find((r) => r.start < end && at < r.end);
        if (clash) {
          throw new InvalidArgumentError(name, `not to be given together with '${clash.name}' (they share a union in ${this.name})`, v);
        }
        if (f.kind !== 'struct') state.ranges.push({ start: at, end, name });
      }
      if (f.kind === 'struct') {
        if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(name, 'an object', v);
        (f.layout as StructLayout<object>).encodeInto(state, v, at, `${name}.`);
      } else {
        writeField(state, f, at, name, v);
      }
    }
  }

  /** Decodes a struct from `bytes` starting at `offset`. */
  decode(bytes: Uint8Array, offset = 0): Decoded<T> {
    if (bytes.byteLength - offset < this.size) {
      throw new InvalidArgumentError(`${this.name} bytes`, `at least ${this.size} bytes from offset ${offset}`, bytes);
    }
    const dv = viewOf(bytes);
    const out: Record<string, unknown> = {};
    for (const [key, f] of this.ordered) out[key] = readField(bytes, dv, f, offset + f.offset);
    return out as Decoded<T>;
  }

  /** Reads one field from `bytes` (a buffer encoded with this layout, possibly written by the kernel). */
  read<K extends keyof T & string>(bytes: Uint8Array, key: K): DecodedValue<NonNullable<T[K]>> {
    const f = (this.fields as Record<string, AnyField>)[key]!;
    return readField(bytes, viewOf(bytes), f, f.offset) as DecodedValue<NonNullable<T[K]>>;
  }

  /** The byte offset of a field. */
  offsetOf(key: keyof T & string): number {
    return (this.fields as Record<string, AnyField>)[key]!.offset;
  }
}

function writeField(state: EncodeState, f: Exclude<AnyField, StructField<object>>, at: number, name: string, v: unknown): void {
  const { dv, bytes } = state;
  switch (f.kind) {
    case 'u8':
      dv.setUint8(at, checkInt(name, v, 'u8'));
      return;
    case 'u16':
      dv.setUint16(at, checkInt(name, v, 'u16'), HOST_LITTLE_ENDIAN);
      return;
    case 'u32':
      dv.setUint32(at, checkInt(name, v, 'u32'), HOST_LITTLE_ENDIAN);
      return;
    case 's32':
      dv.setInt32(at, checkInt(name, v, 's32'), HOST_LITTLE_ENDIAN);
      return;
    case 'u64':
    case 's64':
      dv.setBigUint64(at, toU64(name, v, f.kind === 's64'), HOST_LITTLE_ENDIAN);
      return;
    case 'ptr':
    case 'cstr': {
      if (v === null) return;
      if (typeof v === 'bigint') {
        dv.setBigUint64(at, toU64(name, v, false), HOST_LITTLE_ENDIAN);
        return;
      }
      let buf: Uint8Array;
      if (v instanceof Uint8Array) buf = v;
      else if (f.kind === 'cstr' && typeof v === 'string') buf = cString(v);
      else {
        throw new InvalidArgumentError(
          name,
          f.kind === 'cstr' ? 'a string, a Uint8Array, a bigint address or null' : 'a Uint8Array, a bigint address or null',
          v,
        );
      }
      state.ptrOffsets.push(at);
      state.ptrBuffers.push(buf);
      return;
    }
    case 'str': {
      if (typeof v !== 'string') throw new InvalidArgumentError(name, 'a string', v);
      const b = encoder.encode(v);
      if (b.length >= f.length) throw new InvalidArgumentError(name, `at most ${f.length - 1} bytes of UTF-8`, v);
      bytes.set(b, at);
      return;
    }
    case 'bytes': {
      if (!(v instanceof Uint8Array) || v.byteLength > f.length) {
        throw new InvalidArgumentError(name, `a Uint8Array of at most ${f.length} bytes`, v);
      }
      bytes.set(v, at);
      return;
    }
    case 'flag':
    case 'bits': {
      const width = f.kind === 'flag' ? 1 : f.width;
      let n: bigint;
      if (f.kind === 'flag') {
        if (typeof v !== 'boolean') throw new InvalidArgumentError(name, 'a boolean', v);
        n = v ? 1n : 0n;
      } else {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** width) {
          throw new InvalidArgumentError(name, `an integer in 0..${2 ** width - 1}`, v);
        }
        n = BigInt(v);
      }
      const pos = BigInt(bitPosition(f.bit, width, f.wordSize * 8));
      const mask = ((1n << BigInt(width)) - 1n) << pos;
      const word = (readWord(dv, at, f.wordSize) & ~mask) | (n << pos);
      writeWord(dv, at, f.wordSize, word);
      return;
    }
  }
}

function readField(bytes: Uint8Array, dv: DataView, f: AnyField, at: number): unknown {
  switch (f.kind) {
    case 'u8':
      return dv.getUint8(at);
    case 'u16':
      return dv.getUint16(at, HOST_LITTLE_ENDIAN);
    case 'u32':
      return dv.getUint32(at, HOST_LITTLE_ENDIAN);
    case 's32':
      return dv.getInt32(at, HOST_LITTLE_ENDIAN);
    case 'u64':
    case 'ptr':
    case 'cstr':
      return dv.getBigUint64(at, HOST_LITTLE_ENDIAN);
    case 's64':
      return dv.getBigInt64(at, HOST_LITTLE_ENDIAN);
    case 'str':
      return readCString(bytes, at, f.length);
    case 'bytes':
      return bytes.slice(at, at + f.length);
    case 'flag':
    case 'bits': {
      const width = f.kind === 'flag' ? 1 : f.width;
      const pos = BigInt(bitPosition(f.bit, width, f.wordSize * 8));
      const n = (readWord(dv, at, f.wordSize) >> pos) & ((1n << BigInt(width)) - 1n);
      return f.kind === 'flag' ? n === 1n : Number(n);
    }
    case 'struct':
      return f.layout.decode(bytes, at);
  }
}

// ---------------------------------------------------------------------------
// Field constructors: short, so each struct table reads like the header.

/** A `__u8` field. */
export const u8 = (offset: number, uapi: string): IntField => ({ kind: 'u8', offset, uapi });
/** A `__u16` field. */
export const u16 = (offset: number, uapi: string): IntField => ({ kind: 'u16', offset, uapi });
/** A `__u32` field. */
export const u32 = (offset: number, uapi: string): IntField => ({ kind: 'u32', offset, uapi });
/** A `__s32` field. */
export const s32 = (offset: number, uapi: string): IntField => ({ kind: 's32', offset, uapi });
/** A `__u64` field. */
export const u64 = (offset: number, uapi: string): WideField => ({ kind: 'u64', offset, uapi });
/** A `__s64` field. */
export const s64 = (offset: number, uapi: string): WideField => ({ kind: 's64', offset, uapi });
/** An `__aligned_u64` pointer to a buffer. */
export const ptr = (offset: number, uapi: string): PtrField => ({ kind: 'ptr', offset, uapi });
/** An `__aligned_u64` pointer to a NUL-terminated string. */
export const cstr = (offset: number, uapi: string): CStrField => ({ kind: 'cstr', offset, uapi });
/** A `char[length]` field. */
export const str = (offset: number, length: number, uapi: string): StrField => ({ kind: 'str', offset, length, uapi });
/** A `__u8[length]` field. */
export const bytes = (offset: number, length: number, uapi: string): BytesField => ({ kind: 'bytes', offset, length, uapi });
/** A one-bit bitfield: the `bit`-th declared bit of the word at `offset`. */
export const flag = (offset: number, bit: number, uapi: string, wordSize: 4 | 8 = 8): FlagField => ({
  kind: 'flag',
  offset,
  bit,
  wordSize,
  uapi,
});
/** A `width`-bit bitfield starting at the `bit`-th declared bit of the word at `offset`. */
export const bits = (offset: number, bit: number, width: number, uapi: string, wordSize: 4 | 8 = 8): BitsField => ({
  kind: 'bits',
  offset,
  bit,
  width,
  wordSize,
  uapi,
});
/** A nested struct (or one union member) at `offset`. */
export const struct = <T extends object>(offset: number, layout: StructLayout<T>, uapi: string): StructField<T> => ({
  kind: 'struct',
  offset,
  layout,
  uapi,
});
