import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AttachType, InvalidArgumentError, LinkType, NotSupportedError, ProgramType } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { kernelConfig, kernelConfigSource } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { probeCounter } from '../test-support/probe-programs.js';
import { KprobeEventLink, kprobeEventsFile } from './kprobe-events.js';
import { attachKprobe } from './kprobe.js';

/** kprobe_events, when this kernel has it (tracefs is mounted if it was not). */
const KPROBE_EVENTS = (() => {
  try {
    return kprobeEventsFile();
  } catch {
    return undefined;
  }
})();
const HAS_KPROBES = fs.existsSync('/sys/bus/event_source/devices/kprobe') || KPROBE_EVENTS !== undefined;
const config = kernelConfigSource() ? kernelConfig() : undefined;
const fprobe = config?.get('CONFIG_FPROBE');

const program = whenKernel('program:kprobe');
const kprobe = whenKernel('program:kprobe', 'kprobe-pmu');
const tracefsKprobe = kprobe.unless(KPROBE_EVENTS === undefined ? 'no tracefs kprobe_events (CONFIG_KPROBE_EVENTS)' : undefined);
/**
 * Why kprobe_multi links do not work here although the link type is known
 * (its BTF enum says nothing of CONFIG_FPROBE, and a guest's config may not
 * be readable): asked of the kernel, with a link to a function it lacks —
 * a kernel with fprobe names the function, one without answers EOPNOTSUPP.
 */
const noKprobeMulti = (() => {
  if (whenKernel('program:kprobe', 'kprobe-pmu', 'link:kprobe_multi').skip !== undefined) return undefined; // the gate says why
  try {
    using c = probeCounter({ expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
    attachProgram(c.prog, { kind: 'kprobe_multi', symbols: ['bpfkit_no_such_function'] }).close();
    return undefined;
  } catch (err) {
    return err instanceof NotSupportedError ? err.message : undefined;
  }
})();
const multi = whenKernel('program:kprobe', 'kprobe-pmu', 'link:kprobe_multi').unless(noKprobeMulti);

/** A directory for the files and directories the tests unlink and remove (made and removed outside any probe's count). */
let WORK = '';
beforeAll(() => {
  WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-kprobe-'));
});
afterAll(() => {
  if (WORK) fs.rmSync(WORK, { recursive: true, force: true });
});

/** Makes and unlinks `n` files (one do_unlinkat each), then makes and removes `rmdirs` directories (one do_rmdir each), in WORK. */
function unlinkAndRmdir(n: number, rmdirs = 0): void {
  for (let i = 0; i < n; i++) {
    const file = path.join(WORK, `f${i}`);
    fs.writeFileSync(file, '');
    fs.unlinkSync(file);
  }
  for (let i = 0; i < rmdirs; i++) {
    const sub = path.join(WORK, `d${i}`);
    fs.mkdirSync(sub);
    fs.rmdirSync(sub);
  }
}

/** The bpfkit probe events of this process still in kprobe_events. */
function ourProbeEvents(): string[] {
  return fs
    .readFileSync(KPROBE_EVENTS!, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`bpfkit_${process.pid}_`));
}

kprobe.it('kprobe: counts each do_unlinkat of this process through the kprobe PMU, and nothing once closed', () => {
  // Counting only this process's hits keeps the count exact whatever else runs on the machine.
  using c = probeCounter({ tgid: process.pid });
  const link = c.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat' });
  try {
    expect(link.info()).toMatchObject({ kind: 'perf_event', type: LinkType.PERF_EVENT, progId: c.prog.info().id });
    unlinkAndRmdir(3);
    expect(c.read()).toBe(3n);
  } finally {
    link.close();
  }
  unlinkAndRmdir(2);
  expect(c.read()).toBe(3n);
});

kprobe.it('kprobe: a kretprobe counts each return of do_unlinkat, and carries its cookie to bpf_get_attach_cookie', () => {
  using c = probeCounter({ tgid: process.pid, byCookie: true });
  {
    using _link = c.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', ret: true, cookie: 3n });
    unlinkAndRmdir(4);
  }
  expect([c.read(0), c.read(1), c.read(2), c.read(3)]).toEqual([0n, 0n, 0n, 4n]);
});

tracefsKprobe.it(
  'kprobe: through tracefs, a probe event of its own counts each do_unlinkat (entry and return), and is gone from kprobe_events once closed',
  () => {
    using entry = probeCounter({ tgid: process.pid });
    using exit = probeCounter({ tgid: process.pid });
    const p = entry.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', method: 'tracefs' });
    const r = exit.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', method: 'tracefs', ret: true });
    let groups: string[] = [];
    try {
      expect(p).toBeInstanceOf(KprobeEventLink);
      expect(r).toBeInstanceOf(KprobeEventLink);
      const pe = (p as KprobeEventLink).event;
      const re = (r as KprobeEventLink).event;
      groups = [pe.group, re.group];
      expect(pe.definition).toBe(`p:${pe.group}/do_unlinkat do_unlinkat`);
      expect(re.definition).toBe(`r:${re.group}/do_unlinkat do_unlinkat`);
      // kprobe_events lists a kretprobe with its maxactive (r10:…) on some kernels.
      const listed = ourProbeEvents();
      expect(listed).toHaveLength(2);
      expect(listed[0]).toBe(`p:${pe.group}/do_unlinkat do_unlinkat`);
      expect(listed[1]).toMatch(new RegExp(`^r\\d*:${re.group}/do_unlinkat do_unlinkat$`));
      expect(p.info()).toMatchObject({ kind: 'perf_event', progId: entry.prog.info().id });
      expect(() => p.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
      unlinkAndRmdir(2);
      expect([entry.read(), exit.read()]).toEqual([2n, 2n]);
    } finally {
      p.close();
      r.close();
    }
    expect(ourProbeEvents()).toEqual([]);
    const dir = path.dirname(KPROBE_EVENTS!);
    for (const g of groups) expect(fs.existsSync(`${dir}/events/${g}`)).toBe(false);
    unlinkAndRmdir(1);
    expect([entry.read(), exit.read()]).toEqual([2n, 2n]);
  },
);

tracefsKprobe.it(
  'kprobe: a tracefs attach that fails after writing its probe event removes it again, and one the kernel refuses leaves none',
  () => {
    // A program whose fd is not open passes every check bpfkit makes: the probe event is written and
    // its perf event opened before BPF_LINK_CREATE answers EBADF.
    const broken = { name: 'not_open', type: ProgramType.KPROBE, fd: 0x7fff_fff0, closed: false } as unknown as Program;
    expect(() => attachKprobe(broken, { kind: 'kprobe', symbol: 'do_unlinkat', method: 'tracefs' })).toThrow(/EBADF/);
    expect(ourProbeEvents()).toEqual([]);
    using c = probeCounter();
    expect(() => c.prog.attach({ kind: 'kprobe', symbol: 'bpfkit_no_such_function', method: 'tracefs' })).toThrow(
      /symbol: expected a kernel function \(one listed in \/proc\/kallsyms\), got the string "bpfkit_no_such_function"/,
    );
    expect(ourProbeEvents()).toEqual([]);
  },
);

const gc = globalThis.gc;

tracefsKprobe
  .unless(typeof gc === 'function' ? undefined : 'needs node --expose-gc (vitest.shared.ts sets it)')
  .it('kprobe: a tracefs kprobe dropped without close() is detached and its probe event removed once collected', async () => {
    using c = probeCounter({ tgid: process.pid });
    (() => {
      attachProgram(c.prog, { kind: 'kprobe', symbol: 'do_unlinkat', method: 'tracefs' });
    })();
    expect(ourProbeEvents()).toHaveLength(1);
    for (let i = 0; i < 30 && ourProbeEvents().length > 0; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(ourProbeEvents()).toEqual([]);
    const before = c.read();
    unlinkAndRmdir(1);
    expect(c.read()).toBe(before);
  });

kprobe.it('kprobe: refuses a function the kernel does not have and an offset inside an instruction, naming them', () => {
  using c = probeCounter();
  expect(() => c.prog.attach({ kind: 'kprobe', symbol: 'bpfkit_no_such_function' })).toThrow(
    /symbol: expected a kernel function \(one listed in \/proc\/kallsyms\), got the string "bpfkit_no_such_function"/,
  );
  expect(() => c.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', offset: 1 })).toThrow(/kprobe target: offset: expected an offset/);
});

program.it(
  'kprobe: refuses a program of another type, a malformed symbol, a bad offset, method or cookie, and an offset on a kretprobe',
  () => {
    using tp = probeCounter({ type: ProgramType.TRACEPOINT });
    expect(() => tp.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat' })).toThrow(
      /kprobe target: program 'count_probe': expected a kprobe program \(ProgramType\.KPROBE\), got .*tracepoint/,
    );
    using c = probeCounter();
    const bad = (target: Record<string, unknown>) => () => c.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', ...target } as never);
    expect(bad({ symbol: 'do_unlinkat; rm -rf /' })).toThrow(/symbol: expected a kernel function name/);
    expect(bad({ symbol: '' })).toThrow(InvalidArgumentError);
    expect(bad({ offset: -1 })).toThrow(/offset: expected a non-negative integer/);
    expect(bad({ offset: 1.5 })).toThrow(/offset: expected a non-negative integer/);
    expect(bad({ ret: true, offset: 4 })).toThrow(/offset: expected 0 for a kretprobe/);
    expect(bad({ method: 'debugfs' })).toThrow(/method: expected 'pmu' or 'tracefs'/);
    expect(bad({ cookie: 1 })).toThrow(/cookie: expected an unsigned 64-bit bigint/);
    expect(bad({ cookie: 1n << 64n })).toThrow(/cookie: expected an unsigned 64-bit bigint/);
  },
);

program
  .unless(HAS_KPROBES ? 'this kernel has kprobes (the refusal is for kernels built without CONFIG_KPROBES)' : undefined)
  .it('kprobe: a kernel built without CONFIG_KPROBES is said to be, by either method', () => {
    using c = probeCounter();
    for (const method of [undefined, 'pmu', 'tracefs'] as const) {
      const attach = () => c.prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', ...(method ? { method } : {}) });
      expect(attach).toThrow(NotSupportedError);
      expect(attach).toThrow(/attaching kprobes is not supported by this kernel: this kernel is built without CONFIG_KPROBES/);
    }
  });

multi.it('kprobe_multi: do_unlinkat and do_rmdir through one link, each counted under its own cookie, until closed', () => {
  using c = probeCounter({ tgid: process.pid, byCookie: true, expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
  const link = c.prog.attach({ kind: 'kprobe_multi', symbols: ['do_unlinkat', 'do_rmdir'], cookies: [1n, 2n] });
  try {
    expect(link.info()).toMatchObject({ kind: 'kprobe_multi', type: LinkType.KPROBE_MULTI, progId: c.prog.info().id });
    unlinkAndRmdir(2, 3);
    expect([c.read(0), c.read(1), c.read(2), c.read(3)]).toEqual([0n, 2n, 3n, 0n]);
  } finally {
    link.close();
  }
  unlinkAndRmdir(1, 1);
  expect([c.read(1), c.read(2)]).toEqual([2n, 3n]);
});

multi.it('kprobe_multi: return probes on the functions a glob matches in available_filter_functions', () => {
  using c = probeCounter({ tgid: process.pid, expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
  {
    using _link = c.prog.attach({ kind: 'kprobe_multi', pattern: 'do_rmdi?', ret: true });
    unlinkAndRmdir(2, 3);
  }
  expect(c.read()).toBe(3n);
});

multi.it('kprobe_multi: names the functions the kernel does not have, and a glob that matches none', () => {
  using c = probeCounter({ expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
  expect(() => c.prog.attach({ kind: 'kprobe_multi', symbols: ['do_unlinkat', 'bpfkit_no_such_function'] })).toThrow(
    /symbols: expected functions of .*available_filter_functions, got the string "bpfkit_no_such_function"/,
  );
  expect(() => c.prog.attach({ kind: 'kprobe_multi', pattern: 'bpfkit_no_such_*' })).toThrow(
    /pattern: expected a glob matching at least one function/,
  );
});

program.it(
  'kprobe_multi: refuses a program not loaded for kprobe_multi, no or duplicate symbols, both symbols and pattern, and cookies that do not pair',
  () => {
    using plain = probeCounter();
    expect(() => plain.prog.attach({ kind: 'kprobe_multi', symbols: ['do_unlinkat'] })).toThrow(
      /expected a kprobe program loaded with expectedAttachType AttachType\.TRACE_KPROBE_MULTI .*got the string "expected attach type 0 \(none\)"/,
    );
    using c = probeCounter({ expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
    const bad = (target: Record<string, unknown>) => () => c.prog.attach({ kind: 'kprobe_multi', ...target } as never);
    expect(bad({})).toThrow(/expected either symbols .* or pattern/);
    expect(bad({ symbols: ['do_unlinkat'], pattern: 'do_*' })).toThrow(/expected either symbols .* or pattern/);
    expect(bad({ symbols: [] })).toThrow(/symbols: expected a non-empty array/);
    expect(bad({ symbols: ['do_unlinkat', 'do_unlinkat'] })).toThrow(/symbols: expected each function once/);
    expect(bad({ symbols: ['ext4:ext4_sync_fs'] })).toThrow(/symbols: expected kernel function names/);
    expect(bad({ symbols: ['do_unlinkat', 'do_rmdir'], cookies: [1n] })).toThrow(/cookies: expected one cookie per symbol \(2\)/);
    expect(bad({ symbols: ['do_unlinkat'], cookies: [-1n] })).toThrow(/cookies: expected unsigned 64-bit bigints/);
    expect(bad({ pattern: 'do_*', cookies: [1n] })).toThrow(/cookies: expected symbols to go with them/);
    expect(bad({ pattern: 'do_(x)' })).toThrow(/pattern: expected a glob/);
  },
);

whenKernel('program:kprobe')
  .unless(config === undefined ? 'the kernel config cannot be read' : fprobe === 'y' ? 'this kernel has fprobe (CONFIG_FPROBE)' : undefined)
  .it('kprobe_multi: a kernel built without CONFIG_FPROBE is said to be', () => {
    using c = probeCounter({ expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
    expect(() => c.prog.attach({ kind: 'kprobe_multi', symbols: ['do_unlinkat'] })).toThrow(
      /the kprobe_multi link is not supported by this kernel \(requires at least Linux 5\.18\): this kernel is built without CONFIG_FPROBE/,
    );
  });
