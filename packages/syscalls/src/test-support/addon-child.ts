import { spawnSync } from 'node:child_process';
import { packageRoot } from '../native.js';

/**
 * Runs a small script in a child Node.js with the raw addon loaded as
 * `addon` (all of its exports, before `@bpfkit/syscalls` takes any off), for
 * tests of what only a fresh process shows: flags such as
 * `--allow-natives-syntax`, the environment the addon reads at load, crashes.
 *
 * @example
 * const r = runAddonChild(`console.log(typeof addon.bpf)`);
 * r.output; // 'function\n'
 */
export function runAddonChild(
  body: string,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
  timeout = 30_000,
): { status: number | null; signal: string | null; output: string } {
  const script = `const addon = require('node-gyp-build')(${JSON.stringify(packageRoot())});\n${body}`;
  const r = spawnSync(process.execPath, [...nodeArgs, '-e', script], {
    cwd: packageRoot(),
    encoding: 'utf8',
    timeout,
    env: { ...process.env, ...env },
  });
  return { status: r.status, signal: r.signal, output: `${r.stdout}${r.stderr}` };
}
