import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapType, ProgramType } from '@bpfkit/core';
import { attachProgram, listLinks, loadKernelProgram } from '@bpfkit/attach';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import { closeFd, mapCreate, mapLookupElem, mountPrivateBpffs, mounts } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './main.js';
import { runCli } from './main.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const RET_0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
const LE = os.endianness() === 'LE';
const insn = (opcode: number, f: Partial<InstructionFields> = {}): InstructionFields => ({
  opcode,
  dst: 0,
  src: 0,
  offset: 0,
  imm: 0,
  ...f,
});

/** A program of `type` counting its runs in a one-slot array (`array[0] += 1`), returning `returns`; closed with the result. */
function counter(name: string, type: number = ProgramType.RAW_TRACEPOINT, returns = 0) {
  const map = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, mapName: 'cli_count' });
  try {
    const instructions = encodeInstructions(
      [
        insn(0x18, { dst: 1, src: 1, imm: map }), // r1 = map (BPF_PSEUDO_MAP_FD)
        insn(0x62, { dst: 10, offset: -4 }), // *(u32 *)(r10 - 4) = 0
        insn(0xbf, { dst: 2, src: 10 }),
        insn(0x07, { dst: 2, imm: -4 }),
        insn(0x85, { imm: 1 }), // bpf_map_lookup_elem
        insn(0x15, { dst: 0, offset: 2 }), // if r0 == 0 goto exit
        insn(0xb7, { dst: 1, imm: 1 }),
        insn(0xdb, { dst: 0, src: 1 }), // lock *(u64 *)(r0 + 0) += r1
        insn(0xb7, { imm: returns }),
        insn(0x95),
      ],
      LE,
    );
    const prog = loadKernelProgram({ name, type, instructions, license: 'GPL' });
    const value = new Uint8Array(8);
    return {
      prog,
      read(): bigint {
        mapLookupElem(map, new Uint8Array(4), value);
        return new DataView(value.buffer).getBigUint64(0, LE);
      },
      [Symbol.dispose]() {
        prog.close();
        closeFd(map);
      },
    };
  } catch (err) {
    closeFd(map);
    throw err;
  }
}

const exec = () => expect(spawnSync('/bin/true').status).toBe(0);
/**
 * The counting program no longer runs: five execs of the test's children would run it five times if it
 * were attached; a run another CPU began before the detach may still finish and count, so a few are allowed.
 */
function expectStopped(read: () => bigint): void {
  const before = read();
  for (let i = 0; i < 5; i++) exec();
  expect(read() - before).toBeLessThan(5n);
}
const linkOf = (id: number) => listLinks().find((l) => l.id === id);

describe('bpfkit link and prog attach (no kernel)', () => {
  it('refuses bad subcommands, references and targets in one line, before opening anything', async () => {
    const bad = await cli('link', 'nonsense');
    expect([bad.code, bad.err]).toEqual([
      1,
      'bpfkit link: link command: expected one of list, show, pin, unpin, detach, got the string "nonsense"',
    ]);
    expect((await cli('link', 'show')).err).toBe('bpfkit link: link: expected a link id (digits) or an absolute pin path, got undefined');
    expect((await cli('link', 'detach', 'my_link')).err).toMatch(/a link id \(digits\) or an absolute pin path, got the string "my_link"/);
    expect((await cli('link', 'unpin', '7')).err).toMatch(/link unpin: path: expected the absolute path a link is pinned at/);
    const target = await cli('prog', 'attach', '1', 'raw_tracepoint');
    expect(target.code).toBe(1);
    expect(target.err).toBe(
      'bpfkit prog: attach target: expected raw_tracepoint:<name> (or raw_tp:) (1 field after \'raw_tracepoint:\'), got the string "raw_tracepoint"',
    );
    const unknown = await cli('prog', 'attach', '1', 'hook:x');
    expect(unknown.err).toMatch(
      /^bpfkit prog: attach target: expected <kind>:<details>, one of: xdp:<interface>.*got the string "hook:x"$/,
    );
    expect((await cli('prog', 'attach', '1')).err).toMatch(/prog attach: target: expected a target such as raw_tracepoint:sched_switch/);
  });

  it('lists the commands and the target syntax in its help', async () => {
    const prog = await cli('prog', '--help');
    expect(prog.out).toMatch(/bpfkit prog attach <id\|pin> <target> \[--pin <path>\]/);
    expect(prog.out).toMatch(/^ {2}tracepoint:<group>:<name> \(or tp:\)$/m);
    expect(prog.out).toMatch(/^ {2}uprobe:<binary>:<symbol>/m);
    const link = await cli('link', '--help');
    for (const sub of ['list', 'show', 'pin', 'unpin', 'detach']) expect(link.out).toMatch(new RegExp(`bpfkit link ${sub}\\b`));
  });
});

const raw = whenKernel('program:raw_tracepoint');

raw.it('raw: bpfkit link list shows a raw tracepoint link with its program, as a table and as JSON', async () => {
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
});

raw.it('raw: prog attach --pin pins a running link; link show, pin, detach (refused, with why) and unpin; the counter stops', async () => {
  using c = counter('cli_attach');
  using fsys = mountPrivateBpffs();
  const progPin = path.join(fsys.dir, 'prog');
  const linkPin = path.join(fsys.dir, 'link');
  const secondPin = path.join(fsys.dir, 'link2');
  c.prog.pin(progPin);
  try {
    const attached = await cli('prog', 'attach', progPin, 'raw_tp:sched_process_exec', '--pin', linkPin);
    expect(attached.err).toBe('');
    expect(attached.code).toBe(0);
    const m = /^attached program (\d+) \(cli_attach\) to raw_tp:sched_process_exec: link (\d+), pinned at (.+) \(it stays attached/.exec(
      attached.out,
    );
    expect(m?.[1]).toBe(String(c.prog.info().id));
    expect(m?.[3]).toBe(linkPin);
    const id = Number(m![2]);
    // bpfkit exited the command and closed its handles: the pin keeps the link, and it runs.
    expect(linkOf(id)).toMatchObject({ kind: 'raw_tracepoint', progId: c.prog.info().id });
    const before = c.read();
    exec();
    expect(c.read()).toBeGreaterThan(before);

    const shown = await cli('link', 'show', linkPin);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));
    expect(shown.out).toMatch(/^type\s+raw_tracepoint \(1\)$/m);
    expect(shown.out).toMatch(new RegExp(`^program\\s+${c.prog.info().id} cli_attach \\(raw_tracepoint\\)$`, 'm'));
    expect(shown.out).toMatch(/^tracepoint\s+sched_process_exec$/m);
    const asJson = JSON.parse((await cli('link', 'show', String(id), '--json')).out) as Record<string, unknown>;
    expect(asJson).toMatchObject({
      id,
      kind: 'raw_tracepoint',
      targetName: 'sched_process_exec',
      program: { id: c.prog.info().id, name: 'cli_attach', type: 'raw_tracepoint' },
      rawTracepoint: { tpNameLen: 'sched_process_exec'.length + 1 },
    });
    // The address of bpfkit's own name buffer is no information: left out.
    expect(asJson.rawTracepoint).not.toHaveProperty('tpName');

    const pinned = await cli('link', 'pin', String(id), secondPin);
    expect([pinned.code, pinned.out]).toEqual([0, `pinned link ${id} at ${secondPin}`]);
    expect((await cli('link', 'show', secondPin)).out).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));

    // Raw tracepoint links have no in-place detach: said so, with the way out.
    const detach = await cli('link', 'detach', linkPin);
    expect(detach.code).toBe(1);
    expect(detach.err).toBe(
      `bpfkit link: link ${id} (raw_tracepoint): bpf(BPF_LINK_DETACH) failed: EOPNOTSUPP (operation not supported): a raw_tracepoint link cannot be detached in place; it detaches when its last reference goes: removing this pin (bpfkit link unpin ${linkPin}) detaches it when no other pin or process holds it`,
    );
    expect((await cli('link', 'detach', String(id))).err).toMatch(
      /its pins removed \(bpfkit link unpin <path>\) and the processes holding it closing it$/,
    );

    // unpin refuses what is not a pinned link.
    const notLink = await cli('link', 'unpin', progPin);
    expect(notLink.code).toBe(1);
    expect(notLink.err).toMatch(
      /link '.*\/prog': bpf\(BPF_OBJ_GET\) failed: EINVAL \(.*\): the object pinned there is not a link but a BPF prog$/,
    );
    expect(fs.existsSync(progPin)).toBe(true);

    const first = await cli('link', 'unpin', linkPin);
    expect([first.code, first.out]).toEqual([
      0,
      `removed the pin of link ${id} at ${linkPin} (the link is gone unless another pin or process holds it)`,
    ]);
    expect(linkOf(id)).toBeDefined(); // the second pin holds it
    expect((await cli('link', 'unpin', secondPin)).code).toBe(0);
    expect(linkOf(id)).toBeUndefined();
    expectStopped(c.read);
    expect((await cli('link', 'show', String(id))).err).toMatch(/link id \d+: bpf\(BPF_LINK_GET_FD_BY_ID\) failed: ENOENT/);
  } finally {
    for (const p of [linkPin, secondPin, progPin]) fs.rmSync(p, { force: true });
  }
});

raw.it('raw: prog attach without --pin stays attached until interrupted, then detaches and exits 0', async () => {
  using c = counter('cli_attach_wait');
  let interrupt!: (signal: string) => void;
  const out: string[] = [];
  const io: CliIo = {
    out: (s) => out.push(s),
    err: (s) => out.push(`err: ${s}`),
    interrupted: new Promise((resolve) => {
      interrupt = resolve;
    }),
  };
  const progId = c.prog.info().id;
  // Runs until `interrupted` settles; everything up to the wait happens before runCli returns its promise.
  const running = runCli(['prog', 'attach', String(progId), 'raw_tracepoint:sched_process_exec'], io);
  let settled = false;
  void running.finally(() => {
    settled = true;
  });
  try {
    const m = new RegExp(
      `^attached program ${progId} \\(cli_attach_wait\\) to raw_tracepoint:sched_process_exec: link (\\d+); detaching on Ctrl-C or SIGTERM$`,
    ).exec(out.join('\n'));
    expect(m).not.toBeNull();
    const id = Number(m![1]);
    expect(linkOf(id)?.progId).toBe(progId);
    const before = c.read();
    exec();
    expect(c.read()).toBeGreaterThan(before);
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    interrupt('SIGINT');
    expect(await running).toBe(0);
    expect(out.at(-1)).toBe(`SIGINT: detached link ${id}`);
    expect(linkOf(id)).toBeUndefined();
    expectStopped(c.read);
  } finally {
    interrupt('SIGINT');
    await running.catch(() => 0);
  }
});

const cli_js = path.resolve(import.meta.dirname, '../../dist/bpfkit.cjs');
// The built CLI must be the one with `prog attach` (dist is rebuilt by `pnpm build`, not by the tests).
const builtWithAttach = fs.existsSync(path.resolve(import.meta.dirname, '../../dist/cli/attach-target-parse.js'));

raw
  .unless(builtWithAttach ? undefined : 'packages/bpfkit/dist has no prog attach: build it (pnpm --filter bpfkit run build)')
  .it('raw: the built bpfkit prog attach detaches on SIGTERM and exits 0', async () => {
    using c = counter('cli_sigterm');
    const child = spawn(process.execPath, [cli_js, 'prog', 'attach', String(c.prog.info().id), 'raw_tracepoint:sched_process_exec'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('\n')) resolve(stdout);
        });
        child.on('exit', (code) => reject(new Error(`bpfkit exited (${code}) before attaching: ${stderr}`)));
      });
      const id = Number(/: link (\d+); detaching on Ctrl-C or SIGTERM/.exec(line)?.[1]);
      expect(linkOf(id)?.progId).toBe(c.prog.info().id);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toMatch(new RegExp(`SIGTERM: detached link ${id}\\n$`));
      expect(stderr).toBe('');
      expect(linkOf(id)).toBeUndefined();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

const cgroup2 = mounts().find((m) => m.fstype === 'cgroup2')?.target;
const cgroupGate = whenKernel('program:cgroup_skb', 'link:cgroup').unless(cgroup2 === undefined ? 'no cgroup2 mount' : undefined);

cgroupGate.it(
  'cgroup: prog attach to a cgroup the test creates, link show names the cgroup, link detach detaches it in place',
  async () => {
    const dir = `${cgroup2}/bpfkit-cli-link-${process.pid}`;
    fs.mkdirSync(dir);
    try {
      using c = counter('cli_cgroup', ProgramType.CGROUP_SKB, 1);
      using fsys = mountPrivateBpffs();
      const pin = path.join(fsys.dir, 'cg_link');
      try {
        const attached = await cli('prog', 'attach', String(c.prog.info().id), `cgroup:${dir}:cgroup_inet_egress`, '--pin', pin, '--json');
        expect(attached.err).toBe('');
        const result = JSON.parse(attached.out) as { link: number; kind: string; pinned: string; target: unknown };
        expect(result).toMatchObject({ kind: 'cgroup', pinned: pin, target: { kind: 'cgroup', path: dir, attachType: 1 } });
        const shown = await cli('link', 'show', pin);
        expect(shown.out).toMatch(/^attach type\s+cgroup_inet_egress$/m);
        const cgroupId = fs.statSync(dir, { bigint: true }).ino;
        expect(shown.out).toMatch(new RegExp(`^cgroup\\s+${dir} \\(id ${cgroupId}\\)$`, 'm'));
        expect(JSON.parse((await cli('link', 'show', pin, '--json')).out)).toMatchObject({ kind: 'cgroup', cgroupPath: dir });

        const detached = await cli('link', 'detach', pin);
        expect([detached.code, detached.out]).toEqual([
          0,
          `detached link ${result.link} (cgroup): the program no longer runs; the link itself stays until its pins and handles go`,
        ]);
        // The link stays (pinned), attached to nothing.
        expect((await cli('link', 'show', pin)).out).toMatch(/^cgroup\s+none \(detached\)$/m);
        expect((await cli('link', 'unpin', pin)).code).toBe(0);
        expect(linkOf(result.link)).toBeUndefined();
      } finally {
        fs.rmSync(pin, { force: true });
      }
    } finally {
      fs.rmdirSync(dir);
    }
  },
);
