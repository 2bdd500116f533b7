// The `bpfkit` bin (dist/bpfkit.cjs, from scripts/cli-launcher.cjs): the CLI
// bundle run through a V8 code cache kept per command in the user's cache
// directory, which never changes what a command does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capabilities } from '@bpfkit/syscalls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const dist = path.resolve(import.meta.dirname, '../../dist');
const bin = path.join(dist, 'bpfkit.cjs');
const built = fs.existsSync(bin) && fs.existsSync(path.join(dist, 'cli.bundle.cjs'));
const object = path.resolve(import.meta.dirname, '../../../elf/testdata/basics.bpf.o');

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-launcher-'));
});
afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'), ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheDir = () => path.join(home, 'cache', 'bpfkit', 'cli-code-cache');
const cached = (command: string) =>
  fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()).filter((f) => f.endsWith(`-${command}.bin`)) : [];

describe.skipIf(!built)(
  `the bpfkit bin${built ? '' : ' (skipped: packages/bpfkit/dist is not built: pnpm --filter bpfkit run build)'}`,
  () => {
    it('keeps a code cache per command that leaves the output as it was', () => {
      const first = run(['disasm', object]);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/xdp/);
      const [file] = cached('disasm');
      expect(file).toMatch(new RegExp(`^${process.version}-${process.arch}-[0-9a-f]{8}-\\d+-\\d+-disasm\\.bin$`));
      expect(fs.statSync(cacheDir()).mode & 0o777).toBe(0o700);
      const cacheFile = path.join(cacheDir(), file!);
      expect(fs.statSync(cacheFile).mode & 0o777).toBe(0o600);
      const before = fs.statSync(cacheFile).mtimeMs;

      const second = run(['disasm', object]);
      expect(second).toEqual(first);
      // Accepted, so not written again.
      expect(fs.statSync(cacheFile).mtimeMs).toBe(before);
      expect(cached('other')).toEqual([]);
    });

    it('makes a new cache in place of a damaged one', () => {
      const first = run(['disasm', object]);
      const cacheFile = path.join(cacheDir(), cached('disasm')[0]!);
      fs.writeFileSync(cacheFile, 'not a code cache');
      expect(run(['disasm', object])).toEqual(first);
      expect(fs.readFileSync(cacheFile, 'utf8')).not.toBe('not a code cache');
      expect(fs.readdirSync(cacheDir()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });

    it('replaces the cache of an earlier build of the same copy, and of copies unused for a month, not the others', () => {
      run(['--help']);
      const [current] = cached('other');
      const copy = /^v[\d.]+-\w+-([0-9a-f]{8})-/.exec(current!)![1];
      const earlier = `${process.version}-${process.arch}-${copy}-1-2-other.bin`;
      const otherCopy = `${process.version}-${process.arch}-00000000-1-2-other.bin`;
      fs.writeFileSync(path.join(cacheDir(), earlier), 'an earlier build of this copy');
      fs.writeFileSync(path.join(cacheDir(), otherCopy), 'a build of another copy of bpfkit');
      // Another copy's cache unchanged for 31 days: that copy is gone, or stopped being used.
      const abandoned = `${process.version}-${process.arch}-11111111-1-2-disasm.bin`;
      fs.writeFileSync(path.join(cacheDir(), abandoned), 'an abandoned copy');
      const monthAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000);
      fs.utimesSync(path.join(cacheDir(), abandoned), monthAgo, monthAgo);
      fs.rmSync(path.join(cacheDir(), current!));
      run(['--help']);
      expect(cached('other').sort()).toEqual([current, otherCopy].sort());
      expect(cached('disasm')).toEqual([]);
    });

    it('uses no cache directory that others can write to, and none when told not to', () => {
      fs.mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
      fs.chmodSync(cacheDir(), 0o777);
      const help = run(['--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/usage: bpfkit/);
      expect(fs.readdirSync(cacheDir())).toEqual([]);

      fs.rmSync(path.join(home, 'cache'), { recursive: true });
      expect(run(['--help'], { BPFKIT_NO_CODE_CACHE: '1' })).toEqual(help);
      expect(fs.existsSync(path.join(home, 'cache'))).toBe(false);
      // No HOME and no XDG_CACHE_HOME: no cache, the same answer.
      const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      expect(r.stdout).toBe(help.stdout);
    });

    it.skipIf(!fs.existsSync('/sys/kernel/btf/vmlinux'))('writes all of an output larger than a pipe holds', () => {
      const types = ['--types', 'task_struct,sk_buff,net_device,bpf_prog,file,inode,super_block,mm_struct'];
      const file = path.join(home, 'out.ts');
      const toFile = spawnSync(process.execPath, [bin, 'gen', 'types', '/sys/kernel/btf/vmlinux', ...types, '-o', file], {
        encoding: 'utf8',
      });
      expect(toFile.status, toFile.stderr).toBe(0);
      const whole = fs.readFileSync(file, 'utf8');
      expect(whole.length).toBeGreaterThan(64 * 1024);
      const piped = run(['gen', 'types', '/sys/kernel/btf/vmlinux', ...types]);
      expect(piped.status, piped.stderr).toBe(0);
      expect(piped.stdout).toBe(whole);
    });

    it('has the memory of short commands populated (locked) where locking has no limit; not for commands that run on', () => {
      // What the process has locked when it ends, written by a module preloaded before the bin.
      const hook = path.join(home, 'locked-at-exit.cjs');
      const report = path.join(home, 'locked');
      fs.writeFileSync(
        hook,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, /^VmLck:\\s+(\\d+) kB$/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]));`,
      );
      const lockedKb = (args: string[], env: Record<string, string> = {}) => {
        fs.rmSync(report, { force: true });
        const r = spawnSync(process.execPath, ['--require', hook, bin, ...args], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
        });
        expect(r.error).toBeUndefined();
        return Number(fs.readFileSync(report, 'utf8'));
      };
      const ipcLock = capabilities().CAP_IPC_LOCK;
      const unlimited = spawnSync('sh', ['-c', 'ulimit -l'], { encoding: 'utf8' }).stdout.trim() === 'unlimited';
      const allowed = ipcLock || unlimited;

      const disasm = lockedKb(['disasm', object]);
      if (allowed) expect(disasm).toBeGreaterThan(1024);
      else expect(disasm).toBe(0);
      expect(lockedKb(['disasm', object], { BPFKIT_NO_PREFAULT: '1' })).toBe(0);
      // These run until Ctrl-C when given what they need (here they stop at their usage errors).
      expect(lockedKb(['events'])).toBe(0);
      expect(lockedKb(['prog', 'attach'])).toBe(0);
    });

    it('exits with the command status, with a cache and without', () => {
      for (let i = 0; i < 2; i++) {
        const r = run(['no-such-command']);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/unknown command 'no-such-command'/);
      }
    });
  },
);
