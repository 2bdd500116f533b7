import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { Elf, parseElf } from './parse.js';

/** Builds a small relocatable BPF object: .text, .rel.text, .symtab, .strtab, .shstrtab. */
function buildObject(le = true, machine: number = Elf.EM_BPF): Uint8Array {
  const text = Uint8Array.of(0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
  const strtab = new TextEncoder().encode('\0prog\0my_map\0');
  const shstrtab = new TextEncoder().encode('\0.text\0.rel.text\0.symtab\0.strtab\0.shstrtab\0.bss\0');
  const sym = new Uint8Array(24 * 3);
  const rel = new Uint8Array(16);
  const parts = [text, rel, sym, strtab, shstrtab];
  const offsets: number[] = [];
  let at = 64;
  for (const p of parts) {
    offsets.push(at);
    at += p.length;
  }
  at = Math.ceil(at / 8) * 8;
  const shoff = at;
  const shnum = 7;
  const out = new Uint8Array(shoff + shnum * 64);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1]);
  v.setUint16(16, Elf.ET_REL, le);
  v.setUint16(18, machine, le);
  v.setBigUint64(40, BigInt(shoff), le);
  v.setUint16(52, 64, le);
  v.setUint16(58, 64, le);
  v.setUint16(60, shnum, le);
  v.setUint16(62, 5, le);
  // symbols: [0] null, [1] prog (global func in .text), [2] my_map (global object, undefined section)
  const sv = new DataView(sym.buffer);
  sv.setUint32(24, 1, le);
  sym[24 + 4] = (Elf.STB_GLOBAL << 4) | Elf.STT_FUNC;
  sv.setUint16(24 + 6, 1, le);
  sv.setBigUint64(24 + 16, 24n, le);
  sv.setUint32(48, 6, le);
  sym[48 + 4] = (Elf.STB_GLOBAL << 4) | Elf.STT_OBJECT;
  sv.setUint16(48 + 6, 6, le);
  const rv = new DataView(rel.buffer);
  rv.setBigUint64(0, 0n, le);
  rv.setBigUint64(8, (2n << 32n) | 1n, le); // R_BPF_64_64 against my_map
  parts.forEach((p, i) => {
    out.set(p, offsets[i]!);
  });
  const shdr = (i: number, name: number, type: number, offset: number, size: number, link = 0, info = 0, entsize = 0, flags = 0n) => {
    const h = shoff + i * 64;
    v.setUint32(h, name, le);
    v.setUint32(h + 4, type, le);
    v.setBigUint64(h + 8, flags, le);
    v.setBigUint64(h + 24, BigInt(offset), le);
    v.setBigUint64(h + 32, BigInt(size), le);
    v.setUint32(h + 40, link, le);
    v.setUint32(h + 44, info, le);
    v.setBigUint64(h + 48, 8n, le);
    v.setBigUint64(h + 56, BigInt(entsize), le);
  };
  shdr(1, 1, Elf.SHT_PROGBITS, offsets[0]!, text.length, 0, 0, 0, 6n);
  shdr(2, 7, Elf.SHT_REL, offsets[1]!, rel.length, 3, 1, 16);
  shdr(3, 17, Elf.SHT_SYMTAB, offsets[2]!, sym.length, 4, 1, 24);
  shdr(4, 25, Elf.SHT_STRTAB, offsets[3]!, strtab.length);
  shdr(5, 33, Elf.SHT_STRTAB, offsets[4]!, shstrtab.length);
  shdr(6, 43, Elf.SHT_NOBITS, 0, 4096, 0, 0, 0, 3n);
  return out;
}

describe('ELF', () => {
  for (const le of [true, false]) {
    it(`reads sections, symbols and relocations of a ${le ? 'little' : 'big'}-endian BPF object`, () => {
      const elf = parseElf(buildObject(le));
      expect(elf.littleEndian).toBe(le);
      expect(elf.sections.map((s) => s.name)).toEqual(['', '.text', '.rel.text', '.symtab', '.strtab', '.shstrtab', '.bss']);
      expect(elf.data(elf.section('.text')!).byteLength).toBe(24);
      expect(elf.data(elf.section('.bss')!).byteLength).toBe(0);
      expect(elf.section('.bss')!.size).toBe(4096);
      expect(elf.symbols.map((s) => [s.name, s.bind, s.type, s.section])).toEqual([
        ['', 0, 0, 0],
        ['prog', Elf.STB_GLOBAL, Elf.STT_FUNC, 1],
        ['my_map', Elf.STB_GLOBAL, Elf.STT_OBJECT, 6],
      ]);
      expect(elf.relocations(1)).toEqual([{ offset: 0, symbol: 2, type: 1 }]);
      expect(elf.relocations(4)).toEqual([]);
    });
  }

  it('refuses what is not a 64-bit relocatable BPF object, naming the problem', () => {
    expect(() => parseElf(new Uint8Array(10))).toThrow(/shorter than the 64-byte ELF header/);
    const bad = buildObject();
    bad[1] = 0;
    expect(() => parseElf(bad)).toThrow(/not an ELF file/);
    const x86 = buildObject(true, 62);
    expect(() => parseElf(x86)).toThrow(/machine 62 is not BPF \(247\)/);
    const c32 = buildObject();
    c32[4] = 1;
    expect(() => parseElf(c32)).toThrow(/not 64-bit/);
    const truncated = buildObject().subarray(0, 200);
    expect(() => parseElf(truncated)).toThrow(ParseError);
  });

  it('refuses a symbol table or relocations of a fraction of a record (read past the end of the file before)', () => {
    const shdr = (b: Uint8Array, i: number) => Number(new DataView(b.buffer).getBigUint64(40, true)) + i * 64;
    // The symbol table (3 symbols) one byte longer, moved to the last 73 bytes of the file: its
    // fourth "symbol" would be read from beyond the file.
    const symbols = buildObject();
    const sv = new DataView(symbols.buffer);
    sv.setBigUint64(shdr(symbols, 3) + 24, BigInt(symbols.length - 73), true);
    sv.setBigUint64(shdr(symbols, 3) + 32, 73n, true);
    expect(() => parseElf(symbols)).toThrow(/symbol table of 73 bytes is not a whole number of 24-byte symbols/);
    const relocations = buildObject(false);
    const rv = new DataView(relocations.buffer);
    rv.setBigUint64(Number(rv.getBigUint64(40, false)) + 2 * 64 + 24, BigInt(relocations.length - 20), false);
    rv.setBigUint64(Number(rv.getBigUint64(40, false)) + 2 * 64 + 32, 20n, false);
    expect(() => parseElf(relocations)).toThrow(/'.rel.text': 20 bytes is not a whole number of 16-byte relocations/);
  });

  it('survives random corruption with ParseError only', () => {
    const base = buildObject();
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let round = 0; round < 2000; round++) {
      const b = base.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        parseElf(b);
      } catch (err) {
        expect(err).toBeInstanceOf(ParseError);
      }
    }
  });
});
