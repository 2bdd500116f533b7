import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bpfAccess } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { openSystem } from './open-system.js';

const packageDir = path.resolve(import.meta.dirname, '..');
const built = fs.existsSync(path.join(packageDir, 'dist', 'index.js'));

/** What an unprivileged process sees: the backend `openSystem()` picks, why, and what forcing the kernel says. */
const PROBE_SCRIPT =
  "const m = await import('bpfkit'); const s = await m.openSystem(); let err = '';" +
  "try { await m.openSystem({ backend: 'kernel' }); } catch (e) { err = e.name + ': ' + e.message; }" +
  'console.log(JSON.stringify({ kind: s.kind, reason: m.bpfAccess().reason, err }));';

/**
 * Runs the probe in a child with every capability dropped. The child keeps
 * the uid that owns the checkout, so it can read the code wherever the
 * clone lives (a 0700 home or temp directory); for root that is uid 0 with
 * empty capability sets, which bpf() refuses like any unprivileged user.
 */
function probeWithoutCapabilities(): string {
  const owner = fs.statSync(packageDir);
  return execFileSync(
    '/usr/bin/setpriv',
    [
      `--reuid=${owner.uid}`,
      `--regid=${owner.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      process.execPath,
      '--input-type=module',
      '-e',
      PROBE_SCRIPT,
    ],
    { cwd: packageDir, encoding: 'utf8' },
  );
}

/** Why the unprivileged case cannot be checked here, if it cannot. */
function unprivilegedSkipReason(): string | undefined {
  if (!bpfAccess().available) return undefined; // this process is the unprivileged case
  if (!built) return 'packages/bpfkit/dist is not built (the child imports the built package)';
  if (process.getuid?.() !== 0) return 'this process may use bpf() but is not root, so it cannot start a child without capabilities';
  if (!fs.existsSync('/usr/bin/setpriv')) return '/usr/bin/setpriv (util-linux) is missing';
  return undefined;
}

describe('openSystem', () => {
  it('gives the mock when asked', async () => {
    using s = await openSystem({ backend: 'mock' });
    expect(s.kind).toBe('mock');
  });

  it('gives the kernel when this process may use bpf(), the mock otherwise', async () => {
    using s = await openSystem();
    expect(s.kind).toBe(bpfAccess().available ? 'kernel' : 'mock');
  });

  const skip = unprivilegedSkipReason();
  it.skipIf(skip !== undefined)(
    `falls back to the mock in an unprivileged process, which learns why${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      let r: { kind: string; reason: string | undefined; err: string };
      if (bpfAccess().available) {
        r = JSON.parse(probeWithoutCapabilities()) as typeof r;
      } else {
        using s = await openSystem();
        let err = '';
        try {
          await openSystem({ backend: 'kernel' });
        } catch (e) {
          err = `${(e as Error).name}: ${(e as Error).message}`;
        }
        r = { kind: s.kind, reason: bpfAccess().reason, err };
      }
      expect(r.kind).toBe('mock');
      expect(r.reason).toMatch(/EPERM: not privileged/);
      expect(r.err).toMatch(
        /^NotSupportedError: the kernel backend is not supported by this kernel: bpf\(BPF_MAP_CREATE\) fails with EPERM/,
      );
    },
  );
});
