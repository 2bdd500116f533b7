import fs from 'node:fs';
import path from 'node:path';
import { parseElf, readObject } from '@bpfkit/elf';
import { UserRingBuffer } from '@bpfkit/perf';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../collection.js';

// testdata/callbacks.bpf.c: a program per helper that takes a callback, a hidden global
// function that needs its caller's context, and a plain program beside them.
const file = path.resolve(import.meta.dirname, '../../testdata/callbacks.bpf.o');
const bytes = () => new Uint8Array(fs.readFileSync(file));
const packet = new Uint8Array(64);
const u64 = (b: Uint8Array | undefined) => (b ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : undefined);
const key = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);
const RESULT = { loop: 0, forEach: 1, timer: 2, findVma: 3, userRing: 4, hidden: 5, plain: 6 } as const;

describe('reading callbacks', () => {
  it('turns the address of a static function into a BPF_PSEUDO_FUNC load of it, appended to the program', () => {
    const spec = readObject(bytes());
    expect(Object.keys(spec.programs).sort()).toEqual(['drain', 'find_vma', 'for_each', 'hidden_global', 'loops', 'plain', 'timer']);
    expect(spec.warnings).toEqual([]);
    for (const name of ['loops', 'for_each', 'timer', 'find_vma', 'drain']) {
      const { instructions } = spec.programs[name]!;
      const view = new DataView(instructions.buffer, instructions.byteOffset, instructions.byteLength);
      // lddw with src_reg BPF_PSEUDO_FUNC (4), by slot.
      const funcLoads: number[] = [];
      for (let slot = 0; slot < instructions.length / 8; slot++) {
        if (instructions[slot * 8] === 0x18 && instructions[slot * 8 + 1]! >> 4 === 4) funcLoads.push(slot);
      }
      expect(funcLoads.length, name).toBe(1);
      // imm counts from the next instruction to the callback, which starts past the program's own code.
      const at = funcLoads[0]!;
      const target = at + view.getInt32(at * 8 + 4, true) + 1;
      expect(target, name).toBeGreaterThan(at);
      expect(target, name).toBeLessThan(instructions.length / 8);
      expect(
        spec.programs[name]!.funcInfo.map((f) => f.insnOff),
        name,
      ).toContain(target);
    }
  });

  it('leaves out only the program it cannot link, with a warning, and reads the others', () => {
    // Point the callback address of 'loops' at byte 3 of .text: not an instruction boundary.
    const bytes = new Uint8Array(fs.readFileSync(file));
    const elf = parseElf(bytes);
    const xdp = elf.section('xdp')!;
    const at = Number(xdp.offset) + 5 * 8 + 4; // loops: instruction 5 is `r2 = <add_index> ll`
    expect(bytes[Number(xdp.offset) + 5 * 8]).toBe(0x18);
    new DataView(bytes.buffer).setInt32(at, 3, true);
    const spec = readObject(bytes);
    expect(Object.keys(spec.programs).sort()).toEqual(['drain', 'find_vma', 'for_each', 'hidden_global', 'plain', 'timer']);
    expect(spec.warnings).toEqual([
      "program 'loops' (section 'xdp') is left out: ELF: program 'loops': instruction 5 of 'loops' takes the address of byte 3 of section '.text', which is not an instruction boundary",
    ]);
  });

  it('takes each load its own constants and leaves the spec as it was', () => {
    // callbacks.bpf.o has no constants: the copy is a new spec all the same.
    const spec = readObject(bytes());
    const copy = spec.withConstants({});
    expect(copy).not.toBe(spec);
    expect(copy.programs).toBe(spec.programs);
  });
});

whenKernel('program:xdp', 'map:user_ringbuf').describe('callbacks on the kernel', () => {
  it('loads every program and each callback runs: bpf_loop, bpf_for_each_map_elem, timers, user ring buffer drains', async () => {
    using coll = loadCollection(file);
    expect(coll.warnings).toEqual([]);
    const results = coll.maps.results!;
    const result = (slot: number) => u64(results.lookup(key(slot)) as Uint8Array);

    coll.programs.loops!.testRun({ data: packet });
    expect(result(RESULT.loop)).toBe(45n); // 0 + 1 + … + 9

    const values = coll.maps.values!;
    for (let i = 0; i < 4; i++) values.update(key(i), new Uint8Array(new BigUint64Array([BigInt(i + 1)]).buffer));
    coll.programs.for_each!.testRun({ data: packet });
    expect(result(RESULT.forEach)).toBe(10n);

    coll.programs.timer!.testRun({ data: packet });
    const deadline = Date.now() + 2000;
    while (result(RESULT.timer) === 0n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(result(RESULT.timer)).toBe(1n);

    using producer = UserRingBuffer.open(coll.maps.user_rb!.fd);
    for (let i = 0; i < 3; i++) producer.write(new Uint8Array(8));
    coll.programs.drain!.testRun({ data: packet });
    expect(result(RESULT.userRing)).toBe(3n);

    coll.programs.plain!.testRun({ data: packet });
    expect(result(RESULT.plain)).toBe(1n);
  });

  it("loads the other programs of an object one of whose programs cannot be linked, and says so in the collection's warnings", () => {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const xdp = parseElf(bytes).section('xdp')!;
    new DataView(bytes.buffer).setInt32(Number(xdp.offset) + 5 * 8 + 4, 3, true);
    using coll = loadCollection(bytes);
    expect(coll.warnings).toEqual([expect.stringMatching(/^program 'loops' \(section 'xdp'\) is left out: /)]);
    expect(coll.programs.loops).toBeUndefined();
    coll.programs.plain!.testRun({ data: packet });
    expect(u64(coll.maps.results!.lookup(key(RESULT.plain)) as Uint8Array)).toBe(1n);
  });

  it('loads a hidden global function checked in its caller context, as libbpf marks it static', () => {
    using coll = loadCollection(file, { programs: ['hidden_global'] });
    coll.programs.hidden_global!.testRun({ data: packet });
    expect(u64(coll.maps.results!.lookup(key(RESULT.hidden)) as Uint8Array)).toBe(42n);
  });

  it('bpf_find_vma finds the vma of an address of this process', () => {
    using coll = loadCollection(file, { programs: ['find_vma'] });
    // The first mapping of this process: the raw tracepoint's first argument.
    const start = BigInt(`0x${fs.readFileSync('/proc/self/maps', 'utf8').split('-')[0]}`);
    const context = new Uint8Array(new BigUint64Array([start]).buffer);
    coll.programs.find_vma!.testRun({ context });
    expect(u64(coll.maps.results!.lookup(key(RESULT.findVma)) as Uint8Array)).toBe(1n);
  });
});
