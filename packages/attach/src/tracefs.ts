/**
 * tracefs: where the kernel lists its tracepoints (`events/<group>/<name>/id`).
 *
 * @module
 */
import fs from 'node:fs';
import { BpfError, InvalidArgumentError } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';

/** Where tracefs is found: its own mount point (4.1), then under debugfs. */
const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

/** A tracepoint group or event name: no path separators, nothing to escape tracefs with. */
const TRACEPOINT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The tracefs directory, mounting tracefs at /sys/kernel/tracing when it is
 * mounted nowhere (which needs CAP_SYS_ADMIN; the mount stays, as a
 * system's tracefs does).
 *
 * @example
 * const dir = tracefsDir(); // '/sys/kernel/tracing'
 */
export function tracefsDir(): string {
  for (const dir of TRACEFS_DIRS) if (fs.existsSync(`${dir}/events`)) return dir;
  const r = native.mount('tracefs', TRACEFS_DIRS[0], 'tracefs', 0, null);
  if (r < 0) {
    throw new BpfError(-r, {
      syscall: 'mount',
      subject: `tracefs at ${TRACEFS_DIRS[0]}`,
      hint: 'tracepoints are found in tracefs: mount it (mount -t tracefs tracefs /sys/kernel/tracing) or run with CAP_SYS_ADMIN',
    });
  }
  return TRACEFS_DIRS[0];
}

/**
 * The id of tracepoint `group:name` (what perf_event_open takes as the
 * config of a PERF_TYPE_TRACEPOINT event).
 *
 * @example
 * tracepointId('sched', 'sched_process_exec'); // e.g. 312
 */
export function tracepointId(group: string, name: string): number {
  if (typeof group !== 'string' || !TRACEPOINT_NAME.test(group))
    throw new InvalidArgumentError('tracepoint group', 'a tracefs event group such as "sched"', group);
  if (typeof name !== 'string' || !TRACEPOINT_NAME.test(name))
    throw new InvalidArgumentError('tracepoint name', 'a tracefs event name such as "sched_process_exec"', name);
  const file = `${tracefsDir()}/events/${group}/${name}/id`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InvalidArgumentError('tracepoint', `a tracepoint of this kernel (no ${file})`, `${group}:${name}`);
    }
    throw err;
  }
  return Number.parseInt(text.trim(), 10);
}

/**
 * The kernel functions ftrace can hook (`available_filter_functions`, one
 * per line, `name` or `name [module]`): what kprobe_multi links attach to.
 * Names can repeat (static functions of the same name in several files).
 *
 * @throws BpfError when the file cannot be read (EPERM under lockdown)
 * @example
 * availableFilterFunctions().some((f) => f.name === 'do_unlinkat'); // true
 */
export function availableFilterFunctions(): { name: string; module?: string }[] {
  const file = `${tracefsDir()}/available_filter_functions`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BpfError(Math.abs(e.errno ?? 0) || 2, {
      syscall: 'open',
      subject: file,
      hint: e.code === 'ENOENT' ? 'this kernel is built without CONFIG_FUNCTION_TRACER / CONFIG_DYNAMIC_FTRACE' : undefined,
    });
  }
  const out: { name: string; module?: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)(?:\s+\[(\S+)\])?/.exec(line);
    if (m) out.push(m[2] ? { name: m[1]!, module: m[2] } : { name: m[1]! });
  }
  return out;
}
