import { InvalidArgumentError } from '@bpfkit/core';
import { BTF_MAGIC, BtfKind } from './kinds.js';
import type { BtfType } from './parse.js';

const HEADER_SIZE = 24;

/**
 * Encodes BTF types (as {@link parseBtf} reads them, possibly edited) into a
 * blob the kernel's BPF_BTF_LOAD accepts: header, types in id order from 1,
 * and a string section rebuilt from the names. `vlen` is derived from each
 * type's member/enumerator/parameter/variable list, except for FUNC whose
 * `vlen` is its linkage.
 *
 * With `options.strings` (the original string section, `Btf.strings`) the
 * new string section starts with those bytes, so string offsets that other
 * records hold (`.BTF.ext` line info) stay valid; new names are appended.
 *
 * @example
 * const blob = encodeBtf(parseBtf(elf.data(elf.section('.BTF')!)).types, true);
 */
export function encodeBtf(types: readonly BtfType[], littleEndian = true, options: { strings?: Uint8Array } = {}): Uint8Array {
  const strings: number[] = [0];
  const stringIndex = new Map<string, number>([['', 0]]);
  const encoder = new TextEncoder();
  const seed = options.strings;
  if (seed && seed.byteLength > 0) {
    strings.length = 0;
    for (const b of seed) strings.push(b);
    if (strings[strings.length - 1] !== 0) strings.push(0);
    const decoder = new TextDecoder();
    for (let start = 0; start < seed.byteLength; ) {
      let end = seed.indexOf(0, start);
      if (end < 0) end = seed.byteLength;
      const s = decoder.decode(seed.subarray(start, end));
      if (!stringIndex.has(s)) stringIndex.set(s, start);
      start = end + 1;
    }
  }
  const str = (s: string): number => {
    let off = stringIndex.get(s);
    if (off === undefined) {
      off = strings.length;
      for (const b of encoder.encode(s)) strings.push(b);
      strings.push(0);
      stringIndex.set(s, off);
    }
    return off;
  };
  const words: number[] = [];
  for (let id = 1; id < types.length; id++) {
    const t = types[id]!;
    if (t.id !== id) throw new InvalidArgumentError(`BTF type at index ${id}`, `id ${id}`, t.id);
    const list = t.members ?? t.enumerators ?? t.params ?? t.variables;
    const vlen = t.kind === BtfKind.FUNC ? t.vlen : (list?.length ?? 0);
    if (vlen > 0xffff) throw new InvalidArgumentError(`BTF type ${id} (${t.name})`, 'at most 65535 members', vlen);
    const info = ((t.kindFlag ? 1 : 0) << 31) | (t.kind << 24) | vlen;
    words.push(str(t.name), info >>> 0, t.sizeOrType >>> 0);
    switch (t.kind) {
      case BtfKind.INT: {
        const i = t.int ?? { encoding: 0, offset: 0, bits: t.sizeOrType * 8 };
        words.push(((i.encoding & 0x0f) << 24) | ((i.offset & 0xff) << 16) | (i.bits & 0xff));
        break;
      }
      case BtfKind.ARRAY:
        words.push(t.array!.type, t.array!.indexType, t.array!.elements);
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        for (const m of t.members ?? []) {
          const offset = t.kindFlag ? (((m.bitfieldSize ?? 0) << 24) | (m.bitOffset & 0xffffff)) >>> 0 : m.bitOffset;
          words.push(str(m.name), m.type, offset);
        }
        break;
      case BtfKind.ENUM:
        for (const e of t.enumerators ?? []) words.push(str(e.name), Number(BigInt.asUintN(32, e.value)));
        break;
      case BtfKind.ENUM64:
        for (const e of t.enumerators ?? []) {
          const v = BigInt.asUintN(64, e.value);
          words.push(str(e.name), Number(v & 0xffffffffn), Number(v >> 32n));
        }
        break;
      case BtfKind.FUNC_PROTO:
        for (const p of t.params ?? []) words.push(str(p.name), p.type);
        break;
      case BtfKind.VAR:
        words.push(t.linkage ?? 0);
        break;
      case BtfKind.DATASEC:
        for (const v of t.variables ?? []) words.push(v.type, v.offset, v.size);
        break;
      case BtfKind.DECL_TAG:
        words.push((t.linkage ?? -1) >>> 0);
        break;
      default:
        break;
    }
  }
  const typeLen = words.length * 4;
  const out = new Uint8Array(HEADER_SIZE + typeLen + strings.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, BTF_MAGIC, littleEndian);
  view.setUint8(2, 1);
  view.setUint32(4, HEADER_SIZE, littleEndian);
  view.setUint32(8, 0, littleEndian);
  view.setUint32(12, typeLen, littleEndian);
  view.setUint32(16, typeLen, littleEndian);
  view.setUint32(20, strings.length, littleEndian);
  let p = HEADER_SIZE;
  for (const w of words) {
    view.setUint32(p, w >>> 0, littleEndian);
    p += 4;
  }
  out.set(strings, p);
  return out;
}
