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

/** A parsed BTF blob. */
export interface Btf {
  /**
   * Every type by id; index 0 is the void type. For split BTF the base's
   * types come first, so `types[id]` works for any id the blob may use.
   */
  types: BtfType[];
  littleEndian: boolean;
  /** The first type with this name and, when given, kind (the base is searched first). */
  find(name: string, kind?: number): BtfType | undefined;
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
 * Parses a BTF blob (such as `/sys/kernel/btf/vmlinux`): header, string
 * section and every type, in either byte order.
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
 */
export function parseBtf(bytes: Uint8Array, base?: Btf): Btf {
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
  const decoder = new TextDecoder();
  const firstStringOffset = base ? base.firstStringOffset + base.strings.byteLength : 0;
  const str = (off: number): string => {
    if (off < firstStringOffset) return base!.string(off);
    const own = off - firstStringOffset;
    if (own >= strLen) {
      throw new ParseError(
        'BTF',
        `string offset ${off} outside the ${strLen}-byte string section${base ? ` (which starts at ${firstStringOffset})` : ''}`,
      );
    }
    let end = strStart + own;
    while (end < strStart + strLen && bytes[end] !== 0) end++;
    return decoder.decode(bytes.subarray(strStart + own, end));
  };

  const types: BtfType[] = base ? base.types.slice() : [{ id: 0, kind: BtfKind.UNKN, name: '', sizeOrType: 0, vlen: 0, kindFlag: false }];
  const firstTypeId = types.length;
  let p = typesStart;
  const end = typesStart + typeLen;
  const need = (n: number) => {
    if (p + n > end) throw new ParseError('BTF', `type ${types.length} runs past the type section`, p);
  };
  while (p < end) {
    need(12);
    const nameOff = view.getUint32(p, le);
    const info = view.getUint32(p + 4, le);
    const sizeOrType = view.getUint32(p + 8, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const type: BtfType = { id: types.length, kind, name: str(nameOff), sizeOrType, vlen, kindFlag };
    p += 12;
    switch (kind) {
      case BtfKind.INT: {
        need(4);
        const v = view.getUint32(p, le);
        type.int = { encoding: (v >>> 24) & 0x0f, offset: (v >>> 16) & 0xff, bits: v & 0xff };
        p += 4;
        break;
      }
      case BtfKind.ARRAY:
        need(12);
        type.array = { type: view.getUint32(p, le), indexType: view.getUint32(p + 4, le), elements: view.getUint32(p + 8, le) };
        p += 12;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        need(12 * vlen);
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
        need(8 * vlen);
        type.enumerators = [];
        for (let i = 0; i < vlen; i++, p += 8) {
          const raw = view.getUint32(p + 4, le);
          // kind_flag set means the enum is signed (BTF since 6.0).
          type.enumerators.push({ name: str(view.getUint32(p, le)), value: kindFlag ? BigInt(raw | 0) : BigInt(raw) });
        }
        break;
      case BtfKind.ENUM64:
        need(12 * vlen);
        type.enumerators = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const v = (BigInt(view.getUint32(p + 8, le)) << 32n) | BigInt(view.getUint32(p + 4, le));
          type.enumerators.push({ name: str(view.getUint32(p, le)), value: kindFlag ? BigInt.asIntN(64, v) : v });
        }
        break;
      case BtfKind.FUNC_PROTO:
        need(8 * vlen);
        type.params = [];
        for (let i = 0; i < vlen; i++, p += 8) type.params.push({ name: str(view.getUint32(p, le)), type: view.getUint32(p + 4, le) });
        break;
      case BtfKind.VAR:
        need(4);
        type.linkage = view.getUint32(p, le);
        p += 4;
        break;
      case BtfKind.DATASEC:
        need(12 * vlen);
        type.variables = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          type.variables.push({ type: view.getUint32(p, le), offset: view.getUint32(p + 4, le), size: view.getUint32(p + 8, le) });
        }
        break;
      case BtfKind.DECL_TAG:
        need(4);
        type.linkage = view.getInt32(p, le);
        p += 4;
        break;
      case BtfKind.PTR:
      case BtfKind.FWD:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.FUNC:
      case BtfKind.FLOAT:
      case BtfKind.TYPE_TAG:
        break;
      default:
        throw new ParseError('BTF', `type ${types.length} has unknown kind ${kind}`, p - 12);
    }
    types.push(type);
  }
  // Every type id a type refers to must exist: readers can then follow references without checks.
  const REFS: ReadonlySet<number> = new Set([
    BtfKind.PTR,
    BtfKind.TYPEDEF,
    BtfKind.VOLATILE,
    BtfKind.CONST,
    BtfKind.RESTRICT,
    BtfKind.FUNC,
    BtfKind.FUNC_PROTO,
    BtfKind.VAR,
    BtfKind.TYPE_TAG,
    BtfKind.DECL_TAG,
  ]);
  const check = (t: BtfType, id: number, what: string) => {
    if (id >= types.length)
      throw new ParseError('BTF', `type ${t.id} (${t.name || 'anonymous'}): ${what} refers to type ${id}, but there are ${types.length}`);
  };
  for (let id = firstTypeId; id < types.length; id++) {
    const t = types[id]!;
    if (REFS.has(t.kind)) check(t, t.sizeOrType, 'its target');
    for (const m of t.members ?? []) check(t, m.type, `member '${m.name}'`);
    if (t.array) {
      check(t, t.array.type, 'its element type');
      check(t, t.array.indexType, 'its index type');
    }
    for (const p of t.params ?? []) check(t, p.type, `parameter '${p.name}'`);
    for (const v of t.variables ?? []) {
      check(t, v.type, 'a variable');
      if (types[v.type]!.kind !== BtfKind.VAR && types[v.type]!.kind !== BtfKind.FUNC) {
        throw new ParseError('BTF', `data section '${t.name}': entry ${v.type} is not a variable`);
      }
      if (v.offset + v.size > t.sizeOrType && t.sizeOrType !== 0) {
        throw new ParseError(
          'BTF',
          `data section '${t.name}': variable at ${v.offset}+${v.size} exceeds the section's ${t.sizeOrType} bytes`,
        );
      }
    }
  }

  const byName = new globalThis.Map<string, BtfType[]>();
  for (let id = firstTypeId; id < types.length; id++) {
    const t = types[id]!;
    if (!t.name) continue;
    const list = byName.get(t.name);
    if (list) list.push(t);
    else byName.set(t.name, [t]);
  }
  const strings = bytes.slice(strStart, strStart + strLen);
  const own = (name: string, kind?: number) => byName.get(name)?.find((t) => kind === undefined || t.kind === kind);
  return {
    types,
    littleEndian: le,
    find: base ? (name, kind) => base.find(name, kind) ?? own(name, kind) : own,
    string: str,
    strings,
    ...(base ? { base } : {}),
    firstTypeId,
    firstStringOffset,
  };
}
