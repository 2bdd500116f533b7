import { InvalidArgumentError } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import { BTF_MAGIC } from './kinds.js';
import type { Btf } from './parse.js';

/**
 * One `bpf_func_info` record of `.BTF.ext`: a function starts at `insnOff`.
 *
 * @example
 * const f: BtfExtFuncInfo = { insnOff: 0, typeId: 12 };
 */
export interface BtfExtFuncInfo {
  /** Byte offset of the function's first instruction in its ELF section. */
  insnOff: number;
  /** The FUNC type of the function in `.BTF`. */
  typeId: number;
}

/**
 * One `bpf_line_info` record of `.BTF.ext`: the source line of an instruction.
 *
 * @example
 * const l: BtfExtLineInfo = { insnOff: 8, fileNameOff: 1, lineOff: 20, lineCol: (12 << 10) | 5,
 *   fileName: 'prog.bpf.c', line: 'return 0;', lineNumber: 12, column: 5 };
 */
export interface BtfExtLineInfo {
  /** Byte offset of the instruction in its ELF section. */
  insnOff: number;
  /** Offset of the source file name in the `.BTF` strings. */
  fileNameOff: number;
  /** Offset of the source line's text in the `.BTF` strings. */
  lineOff: number;
  /** Line number `<< 10` | column, as the kernel takes it. */
  lineCol: number;
  /** The source file name. */
  fileName: string;
  /** The source line's text. */
  line: string;
  /** `lineCol >> 10`. */
  lineNumber: number;
  /** `lineCol & 0x3ff`. */
  column: number;
}

/**
 * One `bpf_core_relo` record of `.BTF.ext`: a CO-RE relocation of the
 * instruction at `insnOff`.
 *
 * @example
 * const r: BtfExtCoreRelo = { insnOff: 16, typeId: 8, accessStringOff: 40, accessString: '0:1', kind: 0 };
 */
export interface BtfExtCoreRelo {
  /** Byte offset of the relocated instruction in its ELF section. */
  insnOff: number;
  /** The local (`.BTF`) root type of the access. */
  typeId: number;
  /** Offset of the access string in the `.BTF` strings. */
  accessStringOff: number;
  /** The access string, e.g. `'0:1:2'`. */
  accessString: string;
  /** `enum bpf_core_relo_kind` (see {@link CoreReloKind}). */
  kind: number;
}

/**
 * The `.BTF.ext` records of one ELF code section.
 *
 * @example
 * const s: BtfExtSection = { funcInfo: [], lineInfo: [], coreRelos: [] };
 */
export interface BtfExtSection {
  funcInfo: BtfExtFuncInfo[];
  lineInfo: BtfExtLineInfo[];
  coreRelos: BtfExtCoreRelo[];
}

/**
 * A parsed `.BTF.ext` section.
 *
 * @example
 * const ext: BtfExt = parseBtfExt(elf.data(elf.section('.BTF.ext')!), btf);
 * ext.sections.xdp?.funcInfo;
 */
export interface BtfExt {
  littleEndian: boolean;
  version: number;
  flags: number;
  /** Records by ELF section name (`'xdp'`, `'.text'`, …). */
  sections: Record<string, BtfExtSection>;
  /** `rec_size` of each record kind as the object declares it (0 when the kind is absent). */
  recordSizes: { funcInfo: number; lineInfo: number; coreRelo: number };
}

const MIN_HEADER = 24; // through line_info_len
const CORE_HEADER = 32; // with core_relo_off/len
const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;
const CORE_RELO_SIZE = 16;

/**
 * Parses a `.BTF.ext` section, in either byte order: its header, then the
 * function, line and (when the header has them) CO-RE relocation records of
 * every code section. Section names and strings are resolved through `btf`,
 * the object's `.BTF`. Records larger than the ones known here are stepped
 * over by their declared size. Anything malformed is a {@link ParseError}.
 *
 * @example
 * const btf = parseBtf(elf.data(elf.section('.BTF')!));
 * const ext = parseBtfExt(elf.data(elf.section('.BTF.ext')!), btf);
 * ext.sections.xdp?.coreRelos; // [{ insnOff: 16, typeId: 8, accessString: '0:1', kind: 0, … }]
 */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const fail = (message: string, offset?: number): never => {
    throw new ParseError('BTF.ext', message, offset);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected the section as a Uint8Array');
  if (typeof btf?.string !== 'function') throw new InvalidArgumentError('btf', "the object's parsed .BTF (parseBtf)", btf);
  if (bytes.byteLength < 8) fail(`section of ${bytes.byteLength} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  if (view.getUint16(0, true) !== BTF_MAGIC) {
    if (view.getUint16(0, false) !== BTF_MAGIC) fail(`bad magic 0x${view.getUint16(0, true).toString(16)}, expected 0xeb9f`, 0);
    le = false;
  }
  const version = view.getUint8(2);
  if (version !== 1) fail(`unsupported version ${version}, expected 1`, 2);
  const flags = view.getUint8(3);
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < MIN_HEADER || hdrLen > bytes.byteLength) fail(`header length ${hdrLen} is not within 24..${bytes.byteLength}`, 4);
  // Every line_info record names its file, and several often share a source line: each string is decoded once.
  const decoded = new Map<number, string>();
  const str = (off: number, what: string, at: number): string => {
    const known = decoded.get(off);
    if (known !== undefined) return known;
    try {
      const s = btf.string(off);
      decoded.set(off, s);
      return s;
    } catch (err) {
      if (err instanceof ParseError) return fail(`${what}: ${err.message}`, at);
      throw err;
    }
  };

  const sections: Record<string, BtfExtSection> = {};
  const sectionOf = (name: string): BtfExtSection => {
    let s = Object.hasOwn(sections, name) ? sections[name] : undefined;
    if (!s) {
      // defineProperty: a section named '__proto__' is data, not the prototype.
      s = { funcInfo: [], lineInfo: [], coreRelos: [] };
      Object.defineProperty(sections, name, { value: s, enumerable: true, writable: true, configurable: true });
    }
    return s;
  };

  // Each kind of record is a block: rec_size, then per section {sec_name_off, num_info, records…}.
  const block = (what: string, offField: number, minSize: number, read: (at: number, section: BtfExtSection) => void): number => {
    const off = view.getUint32(offField, le);
    const len = view.getUint32(offField + 4, le);
    if (len === 0) return 0;
    const start = hdrLen + off;
    const end = start + len;
    if (off % 4 !== 0) fail(`${what} at offset ${off} is not 4-byte aligned`, offField);
    if (end > bytes.byteLength) fail(`${what} (${len} bytes at ${start}) runs past the section's ${bytes.byteLength} bytes`, offField);
    if (len < 4) fail(`${what} has no record size`, start);
    const recSize = view.getUint32(start, le);
    if (recSize < minSize || recSize % 4 !== 0)
      fail(`${what} record size ${recSize} is invalid (at least ${minSize}, a multiple of 4)`, start);
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) fail(`${what}: truncated section header`, p);
      const name = str(view.getUint32(p, le), `${what} section name`, p);
      const count = view.getUint32(p + 4, le);
      p += 8;
      if (count > (end - p) / recSize)
        fail(`${what} of section '${name}': ${count} records of ${recSize} bytes exceed the ${end - p} left`, p - 4);
      const section = sectionOf(name);
      for (let i = 0; i < count; i++, p += recSize) read(p, section);
    }
    return recSize;
  };

  const funcInfo = block('func_info', 8, FUNC_INFO_SIZE, (at, s) => {
    s.funcInfo.push({ insnOff: view.getUint32(at, le), typeId: view.getUint32(at + 4, le) });
  });
  const lineInfo = block('line_info', 16, LINE_INFO_SIZE, (at, s) => {
    const fileNameOff = view.getUint32(at + 4, le);
    const lineOff = view.getUint32(at + 8, le);
    const lineCol = view.getUint32(at + 12, le);
    s.lineInfo.push({
      insnOff: view.getUint32(at, le),
      fileNameOff,
      lineOff,
      lineCol,
      fileName: str(fileNameOff, 'line_info file name', at + 4),
      line: str(lineOff, 'line_info line', at + 8),
      lineNumber: lineCol >>> 10,
      column: lineCol & 0x3ff,
    });
  });
  const coreRelo =
    hdrLen >= CORE_HEADER
      ? block('core_relo', 24, CORE_RELO_SIZE, (at, s) => {
          const accessStringOff = view.getUint32(at + 8, le);
          s.coreRelos.push({
            insnOff: view.getUint32(at, le),
            typeId: view.getUint32(at + 4, le),
            accessStringOff,
            accessString: str(accessStringOff, 'core_relo access string', at + 8),
            kind: view.getUint32(at + 12, le),
          });
        })
      : 0;
  return { littleEndian: le, version, flags, sections, recordSizes: { funcInfo, lineInfo, coreRelo } };
}
