/**
 * kprobes made through tracefs (`kprobe_events`), for kernels or setups
 * without the kprobe PMU: a probe event named for this process, found
 * like a tracepoint, and removed again when its attachment goes.
 *
 * @module
 */
import fs from 'node:fs';
import { BpfError, Errno, InvalidArgumentError, NotSupportedError, OwnedHandle } from '@bpfkit/core';
import type { AttachTarget, Link, LinkInfo, Program } from '@bpfkit/core';
import { tracefsDir, tracepointId } from '../tracefs.js';

/**
 * A kprobe event bpfkit wrote to `kprobe_events`.
 *
 * @example
 * using link = prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', method: 'tracefs' }) as KprobeEventLink;
 * link.event.definition; // 'p:bpfkit_4242_1/do_unlinkat do_unlinkat'
 */
export interface KprobeEvent {
  /** Its group: `bpfkit_<pid>_<n>`, unique to this process and probe. */
  readonly group: string;
  /** Its name: the symbol (and offset) with what tracefs refuses replaced by `_`. */
  readonly name: string;
  /** The line that made it, e.g. `p:bpfkit_42_1/do_unlinkat do_unlinkat`. */
  readonly definition: string;
  /** Its id (`events/<group>/<name>/id`): the config of a PERF_TYPE_TRACEPOINT event. */
  readonly id: number;
}

let serial = 0;

/** The `kprobe_events` file, or undefined when the kernel has none (no CONFIG_KPROBE_EVENTS). */
export function kprobeEventsFile(): string | undefined {
  const file = `${tracefsDir()}/kprobe_events`;
  return fs.existsSync(file) ? file : undefined;
}

/** Appends `line` to a tracefs control file (never truncating it: O_TRUNC on kprobe_events removes every probe). */
function appendLine(file: string, line: string): void {
  fs.appendFileSync(file, `${line}\n`);
}

/** The errno of a failed write to tracefs, as a positive number. */
function errnoOf(err: unknown): number {
  const n = (err as NodeJS.ErrnoException).errno;
  return typeof n === 'number' ? Math.abs(n) : Errno.EINVAL;
}

/**
 * Writes a kprobe (or kretprobe) on `symbol+offset` to `kprobe_events` and
 * reads its id; a failure after the write removes the event again.
 *
 * @throws NotSupportedError without `kprobe_events`; BpfError with the write's errno
 */
export function addKprobeEvent(symbol: string, offset: number, ret: boolean): KprobeEvent {
  const file = kprobeEventsFile();
  if (file === undefined) {
    throw new NotSupportedError(
      'attaching kprobes through tracefs',
      undefined,
      `this kernel has no ${tracefsDir()}/kprobe_events (built without CONFIG_KPROBES / CONFIG_KPROBE_EVENTS)`,
    );
  }
  serial += 1;
  const group = `bpfkit_${process.pid}_${serial}`;
  // Event names are C identifiers of at most 63 bytes (MAX_EVENT_NAME_LEN).
  const name = `${symbol}${offset ? `_0x${offset.toString(16)}` : ''}`
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^([0-9])/, '_$1')
    .slice(0, 63);
  const place = offset ? `${symbol}+${offset}` : symbol;
  const definition = `${ret ? 'r' : 'p'}:${group}/${name} ${place}`;
  try {
    appendLine(file, definition);
  } catch (err) {
    throw new BpfError(errnoOf(err), { syscall: 'write', subject: `${file}: '${definition}'` });
  }
  try {
    return { group, name, definition, id: tracepointId(group, name) };
  } catch (err) {
    removeKprobeEvent({ group, name });
    throw err;
  }
}

/** Sleeps `ms` milliseconds without returning to the event loop. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes a probe event (`-:group/name`). An event still in use answers
 * EBUSY until the perf event holding it is gone, so this tries a few times;
 * an event already gone is fine.
 */
export function removeKprobeEvent(event: { group: string; name: string }): void {
  const file = kprobeEventsFile();
  if (file === undefined) return;
  const line = `-:${event.group}/${event.name}`;
  for (let attempt = 0; ; attempt++) {
    try {
      appendLine(file, line);
      return;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === Errno.ENOENT) return;
      if (errno !== Errno.EBUSY || attempt >= 20) throw new BpfError(errno, { syscall: 'write', subject: `${file}: '${line}'` });
      pause(5 * (attempt + 1));
    }
  }
}

/**
 * A program attached to a kprobe event bpfkit wrote to `kprobe_events`:
 * the attachment itself (a perf event link, or the ioctl attachment of
 * older kernels) and the probe event, which is removed when this closes
 * (or is garbage-collected). It cannot be pinned: the probe event would
 * not outlive this process's handle.
 *
 * @example
 * using link = prog.attach({ kind: 'kprobe', symbol: 'do_unlinkat', method: 'tracefs' });
 */
export class KprobeEventLink extends OwnedHandle implements Link {
  readonly target: AttachTarget;
  /** The probe event this attachment made (removed on close). */
  readonly event: KprobeEvent;
  /** The attachment to the probe's perf event. */
  readonly attachment: Link;

  /** Takes ownership of `attachment` and of `event`. */
  constructor(attachment: Link, event: KprobeEvent, target: AttachTarget, label: string) {
    super(label, () => {
      try {
        attachment.close();
      } finally {
        removeKprobeEvent(event);
      }
    });
    this.attachment = attachment;
    this.event = event;
    this.target = target;
  }

  info(): LinkInfo {
    this.assertOpen();
    return this.attachment.info();
  }

  /** What the underlying attachment answers (perf event links keep their program: the kernel refuses). */
  update(program: Program): void {
    this.assertOpen();
    this.attachment.update(program);
  }

  pin(_path: string): never {
    this.assertOpen();
    throw new NotSupportedError(
      `pinning ${this.label}`,
      undefined,
      `its probe event ${this.event.group}/${this.event.name} is removed when this handle closes; attach through the kprobe PMU (method 'pmu') to pin`,
      'bpfkit',
    );
  }

  unpin(): never {
    this.assertOpen();
    throw new InvalidArgumentError(`${this.label}: unpin`, 'a pinned link (a tracefs kprobe is never pinned)', 'a tracefs kprobe');
  }

  /** Detaches the program and removes the probe event. */
  detach(): void {
    this.assertOpen();
    this.close();
  }
}
