import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, runCli } from './main.js';
import { bpfkitVersion } from './version.js';
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

  it('prints the version of the bpfkit package for --version, -V and version', async () => {
    const manifest = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      const v = capture();
      expect(await runCli([flag], v.io)).toBe(0);
      expect(v.out).toEqual([`bpfkit ${manifest.version}`]);
    }
  });

  it('finds the version from dist/ and the bundle as from src/, and none outside a bpfkit package', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-version-'));
    try {
      fs.mkdirSync(path.join(dir, 'pkg', 'dist'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bpfkit', version: '9.9.9' }));
      // The nearest manifest of another package does not stop the walk, nor does one that does not parse.
      fs.writeFileSync(path.join(dir, 'pkg', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
      fs.writeFileSync(path.join(dir, 'pkg', 'dist', 'package.json'), '{ not json');
      expect(bpfkitVersion(path.join(dir, 'pkg', 'dist', 'cli.bundle.cjs'))).toBe('9.9.9');
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bpfkit' }));
      expect(bpfkitVersion(path.join(dir, 'pkg', 'dist', 'cli.bundle.cjs'))).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
