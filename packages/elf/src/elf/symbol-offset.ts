/**
 * Where a function of an executable or shared library sits in its file:
 * what a uprobe needs (the kernel takes a file offset, not an address).
 *
 * @module
 */
import { ParseError } from '../errors.js';

const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

/** A function symbol of an ELF executable or shared object, with its file offset. */
export interface ElfFunctionSymbol {
  name: string;
  /** The virtual address (st_value). */
  address: bigint;
  /** Where its code is in the file: the address mapped through the PT_LOAD segment that holds it. */
  fileOffset: number;
  size: bigint;
  /** Which table named it. */
  table: '.symtab' | '.dynsym';
}

/**
 * Finds the function `name` (without a `@VERSION` suffix, which is matched
 * too) in the `.symtab` or `.dynsym` of a 64-bit ELF executable or shared
 * object, and maps its address to a file offset through the program headers
 * (PIE and shared objects included).
 *
 * @example
 * const libc = new Uint8Array(fs.readFileSync('/lib/x86_64-linux-gnu/libc.so.6'));
 * elfFunctionSymbol(libc, 'getpid')?.fileOffset;
 */
export function elfFunctionSymbol(bytes: Uint8Array, name: string): ElfFunctionSymbol | undefined {
  const fail = (message: string, offset?: number): never => {
    throw new ParseError('ELF', message, offset);
  };
  if (bytes.byteLength < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    fail('not an ELF file (bad magic)', 0);
  if (bytes[4] !== 2) fail(`ELF class ${bytes[4]} is not 64-bit`, 4);
  if (bytes[5] !== 1 && bytes[5] !== 2) fail(`unknown data encoding ${bytes[5]}`, 5);
  const le = bytes[5] === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inFile = (offset: number, size: number, what: string) => {
    if (offset < 0 || offset + size > bytes.byteLength) fail(`${what} (${size} bytes at ${offset}) runs past the end of the file`);
  };

  // Program headers: the loadable segments that map addresses to file offsets.
  const phoff = Number(view.getBigUint64(32, le));
  const phentsize = view.getUint16(54, le);
  const phnum = view.getUint16(56, le);
  inFile(phoff, phnum * phentsize, 'program headers');
  const loads: { offset: bigint; vaddr: bigint; filesz: bigint }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (view.getUint32(at, le) !== PT_LOAD) continue;
    loads.push({ offset: view.getBigUint64(at + 8, le), vaddr: view.getBigUint64(at + 16, le), filesz: view.getBigUint64(at + 32, le) });
  }

  // Section headers: the symbol tables and their string tables.
  const shoff = Number(view.getBigUint64(40, le));
  const shentsize = view.getUint16(58, le);
  const shnum = view.getUint16(60, le);
  inFile(shoff, shnum * shentsize, 'section headers');
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      type: view.getUint32(at + 4, le),
      offset: Number(view.getBigUint64(at + 24, le)),
      size: Number(view.getBigUint64(at + 32, le)),
      link: view.getUint32(at + 40, le),
      entsize: Number(view.getBigUint64(at + 56, le)),
    };
  };
  const decoder = new TextDecoder();
  for (const [type, table] of [
    [SHT_SYMTAB, '.symtab'],
    [SHT_DYNSYM, '.dynsym'],
  ] as const) {
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (s.type !== type || s.entsize !== 24 || s.link >= shnum) continue;
      const strtab = section(s.link);
      inFile(s.offset, s.size, `${table}`);
      inFile(strtab.offset, strtab.size, `the string table of ${table}`);
      for (let at = s.offset; at + 24 <= s.offset + s.size; at += 24) {
        const symType = view.getUint8(at + 4) & 0xf;
        const shndx = view.getUint16(at + 6, le);
        if ((symType !== STT_FUNC && symType !== STT_GNU_IFUNC) || shndx === 0) continue;
        const nameOff = view.getUint32(at, le);
        if (nameOff >= strtab.size) continue;
        let end = strtab.offset + nameOff;
        while (end < strtab.offset + strtab.size && bytes[end] !== 0) end++;
        const symName = decoder.decode(bytes.subarray(strtab.offset + nameOff, end));
        if (symName !== name && symName.split('@')[0] !== name) continue;
        const address = view.getBigUint64(at + 8, le);
        const segment = loads.find((l) => address >= l.vaddr && address < l.vaddr + l.filesz);
        if (!segment) fail(`function '${name}' at 0x${address.toString(16)} is in no loadable segment`);
        return {
          name,
          address,
          fileOffset: Number(address - segment!.vaddr + segment!.offset),
          size: view.getBigUint64(at + 16, le),
          table,
        };
      }
    }
  }
  return undefined;
}
