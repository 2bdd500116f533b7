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
  // Written for one cold call per load (a CLI process runs it once, mostly in the interpreter):
  // bytes go straight into typed arrays, and the seed's strings are decoded in one go.
  const strings = new StringSection(options.strings);
  const out = new TypeWriter(littleEndian);
  for (let id = 1; id < types.length; id++) {
    const t = types[id]!;
    if (t.id !== id) throw new InvalidArgumentError(`BTF type at index ${id}`, `id ${id}`, t.id);
    const list = t.members ?? t.enumerators ?? t.params ?? t.variables;
    const vlen = t.kind === BtfKind.FUNC ? t.vlen : (list?.length ?? 0);
    if (vlen > 0xffff) throw new InvalidArgumentError(`BTF type ${id} (${t.name})`, 'at most 65535 members', vlen);
    const info = ((t.kindFlag ? 1 : 0) << 31) | (t.kind << 24) | vlen;
    out.word(strings.offset(t.name));
    out.word(info);
    out.word(t.sizeOrType);
    switch (t.kind) {
      case BtfKind.INT: {
        const i = t.int ?? { encoding: 0, offset: 0, bits: t.sizeOrType * 8 };
        out.word(((i.encoding & 0x0f) << 24) | ((i.offset & 0xff) << 16) | (i.bits & 0xff));
        break;
      }
      case BtfKind.ARRAY:
        out.word(t.array!.type);
        out.word(t.array!.indexType);
        out.word(t.array!.elements);
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        for (const m of t.members ?? []) {
          out.word(strings.offset(m.name));
          out.word(m.type);
          out.word(t.kindFlag ? ((m.bitfieldSize ?? 0) << 24) | (m.bitOffset & 0xffffff) : m.bitOffset);
        }
        break;
      case BtfKind.ENUM:
        for (const e of t.enumerators ?? []) {
          out.word(strings.offset(e.name));
          out.word(Number(BigInt.asUintN(32, e.value)));
        }
        break;
      case BtfKind.ENUM64:
        for (const e of t.enumerators ?? []) {
          const v = BigInt.asUintN(64, e.value);
          out.word(strings.offset(e.name));
          out.word(Number(v & 0xffffffffn));
          out.word(Number(v >> 32n));
        }
        break;
      case BtfKind.FUNC_PROTO:
        for (const p of t.params ?? []) {
          out.word(strings.offset(p.name));
          out.word(p.type);
        }
        break;
      case BtfKind.VAR:
        out.word(t.linkage ?? 0);
        break;
      case BtfKind.DATASEC:
        for (const v of t.variables ?? []) {
          out.word(v.type);
          out.word(v.offset);
          out.word(v.size);
        }
        break;
      case BtfKind.DECL_TAG:
        out.word(t.linkage ?? -1);
        break;
      default:
        break;
    }
  }
  return btfBlob(out.bytes(), strings.bytes(), littleEndian);
}

/** A BTF blob: the header, then the type and string sections as given (what {@link encodeBtf} and `BtfBuilder` write). */
export function btfBlob(types: Uint8Array, strings: ArrayLike<number>, littleEndian: boolean): Uint8Array {
  const blob = new Uint8Array(HEADER_SIZE + types.length + strings.length);
  const view = new DataView(blob.buffer);
  view.setUint16(0, BTF_MAGIC, littleEndian);
  view.setUint8(2, 1);
  view.setUint32(4, HEADER_SIZE, littleEndian);
  view.setUint32(8, 0, littleEndian);
  view.setUint32(12, types.length, littleEndian);
  view.setUint32(16, types.length, littleEndian);
  view.setUint32(20, strings.length, littleEndian);
  blob.set(types, HEADER_SIZE);
  blob.set(strings, HEADER_SIZE + types.length);
  return blob;
}

/** The type section as it is written: 32-bit words in a growing buffer. */
export class TypeWriter {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #length = 0;
  readonly #le: boolean;

  constructor(littleEndian: boolean) {
    this.#le = littleEndian;
  }

  get length(): number {
    return this.#length;
  }

  word(w: number): void {
    if (this.#length + 4 > this.#buf.length) {
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#view.setUint32(this.#length, w >>> 0, this.#le);
    this.#length += 4;
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * The string section: the seed's bytes (so offsets others hold stay valid),
 * then each new name once. The offset of a name is the first place it
 * starts in the seed, or where it was appended.
 */
class StringSection {
  #buf: Uint8Array;
  #length: number;
  readonly #index = new Map<string, number>([['', 0]]);

  constructor(seed: Uint8Array | undefined) {
    if (!seed || seed.byteLength === 0) {
      this.#buf = new Uint8Array(4096);
      this.#length = 1; // the empty string at offset 0
      return;
    }
    const terminated = seed[seed.byteLength - 1] === 0;
    this.#buf = new Uint8Array(seed.byteLength + 4096);
    this.#buf.set(seed);
    this.#length = seed.byteLength + (terminated ? 0 : 1);
    const text = textDecoder.decode(seed);
    // One UTF-16 unit per byte and no replacement character: every byte was ASCII (a longer sequence gives fewer units).
    if (text.length !== seed.byteLength || text.includes('\uFFFD')) {
      // Some name is not ASCII: character and byte offsets differ, so each string is decoded alone.
      for (let start = 0; start < seed.byteLength; ) {
        let end = seed.indexOf(0, start);
        if (end < 0) end = seed.byteLength;
        const s = textDecoder.decode(seed.subarray(start, end));
        if (!this.#index.has(s)) this.#index.set(s, start);
        start = end + 1;
      }
      return;
    }
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\0', start);
      if (end < 0) end = text.length;
      const s = text.slice(start, end);
      if (!this.#index.has(s)) this.#index.set(s, start);
      start = end + 1;
    }
  }

  get length(): number {
    return this.#length;
  }

  offset(s: string): number {
    let off = this.#index.get(s);
    if (off !== undefined) return off;
    off = this.#length;
    const bytes = textEncoder.encode(s);
    if (off + bytes.length + 1 > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, off + bytes.length + 1));
      grown.set(this.#buf.subarray(0, off));
      this.#buf = grown;
    }
    this.#buf.set(bytes, off);
    this.#buf[off + bytes.length] = 0;
    this.#length = off + bytes.length + 1;
    this.#index.set(s, off);
    return off;
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }
}
