import fs from 'node:fs';
import path from 'node:path';
import { MapFlags, MapType, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { parseBtf } from './btf/parse.js';
import { disassemble } from './asm/disasm.js';
import { parseElf } from './elf/parse.js';
import { mapsFromBtf } from './maps/btf-maps.js';
import { globalData, rewriteConstants } from './maps/global-data.js';
import { sectionInfo } from './programs/sections.js';

// Objects built by `pnpm testdata` from testdata/basics.bpf.c with clang, committed.
const testdata = path.resolve(import.meta.dirname, '..', 'testdata');

for (const [file, littleEndian] of [
  ['basics.bpf.o', true],
  ['basics.bpf.eb.o', false],
] as const) {
  describe(`clang object ${file}`, () => {
    const elf = parseElf(new Uint8Array(fs.readFileSync(path.join(testdata, file))));
    const btf = parseBtf(elf.data(elf.section('.BTF')!));

    it('is read in its byte order with its program sections', () => {
      expect(elf.littleEndian).toBe(littleEndian);
      expect(btf.littleEndian).toBe(littleEndian);
      const programs = elf.sections.filter((s) => sectionInfo(s.name)).map((s) => [s.name, sectionInfo(s.name)!.programType]);
      expect(programs).toEqual([
        ['xdp', ProgramType.XDP],
        ['tracepoint/syscalls/sys_enter_openat', ProgramType.TRACEPOINT],
      ]);
      expect(new TextDecoder().decode(elf.data(elf.section('license')!))).toBe('GPL\0');
      const funcs = elf.symbols
        .filter((s) => s.type === 2)
        .map((s) => s.name)
        .sort();
      expect(funcs).toEqual(['add_one', 'count_packets', 'trace_openat']);
    });

    it('has its BTF map definitions', () => {
      const maps = mapsFromBtf(btf);
      expect(maps.flows).toMatchObject({
        type: MapType.HASH,
        keySize: 12,
        valueSize: 8,
        maxEntries: 1024,
        flags: MapFlags.NO_PREALLOC,
        pinning: 'by-name',
      });
      expect(maps.events).toMatchObject({ type: MapType.RINGBUF, maxEntries: 65536 });
      expect(maps.outer).toMatchObject({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4 });
      expect(maps.outer!.innerMap).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    });

    it('has its globals, and constants can be rewritten', () => {
      const g = globalData(elf, btf);
      expect(Object.keys(g).sort()).toEqual(['.bss', '.data', '.rodata']);
      expect(g['.rodata']!.variables.map((v) => v.name).sort()).toEqual(['delta', 'target_pid']);
      rewriteConstants(g, { target_pid: 4242 }, btf, elf.littleEndian);
      const v = g['.rodata']!.variables.find((x) => x.name === 'target_pid')!;
      const dv = new DataView(g['.rodata']!.contents.buffer, v.offset, 4);
      expect(dv.getUint32(0, littleEndian)).toBe(4242);
    });

    it('disassembles its programs', () => {
      const text = disassemble(elf.data(elf.section('xdp')!), elf.littleEndian).join('\n');
      expect(text).toMatch(/call bpf_map_lookup_elem#1/);
      expect(text).toMatch(/exit/);
      expect(elf.relocations(elf.section('xdp')!.index).length).toBeGreaterThanOrEqual(3);
    });
  });
}

describe('hostile objects', () => {
  it('random mutations of the clang objects give ParseError or a result, never anything else', async () => {
    const { ParseError } = await import('./errors.js');
    const { BtfKind } = await import('./btf/kinds.js');
    const base = new Uint8Array(fs.readFileSync(path.join(testdata, 'basics.bpf.o')));
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const started = performance.now();
    for (let round = 0; round < 1500 && performance.now() - started < 20_000; round++) {
      const b = base.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        const elf = parseElf(b);
        const btfSection = elf.section('.BTF');
        if (btfSection) {
          const btf = parseBtf(elf.data(btfSection));
          mapsFromBtf(btf);
          globalData(elf, btf);
          btf.find('flows', BtfKind.VAR);
        }
        const { programsFromElf } = await import('./programs/extract.js');
        programsFromElf(elf);
        for (const s of elf.sections) if (sectionInfo(s.name) && s.size % 8 === 0) disassemble(elf.data(s), elf.littleEndian);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }
  });
});

describe('programs of the clang objects', () => {
  for (const [file, littleEndian] of [
    ['basics.bpf.o', true],
    ['basics.bpf.eb.o', false],
  ] as const) {
    it(`links subprograms and marks map and global loads (${file})`, async () => {
      const { programsFromElf } = await import('./programs/extract.js');
      const { decodeInstructions } = await import('./asm/instruction.js');
      const elf = parseElf(new Uint8Array(fs.readFileSync(path.join(testdata, file))));
      const programs = programsFromElf(elf);
      expect(Object.keys(programs).sort()).toEqual(['count_packets', 'trace_openat']);
      const xdp = programs.count_packets!;
      expect(xdp).toMatchObject({ type: ProgramType.XDP, license: 'GPL', section: 'xdp' });
      const refs = xdp.references.map((r) => `${r.kind}:${r.target}`).sort();
      expect(refs).toEqual(expect.arrayContaining(['map:flows', 'map_value:.bss', 'map_value:.rodata']));
      // The subprogram add_one is appended and the call points at it.
      const textFn = elf.symbols.find((s) => s.name === 'add_one')!;
      const own = Number(elf.symbols.find((s) => s.name === 'count_packets')!.size) / 8;
      expect(xdp.instructions.byteLength / 8).toBe(own + Number(textFn.size) / 8);
      const insns = decodeInstructions(xdp.instructions, littleEndian);
      let slot = 0;
      const calls: number[] = [];
      const loads = new Map<number, number>(); // lddw slot → src_reg
      for (const insn of insns) {
        if (insn.opcode === 0x85 && insn.src === 1) calls.push(slot + insn.imm + 1);
        if (insn.opcode === 0x18) loads.set(slot, insn.src);
        slot += insn.opcode === 0x18 ? 2 : 1;
      }
      expect(calls).toEqual([own]);
      // Every reference sits on an lddw marked map fd (1) or map value (2).
      for (const r of xdp.references) expect(loads.get(r.index)).toBe(r.kind === 'map' ? 1 : 2);
      expect(xdp.references).toHaveLength(loads.size);
      const tp = programs.trace_openat!;
      expect(tp).toMatchObject({ type: ProgramType.TRACEPOINT, attachTo: 'syscalls/sys_enter_openat' });
      expect(tp.references.map((r) => `${r.kind}:${r.target}`)).toEqual(expect.arrayContaining(['map:events', 'map_value:.data']));
    });
  }
});
