import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bpfAccess } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { openSystem } from './open-system.js';

const packageDir = path.resolve(import.meta.dirname, '..');
const built = fs.existsSync(path.join(packageDir, 'dist', 'index.js'));
const canDrop = process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');

describe('openSystem', () => {
  it('gives the mock when asked', async () => {
    using s = await openSystem({ backend: 'mock' });
    expect(s.kind).toBe('mock');
  });

  it('gives the kernel when this process may use bpf(), the mock otherwise', async () => {
    using s = await openSystem();
    expect(s.kind).toBe(bpfAccess().available ? 'kernel' : 'mock');
  });

  it.skipIf(!built || !canDrop)('falls back to the mock in an unprivileged process, which learns why', () => {
    const script = "const m = await import('bpfkit'); const s = await m.openSystem(); let err = '';" +
      "try { await m.openSystem({ backend: 'kernel' }); } catch (e) { err = e.name + ': ' + e.message; }" +
      'console.log(JSON.stringify({ kind: s.kind, reason: m.bpfAccess().reason, err }));';
    const out = execFileSync('/usr/bin/setpriv', [
      '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
      process.execPath, '--input-type=module', '-e', script,
    ], { cwd: packageDir, encoding: 'utf8' });
    const r = JSON.parse(out) as { kind: string; reason: string; err: string };
    expect(r.kind).toBe('mock');
    expect(r.reason).toMatch(/EPERM: not privileged/);
    expect(r.err).toMatch(/^NotSupportedError: the kernel backend is not supported by this kernel: bpf\(BPF_MAP_CREATE\) fails with EPERM/);
  });
});
