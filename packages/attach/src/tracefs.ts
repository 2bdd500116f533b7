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
