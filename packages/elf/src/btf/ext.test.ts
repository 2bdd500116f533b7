import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { parseElf } from '../elf/parse.js';
import { BtfBuilder } from './build.js';
import { parseBtfExt } from './ext.js';
import { BtfKind } from './kinds.js';
import { parseBtf } from './parse.js';

// testdata/core.bpf.c compiled by `pnpm testdata` into both byte orders.
const testdata = path.resolve(import.meta.dirname, '..', '..', 'testdata');
const source = fs.readFileSync(path.join(testdata, 'core.bpf.c'), 'utf8').split('\n');

function load(file: string) {
  const elf = parseElf(new Uint8Array(fs.readFileSync(path.join(testdata, file))));
  const btf = parseBtf(elf.data(elf.section('.BTF')!));
  return { elf, btf, ext: parseBtfExt(elf.data(elf.section('.BTF.ext')!), btf) };
}

describe('.BTF.ext of the clang objects', () => {
  for (const [file, littleEndian] of [
    ['core.bpf.o', true],
    ['core.bpf.eb.o', false],
  ] as const) {
    it(`has a func_info at every function of every code section (${file})`, () => {
      const { elf, btf, ext } = load(file);
      expect(ext.littleEndian).toBe(littleEndian);
      expect(ext.version).toBe(1);
      expect(ext.recordSizes).toEqual({ funcInfo: 8, lineInfo: 16, coreRelo: 16 });
      expect(Object.keys(ext.sections).sort()).toEqual(['.text', 'tc', 'xdp']);
      // Cross-check with the symbol table: one record per function, at the symbol's offset, naming its FUNC type.
      for (const [name, records] of Object.entries(ext.sections)) {
        const section = elf.section(name)!;
        const funcs = elf.symbols.filter((s) => s.section === section.index && s.type === 2).map((s) => [Number(s.value), s.name]);
        const described = records.funcInfo.map((f) => {
          expect(btf.type(f.typeId)!.kind).toBe(BtfKind.FUNC);
          return [f.insnOff, btf.type(f.typeId)!.name];
        });
        expect(described.sort()).toEqual(funcs.sort());
      }
      expect(ext.sections.xdp!.funcInfo.map((f) => btf.type(f.typeId)!.name)).toEqual(['core_fields', 'core_types']);
    });

    it(`resolves line records to the source lines they name (${file})`, () => {
      const { elf, ext } = load(file);
      let count = 0;
      for (const [name, records] of Object.entries(ext.sections)) {
        const size = elf.section(name)!.size;
        for (const l of records.lineInfo) {
          expect(l.fileName).toBe('./packages/elf/testdata/core.bpf.c');
          expect(l.lineNumber).toBe(l.lineCol >>> 10);
          expect(l.column).toBe(l.lineCol & 0x3ff);
          // The text clang recorded is the source file's line of that number.
          expect(l.line).toBe(source[l.lineNumber - 1]);
          expect(l.insnOff % 8).toBe(0);
          expect(l.insnOff).toBeLessThan(size);
          count++;
        }
      }
      expect(count).toBeGreaterThan(40);
      const first = ext.sections['.text']!.lineInfo[0]!;
      expect(first).toMatchObject({ insnOff: 0, column: 0, line: expect.stringContaining('parent_tgid(struct task_struct *task)') });
    });

    it(`lists the CO-RE relocations of every kind (${file})`, () => {
      const { btf, ext } = load(file);
      const all = Object.values(ext.sections).flatMap((s) => s.coreRelos);
      expect([...new Set(all.map((r) => r.kind))].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      for (const r of all) {
        expect(btf.string(r.accessStringOff)).toBe(r.accessString);
        expect(r.accessString).toMatch(/^\d+(:\d+)*$/);
      }
      // core_fields' first statement: bpf_core_field_offset(task->pid), member 0 of the local task_struct.
      const first = ext.sections.xdp!.coreRelos[0]!;
      expect({ ...first, type: btf.type(first.typeId)!.name }).toMatchObject({
        insnOff: 16,
        type: 'task_struct',
        accessString: '0:0',
        kind: 0,
      });
      // The subprogram's two reads: real_parent (member 2), then tgid (member 1).
      expect(ext.sections['.text']!.coreRelos.map((r) => [btf.type(r.typeId)!.name, r.accessString, r.kind])).toEqual([
        ['task_struct', '0:2', 0],
        ['task_struct', '0:1', 0],
      ]);
      expect(ext.sections.tc!.coreRelos.map((r) => btf.type(r.typeId)!.name)).toContain('task_struct___wide');
    });
  }

  it('reads the same records in both byte orders (code differs, so offsets may)', () => {
    const le = load('core.bpf.o').ext;
    const be = load('core.bpf.eb.o').ext;
    const shape = (ext: typeof le) =>
      Object.entries(ext.sections).map(([name, s]) => [
        name,
        s.funcInfo.map((f) => f.typeId),
        s.coreRelos.map((r) => [r.typeId, r.accessString, r.kind]),
        [...new Set(s.lineInfo.map((l) => l.lineNumber))],
      ]);
    expect(shape(be)).toEqual(shape(le));
    expect(be.sections['.text']).toEqual(le.sections['.text']);
  });
});

/** A .BTF.ext blob by hand: header of `hdrLen` bytes, then blocks of `[recSize, [section, records[][]]…]`. */
function blob(options: {
  littleEndian?: boolean;
  hdrLen?: number;
  func?: [number, [number, number[][]][]];
  line?: [number, [number, number[][]][]];
  core?: [number, [number, number[][]][]];
}): Uint8Array {
  const le = options.littleEndian ?? true;
  const hdrLen = options.hdrLen ?? 32;
  const blocks: number[][] = [];
  for (const b of [options.func, options.line, options.core]) {
    if (!b) {
      blocks.push([]);
      continue;
    }
    const [recSize, sections] = b;
    const words = [recSize];
    for (const [name, records] of sections) {
      words.push(name, records.length);
      for (const r of records) words.push(...r, ...new Array<number>(recSize / 4 - r.length).fill(0xeeeeeeee));
    }
    blocks.push(words);
  }
  const total = blocks.reduce((n, w) => n + w.length * 4, 0);
  const out = new Uint8Array(hdrLen + total);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xeb9f, le);
  view.setUint8(2, 1);
  view.setUint32(4, hdrLen, le);
  let off = 0;
  let p = hdrLen;
  blocks.forEach((words, i) => {
    if (8 + i * 8 + 8 <= hdrLen) {
      view.setUint32(8 + i * 8, off, le);
      view.setUint32(12 + i * 8, words.length * 4, le);
    }
    for (const w of words) {
      view.setUint32(p, w, le);
      p += 4;
    }
    off += words.length * 4;
  });
  return out;
}

describe('parseBtfExt', () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true);
  const proto = b.addFuncProto(int, []);
  const fn = b.addFunc('main', proto);
  b.addStruct('s', 4, [['f', int, 0]]);
  b.addVar('file.c', int); // puts these strings in the string section
  b.addVar('  return 0;', int);
  b.addVar('0:0', int);
  b.addVar('xdp', int);
  const btfBytes = b.encode();
  const btf = parseBtf(btfBytes);
  const off = (s: string) => {
    const at = Buffer.from(btf.strings).indexOf(Buffer.from(`${s}\0`));
    expect(at).toBeGreaterThan(0);
    return at;
  };
  const [xdp, file, line, access] = [off('xdp'), off('file.c'), off('  return 0;'), off('0:0')];

  for (const le of [true, false]) {
    it(`steps over records larger than it knows (${le ? 'little' : 'big'}-endian)`, () => {
      const ext = parseBtfExt(
        blob({
          littleEndian: le,
          func: [
            12,
            [
              [
                xdp,
                [
                  [0, fn],
                  [64, fn],
                ],
              ],
            ],
          ],
          line: [24, [[xdp, [[8, file, line, (7 << 10) | 3]]]]],
          core: [20, [[xdp, [[16, 4, access, 2]]]]],
        }),
        btf,
      );
      expect(ext.littleEndian).toBe(le);
      expect(ext.recordSizes).toEqual({ funcInfo: 12, lineInfo: 24, coreRelo: 20 });
      expect(ext.sections.xdp).toEqual({
        funcInfo: [
          { insnOff: 0, typeId: fn },
          { insnOff: 64, typeId: fn },
        ],
        lineInfo: [
          {
            insnOff: 8,
            fileNameOff: file,
            lineOff: line,
            lineCol: (7 << 10) | 3,
            fileName: 'file.c',
            line: '  return 0;',
            lineNumber: 7,
            column: 3,
          },
        ],
        coreRelos: [{ insnOff: 16, typeId: 4, accessStringOff: access, accessString: '0:0', kind: 2 }],
      });
    });
  }

  it('reads a 24-byte header (before CO-RE relocations existed) and absent blocks', () => {
    const ext = parseBtfExt(blob({ hdrLen: 24, func: [8, [[xdp, [[0, fn]]]]] }), btf);
    expect(ext.sections.xdp).toEqual({ funcInfo: [{ insnOff: 0, typeId: fn }], lineInfo: [], coreRelos: [] });
    expect(ext.recordSizes).toEqual({ funcInfo: 8, lineInfo: 0, coreRelo: 0 });
  });

  it('keeps a section named __proto__ as data', () => {
    const c = new BtfBuilder();
    c.addVar('__proto__', c.addInt('int', 4, true));
    const pb = parseBtf(c.encode());
    const name = Buffer.from(pb.strings).indexOf(Buffer.from('__proto__\0'));
    const ext = parseBtfExt(blob({ func: [8, [[name, [[0, 1]]]]] }), pb);
    expect(Object.hasOwn(ext.sections, '__proto__')).toBe(true);
    // An own property named __proto__, read as any other key (not the prototype accessor).
    expect(Object.getOwnPropertyDescriptor(ext.sections, '__proto__')?.value.funcInfo).toEqual([{ insnOff: 0, typeId: 1 }]);
    expect(Object.getPrototypeOf(ext.sections)).toBe(Object.prototype);
  });

  it('refuses malformed sections with ParseError naming the problem', () => {
    const good = () => blob({ func: [8, [[xdp, [[0, fn]]]]] });
    const expectError = (bytes: Uint8Array, message: RegExp) => {
      const err = (() => {
        try {
          parseBtfExt(bytes, btf);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ParseError);
      expect((err as Error).message).toMatch(message);
    };
    expectError(new Uint8Array(4), /shorter than its header/);
    expect(() => parseBtfExt(good(), undefined as never)).toThrow(/btf: expected the object's parsed .BTF/);
    const magic = good();
    magic[0] = 0;
    expectError(magic, /bad magic/);
    const version = good();
    version[2] = 2;
    expectError(version, /unsupported version 2/);
    const hdr = good();
    new DataView(hdr.buffer).setUint32(4, 4096, true);
    expectError(hdr, /header length 4096/);
    const unaligned = good();
    new DataView(unaligned.buffer).setUint32(8, 2, true);
    expectError(unaligned, /not 4-byte aligned/);
    const long = good();
    new DataView(long.buffer).setUint32(12, 4096, true);
    expectError(long, /runs past/);
    expectError(blob({ func: [4, [[xdp, [[0]]]]] }), /record size 4 is invalid/);
    expectError(blob({ func: [10, []] }), /record size 10 is invalid/);
    const count = good();
    new DataView(count.buffer).setUint32(32 + 8, 1000, true); // num_info
    expectError(count, /1000 records of 8 bytes exceed/);
    expectError(blob({ func: [8, [[99999, [[0, fn]]]]] }), /section name.*string offset 99999/);
    expectError(blob({ line: [16, [[xdp, [[0, file, 88888, 0]]]]] }), /line_info line.*88888/);
  });

  it('gives ParseError or a result for random mutations, never anything else', () => {
    const { elf } = load('core.bpf.o');
    const objBtf = parseBtf(elf.data(elf.section('.BTF')!));
    const base = elf.data(elf.section('.BTF.ext')!);
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    let parsed = 0;
    for (let round = 0; round < 3000; round++) {
      const m = base.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++)
        m[Math.floor(rand() * Math.min(m.length, round % 2 ? 64 : m.length))] = Math.floor(rand() * 256);
      try {
        parseBtfExt(m, objBtf);
        parsed++;
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
