/**
 * Codecs built from BTF: decode and encode a C type's bytes (a ring buffer
 * record, a map value) as plain JavaScript values, with the offsets, sizes,
 * signedness and bitfields the compiler recorded.
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';
import type { Codec } from '@bpfkit/core';
import { BtfKind } from './kinds.js';
import type { Btf, BtfType } from './parse.js';

/**
 * A C value as JavaScript: integers up to 32 bits, enums and floats as
 * numbers, 64-bit integers and pointers as bigints, `_Bool` as a boolean,
 * `char` arrays as strings (up to the first NUL), other arrays as arrays,
 * structs and unions as objects by member name.
 */
export type BtfValue = number | bigint | boolean | string | BtfValue[] | { [member: string]: BtfValue };

const INT_SIGNED = 1;
const INT_CHAR = 2;
const INT_BOOL = 4;
const QUALIFIERS: ReadonlySet<number> = new Set([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);

/** The type behind typedefs and qualifiers. */
function resolve(btf: Btf, id: number): BtfType {
  let t = btf.type(id);
  for (let hops = 0; t && QUALIFIERS.has(t.kind); hops++) {
    if (hops > 64) break;
    t = btf.type(t.sizeOrType);
  }
  if (!t) throw new InvalidArgumentError('BTF type', 'a type id of this BTF', id);
  return t;
}

/** Bytes a type occupies. */
function sizeOf(btf: Btf, id: number): number {
  const t = resolve(btf, id);
  switch (t.kind) {
    case BtfKind.INT:
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.FLOAT:
      return t.sizeOrType;
    case BtfKind.PTR:
      return 8;
    case BtfKind.ARRAY:
      return sizeOf(btf, t.array?.type ?? 0) * (t.array?.elements ?? 0);
    default:
      throw new InvalidArgumentError(
        'BTF type',
        'a type with a size (int, enum, float, pointer, array, struct, union)',
        `${kindName(t.kind)} '${t.name}'`,
      );
  }
}

const kindName = (kind: number) =>
  Object.entries(BtfKind)
    .find(([, v]) => v === kind)?.[0]
    .toLowerCase() ?? `kind ${kind}`;

const isChar = (btf: Btf, id: number) => {
  const t = resolve(btf, id);
  return t.kind === BtfKind.INT && t.sizeOrType === 1 && ((t.int?.encoding ?? 0) & INT_CHAR || t.name === 'char');
};

/** Reads an unsigned integer of `size` bytes. */
function readUint(view: DataView, offset: number, size: number, le: boolean): bigint {
  switch (size) {
    case 1:
      return BigInt(view.getUint8(offset));
    case 2:
      return BigInt(view.getUint16(offset, le));
    case 4:
      return BigInt(view.getUint32(offset, le));
    case 8:
      return view.getBigUint64(offset, le);
    default: {
      let v = 0n;
      for (let i = 0; i < size; i++) {
        const byte = BigInt(view.getUint8(offset + (le ? i : size - 1 - i)));
        v |= byte << BigInt(8 * i);
      }
      return v;
    }
  }
}

function writeUint(view: DataView, offset: number, size: number, le: boolean, value: bigint): void {
  const v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) view.setUint8(offset + (le ? i : size - 1 - i), Number((v >> BigInt(8 * i)) & 0xffn));
}

/** An integer-like value as the JavaScript type the codec gives for it. */
function intValue(raw: bigint, bits: number, signed: boolean, bool: boolean): number | bigint | boolean {
  if (bool) return raw !== 0n;
  const v = signed ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw);
  return bits > 32 ? v : Number(v);
}

function toBigInt(what: string, value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new InvalidArgumentError(what, 'an integer (number or bigint)', value);
}

function decodeAt(btf: Btf, id: number, view: DataView, offset: number): BtfValue {
  const t = resolve(btf, id);
  const le = btf.littleEndian;
  switch (t.kind) {
    case BtfKind.INT: {
      const enc = t.int?.encoding ?? 0;
      const bits = t.int?.bits ?? t.sizeOrType * 8;
      return intValue(readUint(view, offset, t.sizeOrType, le), bits, (enc & INT_SIGNED) !== 0, (enc & INT_BOOL) !== 0);
    }
    case BtfKind.ENUM:
      return intValue(readUint(view, offset, t.sizeOrType, le), t.sizeOrType * 8, t.kindFlag, false) as number;
    case BtfKind.ENUM64:
      return intValue(readUint(view, offset, 8, le), 64, t.kindFlag, false);
    case BtfKind.PTR:
      return readUint(view, offset, 8, le);
    case BtfKind.FLOAT:
      return t.sizeOrType === 4 ? view.getFloat32(offset, le) : view.getFloat64(offset, le);
    case BtfKind.ARRAY: {
      const { type, elements } = t.array ?? { type: 0, elements: 0 };
      if (isChar(btf, type)) {
        const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, elements);
        const nul = bytes.indexOf(0);
        return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
      }
      const step = sizeOf(btf, type);
      return Array.from({ length: elements }, (_, i) => decodeAt(btf, type, view, offset + i * step));
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      const out: { [member: string]: BtfValue } = {};
      for (const m of t.members ?? []) {
        const value = m.bitfieldSize
          ? decodeBitfield(btf, m.type, view, offset, m.bitOffset, m.bitfieldSize)
          : decodeAt(btf, m.type, view, offset + m.bitOffset / 8);
        // An anonymous struct or union lends its members to the parent, as in C.
        if (m.name === '' && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
        else out[m.name] = value;
      }
      return out;
    }
    default:
      throw new InvalidArgumentError(
        'BTF type',
        'a data type (int, enum, float, pointer, array, struct, union)',
        `${kindName(t.kind)} '${t.name}'`,
      );
  }
}

/** A bitfield: `bits` bits at bit `bitOffset` of the struct (counted from its start in the target's bit order). */
function decodeBitfield(btf: Btf, id: number, view: DataView, structOffset: number, bitOffset: number, bits: number): BtfValue {
  const t = resolve(btf, id);
  const unit = Math.max(1, t.sizeOrType);
  const unitOffset = structOffset + Math.floor(bitOffset / (unit * 8)) * unit;
  const within = bitOffset % (unit * 8);
  const raw = readUint(view, unitOffset, unit, btf.littleEndian);
  // Little-endian targets number bits from the least significant end; big-endian from the most.
  const shift = btf.littleEndian ? within : unit * 8 - within - bits;
  const field = (raw >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
  const enc = t.int?.encoding ?? 0;
  const signed = t.kind === BtfKind.INT ? (enc & INT_SIGNED) !== 0 : t.kindFlag;
  return intValue(field, bits, signed, (enc & INT_BOOL) !== 0);
}

function encodeAt(btf: Btf, id: number, view: DataView, offset: number, value: unknown, path: string): void {
  const t = resolve(btf, id);
  const le = btf.littleEndian;
  switch (t.kind) {
    case BtfKind.INT:
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.PTR:
      writeUint(view, offset, t.kind === BtfKind.PTR ? 8 : t.sizeOrType, le, toBigInt(path, value));
      return;
    case BtfKind.FLOAT:
      if (typeof value !== 'number') throw new InvalidArgumentError(path, 'a number', value);
      if (t.sizeOrType === 4) view.setFloat32(offset, value, le);
      else view.setFloat64(offset, value, le);
      return;
    case BtfKind.ARRAY: {
      const { type, elements } = t.array ?? { type: 0, elements: 0 };
      if (isChar(btf, type) && typeof value === 'string') {
        const bytes = new TextEncoder().encode(value);
        if (bytes.byteLength > elements) throw new InvalidArgumentError(path, `a string of at most ${elements} bytes`, value);
        new Uint8Array(view.buffer, view.byteOffset + offset, elements).fill(0).set(bytes);
        return;
      }
      if (!Array.isArray(value) || value.length > elements)
        throw new InvalidArgumentError(path, `an array of at most ${elements} elements`, value);
      const step = sizeOf(btf, type);
      for (let i = 0; i < value.length; i++) encodeAt(btf, type, view, offset + i * step, value[i], `${path}[${i}]`);
      return;
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new InvalidArgumentError(path, `an object with the members of ${kindName(t.kind)} ${t.name || '(anonymous)'}`, value);
      const record = value as Record<string, unknown>;
      for (const m of t.members ?? []) {
        if (m.name === '') {
          encodeAt(btf, m.type, view, offset + m.bitOffset / 8, record, path);
          continue;
        }
        if (!(m.name in record)) continue; // members left out stay zero
        if (m.bitfieldSize)
          encodeBitfield(btf, m.type, view, offset, m.bitOffset, m.bitfieldSize, toBigInt(`${path}.${m.name}`, record[m.name]));
        else encodeAt(btf, m.type, view, offset + m.bitOffset / 8, record[m.name], `${path}.${m.name}`);
      }
      return;
    }
    default:
      throw new InvalidArgumentError(path, 'a data type', `${kindName(t.kind)} '${t.name}'`);
  }
}

function encodeBitfield(btf: Btf, id: number, view: DataView, structOffset: number, bitOffset: number, bits: number, value: bigint): void {
  const t = resolve(btf, id);
  const unit = Math.max(1, t.sizeOrType);
  const unitOffset = structOffset + Math.floor(bitOffset / (unit * 8)) * unit;
  const within = bitOffset % (unit * 8);
  const shift = BigInt(btf.littleEndian ? within : unit * 8 - within - bits);
  const mask = ((1n << BigInt(bits)) - 1n) << shift;
  const raw = readUint(view, unitOffset, unit, btf.littleEndian);
  writeUint(view, unitOffset, unit, btf.littleEndian, (raw & ~mask) | ((BigInt.asUintN(bits, value) << shift) & mask));
}

/**
 * A codec for the BTF type `type`: a type id, or a name (a struct, union,
 * typedef, enum … of that name; `struct event` and `event` both work).
 *
 * @example
 * declare const objectBtf: Btf; // readObject(bytes).btf
 * const event = btfCodec(objectBtf, 'struct event');
 * event.decode(new Uint8Array(event.size)); // { pid: 0, comm: '', … }
 */
export function btfCodec(btf: Btf, type: number | string): Codec<BtfValue> {
  const t = typeof type === 'number' ? btf.type(type) : findByName(btf, type);
  if (!t || t.id === 0) throw new InvalidArgumentError('BTF type', 'a type this BTF defines (by name or id)', type);
  const size = sizeOf(btf, t.id);
  const name = typeof type === 'string' ? type : t.name || `type ${t.id}`;
  return {
    size,
    name,
    decode(from: Uint8Array, offset = 0): BtfValue {
      if (from.byteLength - offset < size)
        throw new InvalidArgumentError(`${name}: bytes`, `at least ${size} bytes`, from.byteLength - offset);
      return decodeAt(btf, t.id, new DataView(from.buffer, from.byteOffset, from.byteLength), offset);
    },
    encode(value: BtfValue, into: Uint8Array, offset = 0): void {
      if (into.byteLength - offset < size)
        throw new InvalidArgumentError(`${name}: buffer`, `room for ${size} bytes`, into.byteLength - offset);
      into.fill(0, offset, offset + size);
      encodeAt(btf, t.id, new DataView(into.buffer, into.byteOffset, into.byteLength), offset, value, name);
    },
  };
}

const PREFIXES: ReadonlyArray<[string, readonly number[]]> = [
  ['struct ', [BtfKind.STRUCT]],
  ['union ', [BtfKind.UNION]],
  ['enum ', [BtfKind.ENUM, BtfKind.ENUM64]],
];

function findByName(btf: Btf, name: string): BtfType | undefined {
  for (const [prefix, kinds] of PREFIXES) {
    if (name.startsWith(prefix)) {
      const bare = name.slice(prefix.length).trim();
      for (const kind of kinds) {
        const t = btf.find(bare, kind);
        if (t) return t;
      }
      return undefined;
    }
  }
  // A bare name: a struct or union first (what records usually are), then anything sized.
  for (const kind of [BtfKind.STRUCT, BtfKind.UNION, BtfKind.TYPEDEF, BtfKind.ENUM, BtfKind.ENUM64, BtfKind.INT, BtfKind.FLOAT]) {
    const t = btf.find(name, kind);
    if (t) return t;
  }
  return undefined;
}
