import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listLinks } from '@bpfkit/attach';
import { MockSystem } from '@bpfkit/mock';
import { mountPrivateBpffs } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { Manager } from './manager.js';

// SIGINT and SIGTERM while started: the manager stops (links detached, pins it made removed,
// pins asked to outlive the process kept), then the signal takes its course. The process under
// test is a child running the built package (dist), as a user's agent would.

const packageDir = path.resolve(import.meta.dirname, '../..');
const OBJECT = path.join(packageDir, 'testdata/manager.bpf.o');
const distIndex = path.join(packageDir, 'dist/index.js');
const built = fs.existsSync(path.join(packageDir, 'dist/manager/manager.js'));
const tracefs = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].some((t) => fs.existsSync(`${t}/events/syscalls/sys_enter_openat`));

/** The child: starts a manager with handleSignals, prints its link ids, and waits for a signal. */
const CHILD = `
const { Manager, NativeSystem } = await import(process.argv[2]);
const [object, pinDir] = process.argv.slice(3);
const tp = (name) => ({ kind: 'tracepoint', group: 'syscalls', name });
const manager = new Manager({
  system: new NativeSystem(),
  objects: { tracer: { object } },
  attachments: [
    { name: 'openat', program: 'on_openat', target: tp('sys_enter_openat'), pin: pinDir + '/openat' },
    { name: 'kept', program: 'on_getcwd', target: tp('sys_enter_getcwd'), pin: pinDir + '/kept', keepPin: true },
  ],
  readers: [{ map: 'events', handler: () => {} }],
  pidFilter: { mode: 'allowlist', allow: [process.pid] },
  pinPath: pinDir,
  runStats: true,
  handleSignals: true,
});
await manager.start();
console.log(JSON.stringify({ links: manager.links().map((l) => l.id), listeners: process.listenerCount('SIGTERM') }));
`;

describe('Manager signal handling', () => {
  it('installs its SIGINT/SIGTERM handlers only while started, and only when asked', async () => {
    using system = new MockSystem();
    const object = { tracer: { object: OBJECT, options: { ignorePinning: true } } };
    const counts = () => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const before = counts();
    const asked = new Manager({ system, objects: object, handleSignals: true });
    const unasked = new Manager({ system, objects: object });
    await unasked.start();
    expect(counts()).toEqual(before);
    await asked.start();
    expect(counts()).toEqual(before.map((n) => n + 1));
    await asked.stop();
    expect(counts()).toEqual(before);
    await unasked.stop();
    // A failed start leaves none either.
    const failing = new Manager({
      system,
      objects: object,
      handleSignals: true,
      attachments: [{ program: 'no_such', target: { kind: 'raw_tracepoint', name: 'x' } }],
    });
    await expect(failing.start()).rejects.toThrow(/no_such/);
    expect(counts()).toEqual(before);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    whenKernel('program:tracepoint', 'map:ringbuf')
      .unless(tracefs ? undefined : 'no syscalls:sys_enter_openat tracepoint in tracefs (CONFIG_FTRACE_SYSCALLS)')
      .unless(
        built
          ? undefined
          : 'packages/bpfkit/dist/manager is not built (the child runs the built package: cd packages/bpfkit && npx tsc -p tsconfig.json)',
      )
      .it(`${signal} to a started child: it stops, leaving only the pin asked to outlive it, and dies of the signal`, async () => {
        using fsys = mountPrivateBpffs();
        const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-manager-')), 'child.mjs');
        fs.writeFileSync(script, CHILD);
        const child = spawn(process.execPath, [script, distIndex, OBJECT, fsys.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.on('exit', (code, sig) => resolve({ code, signal: sig })),
        );
        let kept: number | undefined;
        try {
          const line = await new Promise<string>((resolve, reject) => {
            let out = '';
            child.stdout.on('data', (d: Buffer) => {
              out += d.toString();
              if (out.includes('\n')) resolve(out.split('\n')[0]!);
            });
            void exited.then((e) => reject(new Error(`the child exited (${JSON.stringify(e)}) before starting: ${stderr}`)));
            setTimeout(() => reject(new Error(`the child did not start in 20 s: ${stderr}`)), 20_000);
          });
          const started = JSON.parse(line) as { links: number[]; listeners: number };
          expect(started.listeners).toBe(1);
          expect(started.links).toHaveLength(2);
          kept = started.links[1];
          const pins = ['openat', 'kept', 'pid_filter'].map((p) => path.join(fsys.dir, p));
          expect(pins.filter((p) => fs.existsSync(p))).toEqual(pins);
          const live = () => listLinks().map((l) => l.id);
          expect(started.links.every((id) => live().includes(id))).toBe(true);

          child.kill(signal);
          expect(await exited).toEqual({ code: null, signal });
          expect(stderr).toBe('');
          // (bpffs lists its preloaded iterators, maps.debug and progs.debug, too.)
          expect(fs.readdirSync(fsys.dir).filter((f) => !f.endsWith('.debug'))).toEqual(['kept']);
          // The link of the removed pin is released by deferred work (bpf_link_put): allow it a moment.
          for (let i = 0; i < 100 && live().includes(started.links[0]!); i++) await new Promise((r) => setTimeout(r, 10));
          expect(live()).not.toContain(started.links[0]);
          expect(live()).toContain(kept);
        } finally {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
            await exited;
          }
          for (const f of ['openat', 'kept', 'pid_filter']) fs.rmSync(path.join(fsys.dir, f), { force: true });
          fs.rmSync(path.dirname(script), { recursive: true, force: true });
        }
      });
  }
});
