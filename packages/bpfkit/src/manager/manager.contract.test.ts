import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { listLinks } from '@bpfkit/attach';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../contract/backends.js';
import type { Backend } from '../contract/backends.js';
import { Manager } from './manager.js';
import { ManagerStartError, ManagerStateError } from './errors.js';
import type { ManagerSpec } from './spec.js';

// One test body per behaviour, run on the mock and on the kernel: the manager loads
// testdata/manager.bpf.o, attaches its tracepoint programs, reads the records they send for
// the processes its PID filter lets through, and leaves nothing behind when it stops.

const OBJECT = path.resolve(import.meta.dirname, '../../testdata/manager.bpf.o');
const OPENAT = { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } as const;
const GETCWD = { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_getcwd' } as const;

const tracefs = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].find((t) => fs.existsSync(`${t}/events/syscalls/sys_enter_openat`));

/** How many fds this process has open. */
const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** A record of manager.bpf.o: pid, kind (0 openat, 1 getcwd), sequence number. */
const decode = (r: Uint8Array) => {
  const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
  return { pid: v.getUint32(0, true), kind: v.getUint32(4, true), seq: v.getBigUint64(8, true) };
};

/** Makes this process call openat (kernel) or fires the tracepoint as this process (mock) `n` times. */
function openat(system: System, n: number): void {
  for (let i = 0; i < n; i++) {
    if (system instanceof MockSystem) system.fire(OPENAT, new Uint8Array(64));
    else fs.closeSync(fs.openSync('/proc/self/stat', 'r'));
  }
}

/** Likewise for getcwd (glibc's realpath of a relative path asks the kernel for the cwd). */
function getcwd(system: System, n: number): void {
  for (let i = 0; i < n; i++) {
    if (system instanceof MockSystem) system.fire(GETCWD, new Uint8Array(64));
    else fs.realpathSync.native('.');
  }
}

/** Resolves once `done()` holds, polling every 10 ms; rejects after `ms`. */
async function until(done: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What is left of a stopped manager's links and pins: both must be empty. */
function leftovers(system: System, linkIds: readonly number[], pins: readonly string[]) {
  const live =
    system.kind === 'kernel'
      ? listLinks()
          .filter((l) => linkIds.includes(l.id))
          .map((l) => l.id)
      : [];
  const pinned = pins.filter((p) => {
    if (system.kind === 'kernel') return fs.existsSync(p);
    try {
      system.openPinnedMap(p).close();
      return true;
    } catch {
      return false;
    }
  });
  return { live, pinned };
}

/** The gate of a backend: the kernel needs bpf(), tracepoint links and the syscalls tracepoints. */
function suite(backend: Backend, name: string, body: () => void): void {
  if (backend.name === 'mock') describe(name, body);
  else
    whenKernel('program:tracepoint', 'map:ringbuf')
      .unless(tracefs ? undefined : 'no syscalls:sys_enter_openat tracepoint in tracefs (CONFIG_FTRACE_SYSCALLS)')
      .describe(name, body);
}

for (const backend of BACKENDS) {
  suite(backend, `Manager (${backend.name})`, () => {
    it('start attaches in order and opens the readers; events reach the handlers in batches; stats count them; stop leaves nothing', async () => {
      using system = backend.open();
      const pins = backend.pinDir();
      try {
        const fdsBefore = openFds();
        const ring: number[][] = [];
        const perf: number[] = [];
        const steps: string[] = [];
        const spec: ManagerSpec = {
          system,
          objects: { tracer: { object: OBJECT } },
          attachments: [
            { name: 'openat', program: 'on_openat', target: OPENAT },
            { program: 'on_getcwd', target: GETCWD },
          ],
          readers: [
            {
              map: 'events',
              batchSize: 4,
              flushIntervalMs: 20,
              handler: (batch: Uint8Array[]) => {
                ring.push(
                  batch
                    .map((r) => decode(r))
                    .filter((e) => e.pid === process.pid)
                    .map((e) => e.kind),
                );
              },
            },
            {
              name: 'perf',
              map: 'perf_events',
              flushIntervalMs: 20,
              handler: (batch: Uint8Array[]) => {
                for (const r of batch) if (decode(r).pid === process.pid) perf.push(decode(r).kind);
              },
            },
          ],
          pidFilter: { mode: 'allowlist', allow: [process.pid] },
          pinPath: pins.dir,
          runStats: true,
          onStep: (s) => steps.push(s.kind === 'attach' || s.kind === 'reader' ? `${s.kind} ${s.name}` : s.kind),
        };
        const manager = new Manager(spec);
        await manager.start();
        expect(manager.state).toBe('started');
        expect(steps).toEqual(['run-stats', 'load', 'pid-filter', 'attach openat', 'attach on_getcwd', 'reader events', 'reader perf']);
        expect(manager.links().map((l) => [l.name, l.attachPoint])).toEqual([
          ['openat', 'tracepoint syscalls:sys_enter_openat'],
          ['on_getcwd', 'tracepoint syscalls:sys_enter_getcwd'],
        ]);
        expect(manager.programs().map((p) => [p.name, p.links.map((l) => l.name)])).toEqual([
          ['on_openat', ['openat']],
          ['on_getcwd', ['on_getcwd']],
        ]);
        const pinned = path.join(pins.dir, 'pid_filter');
        expect(leftovers(system, [], [pinned]).pinned).toEqual([pinned]);

        const N = 20;
        openat(system, N);
        getcwd(system, 3);
        const seen = () => ring.flat().length;
        await until(
          () => ring.flat().filter((k) => k === 0).length >= N && ring.flat().includes(1) && perf.length >= N + 1,
          () => `ring ${seen()}, perf ${perf.length}`,
        );
        expect(ring.every((b) => b.length <= 4)).toBe(true);
        expect(ring.some((b) => b.length === 4)).toBe(true);

        const stats = manager.stats();
        expect(stats).toMatchObject({ state: 'started', objects: 1, programs: 2, links: 2, readers: 2 });
        expect(stats.maps).toBeGreaterThanOrEqual(4);
        const events = stats.readerStats.find((r) => r.name === 'events')!;
        expect(events).toMatchObject({ map: 'events', kind: 'ringbuf', lost: 0, dropped: 0, handlerErrors: 0 });
        expect(events.records).toBeGreaterThanOrEqual(N + 1);
        expect(events.bytes).toBe(events.records * 16);
        expect(events.batches).toBeGreaterThanOrEqual(Math.ceil((N + 1) / 4));
        expect(stats.readerStats.find((r) => r.name === 'perf')).toMatchObject({ kind: 'perf', lost: 0 });
        const runs = stats.programStats.find((p) => p.program === 'on_openat')!;
        if (backend.name === 'kernel') {
          expect(stats.runStats).toEqual({ enabled: true });
          expect(runs.runCount).toBeGreaterThanOrEqual(N);
          expect(runs.runTimeNs).toBeGreaterThan(0);
        } else {
          expect(stats.runStats.enabled).toBe(false);
          expect(stats.runStats.reason).toMatch(/mock/);
          expect(runs.runCount).toBe(0);
        }
        const text = manager.metrics();
        expect(text).toContain('# TYPE bpfkit_reader_records_total counter\n');
        expect(text).toContain(`bpfkit_reader_records_total{reader="events",map="events",kind="ringbuf"} ${events.records}\n`);
        expect(text).toContain('bpfkit_manager_links 2\n');

        // The PID filter: blocked, this process's calls send nothing more.
        // The PID filter: blocked, this process's calls pass nothing (the programs count what passes).
        const passed = () => manager.collection('tracer').variables.passed!.get() as bigint;
        manager.pidFilter!.block(process.pid);
        const blocked = passed();
        openat(system, N);
        expect(passed()).toBe(blocked);
        manager.pidFilter!.allow(process.pid);
        const before = seen();
        openat(system, 2);
        expect(passed()).toBeGreaterThanOrEqual(blocked + 2n);
        await until(
          () => seen() >= before + 2,
          () => `ring ${seen()}`,
        );

        const linkIds = manager.links().flatMap((l) => (l.id === undefined ? [] : [l.id]));
        const links = manager.links().length;
        expect(links).toBe(2);
        await manager.stop();
        expect(manager.state).toBe('stopped');
        expect(manager.stats()).toMatchObject({ objects: 0, programs: 0, maps: 0, links: 0, readers: 0 });
        expect(leftovers(system, linkIds, [pinned])).toEqual({ live: [], pinned: [] });
        // The records of the handlers stop: nothing is attached.
        const after = seen();
        openat(system, 5);
        await new Promise((r) => setTimeout(r, 50));
        expect(seen()).toBe(after);
        expect(openFds()).toBe(fdsBefore);
        if (system instanceof MockSystem) expect(system.liveObjects).toBe(0);
        // A stopped manager starts again.
        await manager.start();
        expect(manager.links().length).toBe(2);
        await manager.stop();
        expect(openFds()).toBe(fdsBefore);
      } finally {
        pins.cleanup();
      }
    });

    it('a step that fails rolls back every step before it; the error names the step and carries its cause', async () => {
      using system = backend.open();
      const pins = backend.pinDir();
      try {
        const fdsBefore = openFds();
        const ids: number[] = [];
        const manager = new Manager({
          system,
          objects: { tracer: { object: OBJECT } },
          attachments: [
            { name: 'openat', program: 'on_openat', target: OPENAT },
            // A tracepoint program on an XDP hook of an interface that does not exist: refused by both backends.
            { name: 'wrong', program: 'on_getcwd', target: { kind: 'xdp', interface: 'bpfkit-nope0' } },
          ],
          readers: [{ map: 'events', handler: () => {} }],
          pidFilter: { mode: 'allowlist' },
          pinPath: pins.dir,
          onStep: () => {
            for (const l of manager.links()) if (l.id !== undefined && !ids.includes(l.id)) ids.push(l.id);
          },
        });
        const err = await manager.start().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ManagerStartError);
        const failure = err as ManagerStartError;
        expect(failure.step).toMatchObject({ kind: 'attach', name: 'wrong', program: 'on_getcwd', object: 'tracer' });
        expect(failure.stepNumber).toBe(4);
        expect(failure.message).toMatch(
          /^start: step 4, attach 'wrong' \(program on_getcwd of object tracer\) to xdp bpfkit-nope0, failed: /,
        );
        expect(failure.cause).toBeInstanceOf(Error);
        expect(failure.rollbackErrors).toEqual([]);
        expect(manager.state).toBe('stopped');
        expect(manager.stats()).toMatchObject({ objects: 0, links: 0, readers: 0, maps: 0 });
        if (backend.name === 'kernel') expect(ids.length).toBe(1);
        expect(leftovers(system, ids, [path.join(pins.dir, 'pid_filter')])).toEqual({ live: [], pinned: [] });
        expect(openFds()).toBe(fdsBefore);
        if (system instanceof MockSystem) expect(system.liveObjects).toBe(0);
      } finally {
        pins.cleanup();
      }
    });

    it('an AbortSignal aborting start midway rolls back and rejects with its reason; a stop while starting does too', async () => {
      using system = backend.open();
      const fdsBefore = openFds();
      const controller = new AbortController();
      const ids: number[] = [];
      const manager: Manager = new Manager({
        system,
        objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } },
        attachments: [
          { name: 'first', program: 'on_openat', target: OPENAT },
          { name: 'second', program: 'on_getcwd', target: GETCWD },
        ],
        readers: [{ map: 'events', handler: () => {} }],
        onStep: (s) => {
          if (s.kind === 'attach' && s.name === 'second') {
            ids.push(...manager.links().flatMap((l) => (l.id === undefined ? [] : [l.id])));
            controller.abort(new Error('enough'));
          }
        },
      });
      await expect(manager.start(controller.signal)).rejects.toThrow('enough');
      expect(manager.state).toBe('stopped');
      expect(manager.links()).toEqual([]);
      if (backend.name === 'kernel') expect(ids.length).toBe(1);
      expect(leftovers(system, ids, []).live).toEqual([]);
      expect(openFds()).toBe(fdsBefore);
      // An aborted signal refuses at once.
      await expect(manager.start(AbortSignal.abort())).rejects.toThrow(/abort/i);
      expect(manager.state).toBe('stopped');
      // stop() during start: the start rolls back.
      const starting = manager.start();
      const stopped = manager.stop();
      await expect(starting).rejects.toThrow(/stop\(\) was called before the start finished/);
      await stopped;
      expect(manager.state).toBe('stopped');
      expect(openFds()).toBe(fdsBefore);
    });

    it('named links: attach, the conveniences and detach at run time; names are unique; attach needs a started manager', async () => {
      using system = backend.open();
      const manager = new Manager({ system, objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } } });
      expect(() => manager.attachTracepoint('x', 'on_openat', 'syscalls', 'sys_enter_openat')).toThrow(ManagerStateError);
      await manager.start();
      try {
        const link = manager.attachTracepoint('late', 'on_getcwd', 'syscalls', 'sys_enter_getcwd');
        expect(link.closed).toBe(false);
        manager.attach('open', manager.collection('tracer').programs.on_openat!, OPENAT);
        expect(() => manager.attach('late', 'on_openat', OPENAT)).toThrow(InvalidArgumentError);
        expect(() => manager.attach('ghost', 'no_such_program', OPENAT)).toThrow(
          /a program of the loaded objects \(tracer\/on_openat, tracer\/on_getcwd\)/,
        );
        expect(manager.programs().map((p) => [p.name, p.links.map((l) => l.attachPoint)])).toEqual([
          ['on_openat', ['tracepoint syscalls:sys_enter_openat']],
          ['on_getcwd', ['tracepoint syscalls:sys_enter_getcwd']],
        ]);
        const id = manager.links().find((l) => l.name === 'late')!.id;
        expect(manager.detach('late')).toBe(true);
        expect(link.closed).toBe(true);
        expect(manager.detach('late')).toBe(false);
        if (backend.name === 'kernel') expect(listLinks().some((l) => l.id === id)).toBe(false);
        expect(manager.links().map((l) => l.name)).toEqual(['open']);
        // Closers run on stop, last added first.
        const order: string[] = [];
        manager.addCloser(() => void order.push('a'));
        manager.addCloser(async () => void order.push('b'));
        await manager.stop();
        expect(order).toEqual(['b', 'a']);
      } finally {
        await manager.stop();
      }
    });

    it('maps are shared between objects by name: the second object uses the first one’s (and the PID filter’s)', async () => {
      using system = backend.open();
      const kinds: number[] = [];
      const manager = new Manager({
        system,
        objects: {
          a: { object: OBJECT, constants: { kinds: 1 }, options: { ignorePinning: true } },
          b: { object: OBJECT, constants: { kinds: 2 }, options: { ignorePinning: true } },
        },
        sharedMaps: ['events'],
        attachments: [
          { object: 'a', program: 'on_openat', target: OPENAT },
          { object: 'b', program: 'on_getcwd', target: GETCWD },
        ],
        readers: [
          {
            map: 'events',
            flushIntervalMs: 10,
            handler: (batch: Uint8Array[]) =>
              void kinds.push(
                ...batch
                  .map((r) => decode(r))
                  .filter((e) => e.pid === process.pid)
                  .map((e) => e.kind),
              ),
          },
        ],
        pidFilter: { mode: 'allowlist', allow: [process.pid] },
      });
      await manager.start();
      try {
        const a = manager.collection('a');
        const b = manager.collection('b');
        expect(b.maps.events!.info().id).toBe(a.maps.events!.info().id);
        expect(b.maps.pid_filter!.info().id).toBe(a.maps.pid_filter!.info().id);
        expect(b.maps.perf_events!.info().id).not.toBe(a.maps.perf_events!.info().id);
        const listed = manager.maps.list();
        expect(listed.find((m) => m.name === 'events')).toMatchObject({ owner: 'a', sharedWith: ['b'] });
        expect(listed.find((m) => m.name === 'pid_filter')).toMatchObject({ owner: 'a', sharedWith: ['b'] });
        expect(listed.find((m) => m.name === 'perf_events')).toMatchObject({ owner: 'a', sharedWith: [] });
        expect(() => manager.attach('x', 'on_openat', OPENAT)).toThrow(/a program one object has \(a, b each have it/);
        openat(system, 3);
        getcwd(system, 3);
        await until(
          () => kinds.includes(0) && kinds.includes(1),
          () => `kinds ${kinds.join(',')}`,
        );
      } finally {
        await manager.stop();
      }
    });
  });
}

whenKernel('program:tracepoint')
  .unless(tracefs ? undefined : 'no syscalls:sys_enter_openat tracepoint in tracefs (CONFIG_FTRACE_SYSCALLS)')
  .it('kernel: a missing tracepoint fails its step with the error the attach gave', async () => {
    const kernel = BACKENDS.find((b) => b.name === 'kernel')!;
    using system = kernel.open();
    const manager = new Manager({
      system,
      objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } },
      attachments: [
        { program: 'on_openat', target: OPENAT },
        { program: 'on_getcwd', target: { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_bpfkit_nope' } },
      ],
    });
    const err = (await manager.start().catch((e: unknown) => e)) as ManagerStartError;
    expect(err).toBeInstanceOf(ManagerStartError);
    expect(err.step).toMatchObject({ kind: 'attach', name: 'on_getcwd' });
    expect(err.message).toContain('tracepoint syscalls:sys_enter_bpfkit_nope');
    expect(err.cause).toBeInstanceOf(InvalidArgumentError);
    expect((err.cause as Error).message).toMatch(/sys_enter_bpfkit_nope/);
    expect(err.message).toContain((err.cause as Error).message);
    expect(manager.state).toBe('stopped');
  });
