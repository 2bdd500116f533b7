import { ProgramType } from '@bpfkit/core';
import { attachProgram, loadKernelProgram } from '@bpfkit/attach';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { runCli } from './main.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const RET_0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit

whenKernel('program:raw_tracepoint').it(
  'raw: bpfkit link list shows a raw tracepoint link with its program, as a table and as JSON',
  async () => {
    using prog = loadKernelProgram({ name: 'cli_link', type: ProgramType.RAW_TRACEPOINT, instructions: RET_0, license: 'GPL' });
    using link = attachProgram(prog, { kind: 'raw_tracepoint', name: 'sched_switch' });
    const { id } = link.info();
    const progId = prog.info().id;
    const table = await cli('link', 'list');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^id\s+type\s+prog\s+attached to$/m);
    expect(table.out).toMatch(new RegExp(`^${id}\\s+raw_tracepoint\\s+${progId}\\s+.*tpNameLen=13`, 'm'));
    const asJson = await cli('link', 'list', '--json');
    const mine = (JSON.parse(asJson.out) as { id: number; kind: string; progId: number }[]).find((l) => l.id === id);
    expect(mine).toMatchObject({ kind: 'raw_tracepoint', progId });
    const bad = await cli('link', 'nonsense');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/link command: expected 'list'/);
  },
);
