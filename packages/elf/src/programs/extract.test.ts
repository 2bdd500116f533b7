import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { parseElf } from '../elf/parse.js';
import { parseBtf } from '../btf/parse.js';
import { parseBtfExt } from '../btf/ext.js';
import type { BtfExt } from '../btf/ext.js';
import { programsFromElf } from './extract.js';

const testdata = path.resolve(import.meta.dirname, '..', '..', 'testdata');

function load(file: string) {
  const elf = parseElf(new Uint8Array(fs.readFileSync(path.join(testdata, file))));
  const btf = parseBtf(elf.data(elf.section('.BTF')!));
  const ext = parseBtfExt(elf.data(elf.section('.BTF.ext')!), btf);
  const symbol = (name: string) => elf.symbols.find((s) => s.name === name)!;
  return { elf, btf, ext, slots: (name: string) => Number(symbol(name).size) / 8, start: (name: string) => Number(symbol(name).value) / 8 };
}

describe('programs with .BTF.ext', () => {
  for (const file of ['core.bpf.o', 'core.bpf.eb.o']) {
    it(`gives each program its func_info, sorted, from 0, subprograms where they were appended (${file})`, () => {
      const { elf, btf, slots } = load(file);
      const programs = programsFromElf(elf, btf);
      const funcs = (name: string) => programs[name]!.funcInfo.map((f) => [f.insnOff, btf.type(f.typeId)!.name]);
      // parent_tgid is appended after each caller's own instructions.
      expect(funcs('core_fields')).toEqual([
        [0, 'core_fields'],
        [slots('core_fields'), 'parent_tgid'],
      ]);
      expect(funcs('core_types')).toEqual([[0, 'core_types']]);
      expect(funcs('core_direct')).toEqual([
        [0, 'core_direct'],
        [slots('core_direct'), 'parent_tgid'],
      ]);
      for (const p of Object.values(programs)) {
        expect(p.instructions.byteLength / 8).toBe(slots(p.name) + (p.funcInfo.length > 1 ? slots('parent_tgid') : 0));
      }
    });

    it(`moves line records and CO-RE relocations to the linked program's slots (${file})`, () => {
      const { elf, btf, ext, slots, start } = load(file);
      const programs = programsFromElf(elf, btf);
      const inSection = (section: string, from: number, count: number) => ({
        lines: ext.sections[section]!.lineInfo.filter((l) => l.insnOff / 8 >= from && l.insnOff / 8 < from + count),
        relos: ext.sections[section]!.coreRelos.filter((r) => r.insnOff / 8 >= from && r.insnOff / 8 < from + count),
      });
      // core_types starts after core_fields in the xdp section: its records move down by that much.
      const types = programs.core_types!;
      const own = inSection('xdp', start('core_types'), slots('core_types'));
      expect(start('core_types')).toBeGreaterThan(0);
      expect(types.coreRelocations).toEqual(
        own.relos.map((r) => ({
          index: r.insnOff / 8 - start('core_types'),
          typeId: r.typeId,
          accessString: r.accessString,
          accessStringOff: r.accessStringOff,
          kind: r.kind,
        })),
      );
      expect(types.lineInfo.map((l) => [l.insnOff, l.lineCol, l.line])).toEqual(
        own.lines.map((l) => [l.insnOff / 8 - start('core_types'), l.lineCol, l.line]),
      );

      // core_direct: its own records, then the subprogram's from .text, shifted by core_direct's length.
      const direct = programs.core_direct!;
      const mine = inSection('tc', 0, slots('core_direct'));
      const sub = inSection('.text', 0, slots('parent_tgid'));
      expect(direct.coreRelocations.map((r) => [r.index, r.accessString])).toEqual([
        ...mine.relos.map((r) => [r.insnOff / 8, r.accessString]),
        ...sub.relos.map((r) => [r.insnOff / 8 + slots('core_direct'), r.accessString]),
      ]);
      expect(direct.lineInfo.map((l) => l.insnOff)).toEqual([
        ...mine.lines.map((l) => l.insnOff / 8),
        ...sub.lines.map((l) => l.insnOff / 8 + slots('core_direct')),
      ]);
      for (const p of Object.values(programs)) {
        const at = p.lineInfo.map((l) => l.insnOff);
        expect(at).toEqual([...at].sort((a, b) => a - b));
        expect(at[0]).toBe(0);
        expect(Math.max(...at)).toBeLessThan(p.instructions.byteLength / 8);
        for (const l of p.lineInfo) expect(btf.string(l.lineOff)).toBe(l.line);
        for (const l of p.lineInfo) expect(btf.string(l.fileNameOff)).toBe(l.fileName);
      }
      // A relocated slot holds an instruction CO-RE can patch: ALU with immediate, a load/store, or lddw.
      for (const p of Object.values(programs)) {
        for (const r of p.coreRelocations) {
          const code = p.instructions[r.index * 8]!;
          expect([0x00, 0x01, 0x02, 0x03, 0x04, 0x07]).toContain(code & 7);
        }
      }
    });
  }

  it('keeps the old call shape without BTF information, and takes .BTF.ext given or parsed', () => {
    const { elf, btf, ext } = load('core.bpf.o');
    const plain = programsFromElf(elf);
    for (const p of Object.values(plain)) expect([p.funcInfo, p.lineInfo, p.coreRelocations]).toEqual([[], [], []]);
    const given = programsFromElf(elf, btf, ext);
    const parsed = programsFromElf(elf, btf);
    expect(given).toEqual(parsed);
    expect(given.core_fields!.instructions).toEqual(plain.core_fields!.instructions);
    expect(given.core_fields!.references).toEqual(plain.core_fields!.references);
  });

  it('links func_info of the objects without CO-RE too (basics.bpf.o)', () => {
    const { elf, btf, slots } = load('basics.bpf.o');
    const programs = programsFromElf(elf, btf);
    expect(programs.count_packets!.funcInfo.map((f) => [f.insnOff, btf.type(f.typeId)!.name])).toEqual([
      [0, 'count_packets'],
      [slots('count_packets'), 'add_one'],
    ]);
    expect(programs.count_packets!.coreRelocations).toEqual([]);
  });

  it('refuses func_info the kernel would refuse: missing for a function, or not at its start', () => {
    const { elf, btf, ext } = load('core.bpf.o');
    const edited = (edit: (e: BtfExt) => void): BtfExt => {
      const copy = structuredClone(ext);
      edit(copy);
      return copy;
    };
    const noSub = edited((e) => {
      e.sections['.text']!.funcInfo = [];
    });
    expect(() => programsFromElf(elf, btf, noSub)).toThrow(/function 'parent_tgid' has no func_info while others have/);
    const noMain = edited((e) => {
      e.sections.tc!.funcInfo = [];
    });
    expect(() => programsFromElf(elf, btf, noMain)).toThrow(ParseError);
    const moved = edited((e) => {
      e.sections['.text']!.funcInfo[0]!.insnOff = 8;
    });
    expect(() => programsFromElf(elf, btf, moved)).toThrow(/not at its start/);
    const odd = edited((e) => {
      e.sections['.text']!.lineInfo[1]!.insnOff = 13;
    });
    expect(() => programsFromElf(elf, btf, odd)).toThrow(/not an instruction boundary/);
    // Without any func_info the program simply has none.
    const none = edited((e) => {
      for (const s of Object.values(e.sections)) s.funcInfo = [];
    });
    expect(programsFromElf(elf, btf, none).core_direct!.funcInfo).toEqual([]);
  });
});
