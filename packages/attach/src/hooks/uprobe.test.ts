import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttachType, InvalidArgumentError, LinkType, NotSupportedError, ProgramType } from '@bpfkit/core';
import { elfFunctionSymbol } from '@bpfkit/elf';
import { PERF_FLAG_FD_CLOEXEC, perfEventOpen } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import { probeCounter } from '../test-support/probe-programs.js';
import { attachPerfEventFd, PerfEventAttachment, probePmu } from './perf-link.js';

const SOURCE = fileURLToPath(new URL('../../testdata/uprobe-target.c', import.meta.url));
const CC = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
const noCompiler = CC === undefined ? 'no C compiler (cc, gcc or clang) to build testdata/uprobe-target.c' : undefined;

const uprobe = whenKernel('program:kprobe', 'uprobe-pmu', 'link:perf_event');
const withBinary = uprobe.unless(noCompiler);
const multi = whenKernel('program:kprobe', 'uprobe-pmu', 'link:uprobe_multi').unless(noCompiler);

let dir = '';
let TARGET = '';
beforeAll(() => {
  if (withBinary.skip !== undefined || withBinary.broken !== undefined) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-uprobe-'));
  TARGET = path.join(dir, 'uprobe-target');
  const cc = spawnSync(CC!, ['-O2', '-o', TARGET, SOURCE], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`${CC} could not build ${SOURCE}: ${cc.stderr}`);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the test binary to the end: it calls bpfkit_uprobe_a, bpfkit_uprobe_b and getppid `n` times each. */
function run(n: number): void {
  expect(spawnSync(TARGET, [String(n)]).status).toBe(0);
}

/** Starts the test binary waiting on stdin; `go()` lets it make its `n` calls and resolves when it has exited. */
function waiting(n: number): { pid: number; go(): Promise<void> } {
  const child = spawn(TARGET, [String(n), 'wait'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`could not start ${TARGET}`);
  return {
    pid: child.pid,
    async go() {
      child.stdin!.end('go\n');
      expect(await exited).toBe(0);
    },
  };
}

withBinary.it('uprobe: counts each call of a function of the test binary, and nothing once closed', () => {
  using c = probeCounter();
  const link = c.prog.attach({ kind: 'uprobe', binary: TARGET, symbol: 'bpfkit_uprobe_a' });
  try {
    expect(link.info()).toMatchObject({ kind: 'perf_event', type: LinkType.PERF_EVENT, progId: c.prog.info().id });
    run(3);
    expect(c.read()).toBe(3n);
  } finally {
    link.close();
  }
  run(2);
  expect(c.read()).toBe(3n);
});

withBinary.it('uprobe: a uretprobe counts each return of a function of the test binary', () => {
  using c = probeCounter();
  {
    using _link = c.prog.attach({ kind: 'uprobe', binary: TARGET, symbol: 'bpfkit_uprobe_b', ret: true });
    run(4);
  }
  expect(c.read()).toBe(4n);
});

withBinary.it(
  'uprobe: filtered on a pid, counts that process only — not another process of the same binary, nor the pid of one that never calls it',
  async () => {
    using onA = probeCounter();
    using onThis = probeCounter();
    using all = probeCounter();
    const a = waiting(2);
    const b = waiting(5);
    {
      using _a = onA.prog.attach({ kind: 'uprobe', binary: TARGET, symbol: 'bpfkit_uprobe_a', pid: a.pid });
      using _this = onThis.prog.attach({ kind: 'uprobe', binary: TARGET, symbol: 'bpfkit_uprobe_a', pid: process.pid });
      using _all = all.prog.attach({ kind: 'uprobe', binary: TARGET, symbol: 'bpfkit_uprobe_a' });
      await a.go();
      await b.go();
    }
    expect(onA.read()).toBe(2n);
    expect(onThis.read()).toBe(0n);
    expect(all.read()).toBe(7n);
  },
);

withBinary.it(
  'uprobe: a libc function by library name (getppid, through ld.so.cache), filtered on the test binary, counts exactly its calls and returns',
  async () => {
    using onA = probeCounter();
    using onB = probeCounter();
    using returns = probeCounter();
    const a = waiting(4);
    const b = waiting(3);
    {
      using link = onA.prog.attach({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'getppid', pid: a.pid });
      using _b = onB.prog.attach({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'getppid', pid: b.pid });
      expect(link.info().progId).toBe(onA.prog.info().id);
      await a.go();
      await b.go();
    }
    expect([onA.read(), onB.read()]).toEqual([4n, 3n]);
    // Alone on the function: 6.12 runs a uretprobe filtered on one pid in every process that
    // another probe of the same function watches (6.18 does not), so this one has the function to itself.
    const c = waiting(2);
    const d = waiting(5);
    {
      using _ret = returns.prog.attach({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'getppid', pid: c.pid, ret: true });
      await c.go();
      await d.go();
    }
    expect(returns.read()).toBe(2n);
  },
);

withBinary.it('uprobe: the cookie reaches bpf_get_attach_cookie', () => {
  using c = probeCounter({ byCookie: true });
  {
    using _link = c.prog.attach({ kind: 'uprobe', binary: TARGET, symbol: 'bpfkit_uprobe_a', cookie: 2n });
    run(3);
  }
  expect([c.read(0), c.read(1), c.read(2), c.read(3)]).toEqual([0n, 0n, 3n, 0n]);
});

withBinary.it(
  'uprobe: attached by ioctl (how kernels without perf event links attach) counts until closed, and cannot be pinned or take a cookie',
  () => {
    using c = probeCounter();
    const offset = elfFunctionSymbol(new Uint8Array(fs.readFileSync(TARGET)), 'bpfkit_uprobe_a')!.fileOffset;
    const pmu = probePmu('uprobe');
    const open = () =>
      perfEventOpen({ type: pmu.type, config: 0n, uprobePath: TARGET, probeOffset: BigInt(offset) }, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
    const target = { kind: 'uprobe', binary: TARGET, offset } as const;
    const link = attachPerfEventFd(c.prog, open(), target, 'ioctl uprobe', undefined, 'ioctl');
    try {
      expect(link).toBeInstanceOf(PerfEventAttachment);
      expect(link.info()).toEqual({ kind: 'perf_event', progId: c.prog.info().id });
      expect(() => link.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
      run(2);
      expect(c.read()).toBe(2n);
    } finally {
      link.close();
    }
    run(2);
    expect(c.read()).toBe(2n);
    expect(() => attachPerfEventFd(c.prog, open(), target, 'ioctl uprobe', 1n, 'ioctl')).toThrow(
      /cookies on perf events attached by ioctl/,
    );
  },
);

/**
 * The file offset of an ELF64 little-endian executable's entry point: e_entry
 * mapped through the PT_LOAD segment holding it (read here by hand so the
 * test does not depend on what it tests).
 */
function entryFileOffset(file: string): number {
  const b = fs.readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const entry = v.getBigUint64(24, true);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  for (let i = 0; i < v.getUint16(56, true); i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 1) continue; // PT_LOAD
    const offset = v.getBigUint64(at + 8, true);
    const vaddr = v.getBigUint64(at + 16, true);
    const filesz = v.getBigUint64(at + 32, true);
    if (entry >= vaddr && entry < vaddr + filesz) return Number(entry - vaddr + offset);
  }
  throw new Error(`${file}: no PT_LOAD segment holds the entry point`);
}

const TRUE = fs.realpathSync('/bin/true');
const isElf64Le = (() => {
  const head = fs.readFileSync(TRUE).subarray(0, 6);
  return head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF' && head[4] === 2 && head[5] === 1;
})();
const exec = () => expect(spawnSync('/bin/true').status).toBe(0);

uprobe
  .unless(isElf64Le ? undefined : `${TRUE} is not an ELF64 little-endian binary`)
  .it(
    `uprobe: runs at the entry point of ${TRUE} (a file offset) each time it starts, for every process or only the one given, until closed`,
    () => {
      using c = probeCounter();
      const offset = entryFileOffset(TRUE);
      const link = c.prog.attach({ kind: 'uprobe', binary: TRUE, offset });
      try {
        expect(link.info()).toMatchObject({ type: LinkType.PERF_EVENT, progId: c.prog.info().id });
        exec();
        expect(c.read()).toBeGreaterThan(0n);
      } finally {
        link.close();
      }
      const after = c.read();
      exec();
      expect(c.read()).toBe(after);
      // Filtered to this process, which does not run /bin/true: a child's start is not counted.
      using mine = c.prog.attach({ kind: 'uprobe', binary: TRUE, offset, pid: process.pid });
      expect(mine.info().progId).toBe(c.prog.info().id);
      exec();
      expect(c.read()).toBe(after);
    },
  );

uprobe.it(
  'uprobe: on a libc function found by library name and symbol (exit, which /bin/true calls), for every process, until closed',
  () => {
    using c = probeCounter();
    {
      using link = c.prog.attach({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'exit' });
      expect(link.info().progId).toBe(c.prog.info().id);
      exec();
      expect(c.read()).toBeGreaterThan(0n);
    }
    const after = c.read();
    exec();
    expect(c.read()).toBe(after);
  },
);

uprobe.it(
  'uprobe: refuses a relative path, a missing file or library, an unknown symbol, no place at all, a bad pid, offset or cookie, saying what it wants',
  () => {
    using c = probeCounter();
    expect(() => c.prog.attach({ kind: 'uprobe', binary: 'bin/true', offset: 0 })).toThrow(
      /expected an absolute path, or a library name without a directory/,
    );
    expect(() => c.prog.attach({ kind: 'uprobe', binary: '/nonexistent/bpfkit', offset: 0 })).toThrow(/expected an existing file/);
    expect(() => c.prog.attach({ kind: 'uprobe', binary: 'libbpfkit-none.so.1', offset: 0 })).toThrow(
      /expected a library in .*ld\.so\.cache.*\/lib/,
    );
    expect(() => c.prog.attach({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'bpfkit_no_such_function' })).toThrow(
      /symbol: expected a function defined in .*libc\.so\.6 \(\.symtab or \.dynsym\), got the string "bpfkit_no_such_function"/,
    );
    expect(() => c.prog.attach({ kind: 'uprobe', binary: TRUE })).toThrow(/expected a symbol, an offset, or both/);
    expect(() => c.prog.attach({ kind: 'uprobe', binary: TRUE, offset: -1 })).toThrow(/offset: expected a file offset/);
    expect(() => c.prog.attach({ kind: 'uprobe', binary: TRUE, offset: 0, pid: 0 })).toThrow(/pid: expected a process id/);
    expect(() => c.prog.attach({ kind: 'uprobe', binary: TRUE, offset: 0, cookie: -1n })).toThrow(
      /cookie: expected an unsigned 64-bit bigint/,
    );
  },
);

multi.it('uprobe_multi: two functions of the test binary through one link, each counted under its own cookie, until closed', () => {
  using c = probeCounter({ byCookie: true, expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
  const link = c.prog.attach({ kind: 'uprobe_multi', binary: TARGET, symbols: ['bpfkit_uprobe_a', 'bpfkit_uprobe_b'], cookies: [1n, 2n] });
  try {
    expect(link.info()).toMatchObject({ kind: 'uprobe_multi', type: LinkType.UPROBE_MULTI, progId: c.prog.info().id });
    run(3);
    expect([c.read(0), c.read(1), c.read(2)]).toEqual([0n, 3n, 3n]);
  } finally {
    link.close();
  }
  run(3);
  expect([c.read(1), c.read(2)]).toEqual([3n, 3n]);
});

multi.it('uprobe_multi: return probes on a symbol and a file offset, filtered on one process of two', async () => {
  using c = probeCounter({ expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
  const b = elfFunctionSymbol(new Uint8Array(fs.readFileSync(TARGET)), 'bpfkit_uprobe_b')!.fileOffset;
  const one = waiting(2);
  const two = waiting(6);
  {
    using _link = c.prog.attach({
      kind: 'uprobe_multi',
      binary: TARGET,
      symbols: ['bpfkit_uprobe_a'],
      offsets: [b],
      pid: one.pid,
      ret: true,
    });
    await one.go();
    await two.go();
  }
  expect(c.read()).toBe(4n);
});

uprobe.it('uprobe_multi: refuses a program not loaded for uprobe_multi, no probes, cookies that do not pair, a bad offset or pid', () => {
  using plain = probeCounter();
  expect(() => plain.prog.attach({ kind: 'uprobe_multi', binary: TRUE, offsets: [0] })).toThrow(
    /expected a kprobe program loaded with expectedAttachType AttachType\.TRACE_UPROBE_MULTI .*got the string "expected attach type 0 \(none\)"/,
  );
  using c = probeCounter({ expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
  expect(() => c.prog.attach({ kind: 'uprobe_multi', binary: TRUE })).toThrow(/expected at least one symbol or offset/);
  expect(() => c.prog.attach({ kind: 'uprobe_multi', binary: TRUE, offsets: [0, 8], cookies: [1n] })).toThrow(
    /expected one cookie per probe \(2/,
  );
  expect(() => c.prog.attach({ kind: 'uprobe_multi', binary: TRUE, offsets: [-4] })).toThrow(InvalidArgumentError);
  expect(() => c.prog.attach({ kind: 'uprobe_multi', binary: TRUE, offsets: [0], pid: -1 })).toThrow(/pid: expected a process id/);
  expect(() => c.prog.attach({ kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['bpfkit_no_such_function'] })).toThrow(
    /symbols: expected a function defined in .*libc\.so\.6/,
  );
});

// A tracepoint program: what the uprobe path refuses at the kernel (a perf event takes programs of its own kind).
uprobe.it('uprobe: a program of another type is refused by the kernel, and nothing is left attached', () => {
  using c = probeCounter({ type: ProgramType.TRACEPOINT });
  expect(() => c.prog.attach({ kind: 'uprobe', binary: TRUE, offset: entryFileOffset(TRUE) })).toThrow(/EINVAL/);
});
