import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { describe, expect, it } from 'vitest';
import { PID_FILTER_ALLOW, PID_FILTER_BLOCK, PidFilter, pidFilterKey, pidNamespaceOf, resolvePid } from './pid-filter.js';

// The PID filter on the mock: the map entries it writes, and the verdicts testdata/manager.bpf.o's
// programs (pid_filter.h) reach from them through bpf_get_ns_current_pid_tgid.

const OBJECT = path.resolve(import.meta.dirname, '../../testdata/manager.bpf.o');
const OPENAT = { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } as const;
const own = pidNamespaceOf(process.pid);

/** A mock with the object loaded and on_openat attached; `passes(tgid)` fires it as process `tgid` and says whether it reported. */
function setup() {
  const system = new MockSystem();
  const coll = system.loadCollection(OBJECT, { ignorePinning: true });
  coll.programs.on_openat!.attach(OPENAT);
  const passes = (tgid: number, ns = own): boolean => {
    system.environment.tgid = tgid;
    system.environment.pid = tgid;
    system.environment.pidNamespace = ns;
    const before = coll.variables.passed!.get() as bigint;
    system.fire(OPENAT, new Uint8Array(64));
    return (coll.variables.passed!.get() as bigint) > before;
  };
  const filter = (mode: 'allowlist' | 'blocklist' | 'off' = 'allowlist') =>
    new PidFilter(coll.maps.pid_filter!, coll.maps.pid_namespaces!, { mode });
  return {
    system,
    coll,
    passes,
    filter,
    [Symbol.dispose]() {
      coll.close();
      system.close();
    },
  };
}

describe('PidFilter', () => {
  it('resolves a pid to its pid in its namespace and that namespace', () => {
    const st = fs.statSync(`/proc/${process.pid}/ns/pid`, { bigint: true });
    expect(own).toEqual({ dev: st.dev, ino: st.ino });
    expect(resolvePid(process.pid)).toEqual({ pid: process.pid, ns: own });
    expect(() => resolvePid(0)).toThrow(InvalidArgumentError);
    const key = pidFilterKey({ pid: 0x01020304, ns: { dev: 5n, ino: 6n } });
    expect([...key]).toEqual([4, 3, 2, 1, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('allowlist: only allowed processes pass; blocked ones never; the mode is the all-zero key', () => {
    using t = setup();
    const other = 0x7ffffff0;
    expect(t.passes(process.pid)).toBe(true); // no filter yet: everything passes
    const filter = t.filter('allowlist');
    expect([...(t.coll.maps.pid_filter!.lookup(new Uint8Array(24)) ?? [])]).toEqual([PID_FILTER_BLOCK]);
    expect(t.passes(process.pid)).toBe(false);
    filter.allow(process.pid);
    expect([...(t.coll.maps.pid_filter!.lookup(pidFilterKey({ pid: process.pid, ns: own })) ?? [])]).toEqual([PID_FILTER_ALLOW]);
    expect(filter.namespaces()).toEqual([own]);
    expect(t.passes(process.pid)).toBe(true);
    expect(t.passes(other)).toBe(false);
    // The same pid in another namespace is another process.
    const elsewhere = { dev: own.dev, ino: own.ino + 1n };
    expect(t.passes(process.pid, elsewhere)).toBe(false);
    filter.allow({ pid: process.pid, ns: elsewhere });
    expect(filter.namespaces()).toEqual([own, elsewhere]);
    expect(t.passes(process.pid, elsewhere)).toBe(true);
    expect(filter.remove({ pid: process.pid, ns: elsewhere })).toBe(true);
    expect(filter.namespaces()).toEqual([own]);
    expect(t.passes(process.pid, elsewhere)).toBe(false);
    filter.block(process.pid);
    expect(filter.verdict(process.pid)).toBe('block');
    expect(t.passes(process.pid)).toBe(false);
    filter.setMode('off');
    expect(t.passes(process.pid)).toBe(true);
    expect(t.passes(other)).toBe(true);
  });

  it('blocklist: everyone passes but the blocked; remove and clear take entries off', () => {
    using t = setup();
    const filter = t.filter('blocklist');
    expect(t.passes(process.pid)).toBe(true);
    filter.block(process.pid);
    expect(t.passes(process.pid)).toBe(false);
    expect(t.passes(0x7ffffff0)).toBe(true);
    expect(filter.list()).toEqual([{ pid: process.pid, ns: own, verdict: 'block' }]);
    expect(filter.remove(process.pid)).toBe(true);
    expect(filter.remove(process.pid)).toBe(false);
    expect(t.passes(process.pid)).toBe(true);
    filter.block(process.pid);
    filter.clear();
    expect(filter.list()).toEqual([]);
    expect(filter.namespaces()).toEqual([]);
    expect(t.coll.maps.pid_filter!.lookup(pidFilterKey({ pid: process.pid, ns: own }))).toBeUndefined();
    expect(t.passes(process.pid)).toBe(true);
  });

  it('refuses maps of the wrong shape and more namespaces than the namespace map holds', () => {
    using t = setup();
    expect(() => new PidFilter(t.coll.maps.events!, t.coll.maps.pid_namespaces!)).toThrow(/a hash map with 24-byte keys/);
    expect(() => new PidFilter(t.coll.maps.pid_filter!, t.coll.maps.pid_filter!)).toThrow(/an array of 16-byte values/);
    const filter = t.filter();
    for (let i = 1n; i <= 8n; i++) filter.allow({ pid: 1, ns: { dev: 1n, ino: i } });
    expect(() => filter.allow({ pid: 1, ns: { dev: 1n, ino: 9n } })).toThrow(/one of the 8 pid namespaces/);
    expect(() => filter.allow({ pid: 1, ns: { dev: 1n, ino: 0n } })).toThrow(InvalidArgumentError);
  });

  it('sync makes the listed set exactly the processes given; watch follows /proc as processes come and go', async () => {
    using t = setup();
    const filter = t.filter('allowlist');
    const a = { pid: 100, ns: own };
    const b = { pid: 101, ns: own };
    expect(filter.sync([a, b])).toEqual({ added: [a, b], removed: [] });
    expect(filter.sync([b])).toEqual({ added: [], removed: [a] });
    expect(t.passes(100)).toBe(false);
    expect(t.passes(101)).toBe(true);
    // A pid that does not exist is skipped.
    expect(filter.sync([b, 0x3ffffffe])).toEqual({ added: [], removed: [] });

    // A child process picked by its command line, taken off when it exits.
    const marker = `bpfkit-pid-filter-${process.pid}`;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', marker], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      using watch = filter.watch({ select: (p) => p.cmdline.includes(marker), intervalMs: 20 });
      expect(filter.list().map((e) => e.pid)).toEqual([child.pid]);
      expect(t.passes(child.pid!)).toBe(true);
      expect(t.passes(101)).toBe(false);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
      for (let i = 0; i < 100 && filter.list().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(filter.list()).toEqual([]);
      expect(watch.refresh()).toEqual({ added: [], removed: [] });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
