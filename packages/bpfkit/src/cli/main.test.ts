import { describe, expect, it } from 'vitest';
import { parseArgs, runCli } from './main.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

describe('bpfkit CLI', () => {
  it('parses flags, options and positionals', () => {
    const a = parseArgs(['map', '--json', '--id=5', 'x']);
    expect(a.positional).toEqual(['map', 'x']);
    expect([...a.flags]).toEqual(['json']);
    expect(a.options).toEqual({ id: '5' });
  });

  it('prints help and refuses unknown commands with exit code 2', async () => {
    const h = capture();
    expect(await runCli([], h.io)).toBe(0);
    expect(h.out.join('\n')).toMatch(/features/);
    const u = capture();
    expect(await runCli(['nope'], u.io)).toBe(2);
    expect(u.err[0]).toMatch(/unknown command 'nope'/);
    const f = capture();
    expect(await runCli(['features', '--help'], f.io)).toBe(0);
    expect(f.out[0]).toMatch(/usage: bpfkit features/);
  });

  whenKernel().it('features prints the table and JSON', async () => {
    const t = capture();
    expect(await runCli(['features'], t.io)).toBe(0);
    expect(t.out.join('\n')).toMatch(/^ringbuf\s+yes$/m);
    const j = capture();
    expect(await runCli(['features', '--json'], j.io)).toBe(0);
    const parsed = JSON.parse(j.out.join('\n')) as { mapTypes: Record<string, boolean>; kernel: { release: string } };
    expect(parsed.mapTypes.hash).toBe(true);
    expect(parsed.kernel.release.length).toBeGreaterThan(0);
  });
});
