import fs from 'node:fs';
import path from 'node:path';
import { MapType, ProgramType } from '@bpfkit/core';
import { loadKernelProgram } from '@bpfkit/attach';
import { createKernelMap } from '@bpfkit/maps';
import { mountPrivateBpffs } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { runCli } from './main.js';
import { dumpLines } from './prog.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Little-endian instruction slots `[code, dst, src, off, imm]`. */
function slots(...list: [number, number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(list.length * 8);
  const v = new DataView(out.buffer);
  list.forEach(([code, dst, src, off, imm], i) => {
    out[i * 8] = code;
    out[i * 8 + 1] = (src << 4) | dst;
    v.setInt16(i * 8 + 2, off, true);
    v.setInt32(i * 8 + 4, imm, true);
  });
  return out;
}

const object = path.resolve(import.meta.dirname, '../../../elf/testdata/basics.bpf.o');
const RET_42 = Uint8Array.of(0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 42; exit

describe('bpfkit prog (no kernel)', () => {
  it('disassembles translated code: map ids, kernel calls, subprogram calls, kernel-internal instructions', () => {
    const code = slots(
      [0x18, 1, 1, 0, 77],
      [0, 0, 0, 0, 0], // r1 = map[id:77]
      [0x18, 2, 2, 0, 78],
      [0, 0, 0, 0, 12], // r2 = map_value[id:78]+12
      [0x85, 0, 0, 0, 4096], // helper call: offset from __bpf_call_base
      [0x85, 0, 0, 0, 999], // unresolvable
      [0x85, 0, 1, 2, 1], // subprogram call: the target is in off once JITed
      [0xbf, 3, 4, -1, 0], // per-CPU address (kernel-internal)
      [0x0e, 0, 0, 0, 0], // no such opcode
      [0x95, 0, 0, 0, 0],
    );
    const symbols = (imm: number) => (imm === 4096 ? 'htab_map_lookup_elem' : undefined);
    expect(dumpLines(code, [], symbols).map((l) => `${l.pc}: (${l.code}) ${l.text}`)).toEqual([
      '0: (18) r1 = map[id:77] ll',
      '2: (18) r2 = map_value[id:78]+12 ll',
      '4: (85) call htab_map_lookup_elem#4096',
      '5: (85) call unknown#999',
      '6: (85) call pc+2',
      '7: (bf) r3 = &(void __percpu *)(r4)',
      '8: (0e) <kernel-internal: code 0xe dst r0 src r0 off 0 imm 0>',
      '9: (95) exit',
    ]);
  });

  it('explains bad subcommands and references with exit code 1', async () => {
    const bad = await cli('prog', 'frobnicate');
    expect([bad.code, bad.err]).toEqual([
      1,
      'bpfkit prog: prog command: expected one of list, show, dump, attach, got the string "frobnicate"',
    ]);
    expect((await cli('prog', 'show')).err).toMatch(/program: expected a program id or a pin path, got undefined/);
    const name = await cli('prog', 'dump', 'count_packets');
    expect(name.code).toBe(1);
    expect(name.err).toMatch(/a program id \(digits\) or an absolute pin path, got the string "count_packets"/);
    expect((await cli('prog', '--help')).out).toMatch(/^usage: bpfkit prog list \[--json\]/);
  });
});

whenKernel().describe('bpfkit prog on the kernel', () => {
  it('lists, shows and dumps a program by id and by pin path', async () => {
    using fsys = mountPrivateBpffs();
    using prog = loadKernelProgram({ name: 'cli_prog', type: ProgramType.SOCKET_FILTER, instructions: RET_42, license: 'GPL' });
    const pin = path.join(fsys.dir, 'cli_prog');
    prog.pin(pin);
    const { id, tag } = prog.info();

    const list = JSON.parse((await cli('prog', 'list', '--json')).out) as {
      id: number;
      name: string;
      typeName: string;
      loadedAt: string;
    }[];
    const mine = list.find((p) => p.id === id)!;
    expect(mine).toMatchObject({ name: 'cli_prog', typeName: 'socket_filter' });
    expect(Math.abs(Date.parse(mine.loadedAt) - Date.now())).toBeLessThan(60_000);
    expect((await cli('prog', 'list')).out).toMatch(new RegExp(`^${id}\\s+socket_filter\\s+cli_prog\\s+${tag}\\s+-\\s+16\\s`, 'm'));

    const show = await cli('prog', 'show', pin);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));
    expect(show.out).toMatch(/^type\s+socket_filter \(1\)$/m);
    expect(show.out).toMatch(/^xlated\s+16 bytes$/m);
    expect(show.out).toMatch(/^gpl\s+yes$/m);
    const stats = fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    expect(show.out.includes('not counted: kernel.bpf_stats_enabled is 0')).toBe(stats === '0');
    const shown = JSON.parse((await cli('prog', 'show', String(id), '--json')).out) as Record<string, unknown>;
    expect(shown).toMatchObject({ id, name: 'cli_prog', tag, xlatedSize: 16, mapIds: [], statsEnabled: stats !== '0' });

    const dump = await cli('prog', 'dump', String(id));
    expect(dump.out.split('\n').slice(1)).toEqual(['  0: (b7) r0 = 42', '  1: (95) exit']);
    expect(dump.out.split('\n')[0]).toMatch(new RegExp(`^${id}: socket_filter  name cli_prog  tag ${tag}  xlated 16B`));
    const dumped = JSON.parse((await cli('prog', 'dump', pin, '--json')).out) as { instructions: unknown[] };
    expect(dumped.instructions).toEqual([
      { pc: 0, code: 'b7', text: 'r0 = 42' },
      { pc: 1, code: '95', text: 'exit' },
    ]);
    prog.unpin();
  });

  it('dumps an object program with its maps named, kernel calls resolved and its subprogram call', async () => {
    const { loadCollection } = await import('../collection.js');
    using coll = loadCollection(object, { ignorePinning: true });
    const id = coll.programs.count_packets!.info().id;
    const flows = coll.maps.flows!.info().id;
    const rodata = coll.maps['.rodata']!.info().id;
    const r = await cli('prog', 'dump', String(id));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`r1 = map[id:${flows}] ll  ; flows (hash)`);
    expect(r.out).toContain(`r1 = map_value[id:${rodata}]+4 ll  ; .rodata (array)`);
    // add_one follows the program's exit: the call lands on the instruction after that exit.
    const lines = r.out
      .split('\n')
      .slice(1)
      .map((l) => /^\s+(\d+): \(\w\w\) (.*)$/.exec(l)!);
    const call = lines.find((m) => /^call pc\+\d+$/.test(m[2]!))!;
    const target = Number(call[1]) + Number(/\+(\d+)/.exec(call[2]!)![1]) + 1;
    expect(lines.find((m) => Number(m[1]) === target - 1)?.[2]).toBe('exit');
    const kallsyms = fs.readFileSync('/proc/kallsyms', 'utf8');
    const symbolsVisible = !/^0+ \w __bpf_call_base$/m.test(kallsyms) && /__bpf_call_base$/m.test(kallsyms);
    if (symbolsVisible) expect(r.out).toMatch(/call \S*htab_map_update_elem#-?\d+/);
    else expect(r.out).toMatch(/call unknown#-?\d+/);
  });

  it('refuses unknown ids and pinned maps, leaking no fd', async () => {
    using fsys = mountPrivateBpffs();
    using m = createKernelMap({ name: 'not_a_prog', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    m.pin(path.join(fsys.dir, 'm'));
    const before = fs.readdirSync('/proc/self/fd').length;
    const gone = await cli('prog', 'show', '2147483000');
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^bpfkit prog: program id 2147483000: .*ENOENT/);
    const map = await cli('prog', 'dump', path.join(fsys.dir, 'm'));
    expect(map.code).toBe(1);
    expect(map.err).toMatch(/the object pinned there is not a program but a BPF map/);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
    m.unpin();
  });
});
