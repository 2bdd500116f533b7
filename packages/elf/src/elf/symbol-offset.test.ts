import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { elfFunctionSymbol } from './symbol-offset.js';

/** The C library this process runs with, from its own mappings (absent on a libc-less or non-ELF host). */
const libc = fs
  .readFileSync('/proc/self/maps', 'utf8')
  .split('\n')
  .map((l) => l.split(/\s+/)[5])
  .find((p) => p !== undefined && /\/libc\.so\.6$/.test(p));

describe('elfFunctionSymbol', () => {
  it.skipIf(libc === undefined)(
    `finds exported functions of the C library and maps them to file offsets${libc ? '' : ' — skipped: no libc.so.6 mapped'}`,
    () => {
      const bytes = new Uint8Array(fs.readFileSync(libc!));
      const getpid = elfFunctionSymbol(bytes, 'getpid');
      expect(getpid).toMatchObject({ name: 'getpid', table: '.dynsym' });
      expect(getpid!.fileOffset).toBeGreaterThan(0);
      expect(getpid!.fileOffset).toBeLessThan(bytes.byteLength);
      // A versioned name is found by its plain name too; an undefined or absent one is not.
      expect(elfFunctionSymbol(bytes, 'memcpy')).toBeDefined();
      expect(elfFunctionSymbol(bytes, 'bpfkit_no_such_function')).toBeUndefined();
    },
  );

  it('maps an address through the PT_LOAD segment that holds it, in an ELF it builds', () => {
    // A minimal ELF64 LE shared object: one PT_LOAD (file 0x1000 -> vaddr 0x401000), .dynsym with 'f' at 0x401010.
    const b = new Uint8Array(0x2000);
    const v = new DataView(b.buffer);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    v.setUint16(16, 3, true); // ET_DYN
    v.setBigUint64(32, 64n, true); // e_phoff
    v.setUint16(54, 56, true); // e_phentsize
    v.setUint16(56, 1, true); // e_phnum
    v.setUint32(64, 1, true); // PT_LOAD
    v.setBigUint64(64 + 8, 0x1000n, true); // p_offset
    v.setBigUint64(64 + 16, 0x401000n, true); // p_vaddr
    v.setBigUint64(64 + 32, 0x100n, true); // p_filesz
    const shoff = 0x1800;
    v.setBigUint64(40, BigInt(shoff), true);
    v.setUint16(58, 64, true);
    v.setUint16(60, 3, true); // null, .dynsym, .dynstr
    const sh = (i: number, type: number, offset: number, size: number, link: number, entsize: number) => {
      const at = shoff + i * 64;
      v.setUint32(at + 4, type, true);
      v.setBigUint64(at + 24, BigInt(offset), true);
      v.setBigUint64(at + 32, BigInt(size), true);
      v.setUint32(at + 40, link, true);
      v.setBigUint64(at + 56, BigInt(entsize), true);
    };
    sh(1, 11, 0x1400, 48, 2, 24);
    sh(2, 3, 0x1500, 3, 0, 0);
    b.set([0, 0x66, 0], 0x1500); // "", "f"
    v.setUint32(0x1400 + 24, 1, true); // symbol 1: name "f"
    b[0x1400 + 24 + 4] = 0x12; // GLOBAL FUNC
    v.setUint16(0x1400 + 24 + 6, 5, true); // defined
    v.setBigUint64(0x1400 + 24 + 8, 0x401010n, true);
    expect(elfFunctionSymbol(b, 'f')).toEqual({ name: 'f', address: 0x401010n, fileOffset: 0x1010, size: 0n, table: '.dynsym' });
    // Cut before its section headers, the file is refused, not read past its end.
    expect(() => elfFunctionSymbol(b.subarray(0, 0x1000), 'f')).toThrow(/section headers .* runs past the end of the file/);
  });

  it('refuses what is not a 64-bit ELF with a ParseError', () => {
    expect(() => elfFunctionSymbol(new Uint8Array(64), 'x')).toThrow(ParseError);
    expect(() => elfFunctionSymbol(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 1, 1, ...new Uint8Array(58)), 'x')).toThrow(/not 64-bit/);
  });
});
