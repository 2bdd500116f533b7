import type { AttachTarget, Codec, CollectionOptions, GlobalValue, PerfEventArrayOptions, System } from '@bpfkit/core';
import type { ManagerStep } from './errors.js';
import type { PidFilterMode, PidRef } from './pid-filter.js';

/**
 * One BPF object the manager loads: a path or the bytes of a clang-compiled
 * object, values for its `const volatile` globals, and other collection
 * options (not `pinPath`, which the manager's spec gives for all objects,
 * and not `constants`, given here).
 *
 * @example
 * const tracer: ManagerObject = { object: 'tracer.bpf.o', constants: { kinds: 1 } };
 */
export interface ManagerObject {
  object: string | Uint8Array;
  constants?: Record<string, GlobalValue>;
  options?: Omit<CollectionOptions, 'constants' | 'pinPath'>;
}

/**
 * A program to attach when the manager starts: which program (by function
 * name, of `object` or of the only object that has it), where (any
 * {@link AttachTarget}), under which name.
 *
 * @example
 * const openat: ManagerAttachment = { program: 'on_openat', target: { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } };
 */
export interface ManagerAttachment {
  /** The link's name (default: the program's name, with `#2`, `#3`… when a program attaches more than once). */
  name?: string;
  /** The object holding the program (default: the only object that has a program of that name). */
  object?: string;
  program: string;
  target: AttachTarget;
  /** Pins the link at this path (bpffs on the kernel). */
  pin?: string;
  /** Leaves the pinned link in place when the manager stops or the process is signalled: it outlives the process. Default false: the pin is removed. */
  keepPin?: boolean;
}

/**
 * What a reader's handler is told with each batch.
 *
 * @example
 * const handler = (batch: Uint8Array[], { reader }: ManagerBatchContext) => console.log(reader, batch.length);
 */
export interface ManagerBatchContext {
  /** The reader's name. */
  reader: string;
}

/**
 * A ring buffer or perf event array the manager reads while started: a
 * handler receives the records in batches of at most `batchSize`, a
 * partial batch after `flushIntervalMs`. A handler that returns a promise
 * is awaited before the next batch; records that arrive meanwhile queue up
 * to `maxQueued`, past which they are dropped and counted.
 *
 * @example
 * const events: ManagerReader<Uint8Array> = {
 *   map: 'events',
 *   batchSize: 128,
 *   flushIntervalMs: 100,
 *   handler(batch) { console.log(`${batch.length} records`); },
 * };
 */
export interface ManagerReader<T = Uint8Array> {
  /** The reader's name in stats and metrics (default: the map's name). */
  name?: string;
  /** The object holding the map (default: the only object that has a map of that name). */
  object?: string;
  map: string;
  /** Decodes each record (default: its bytes, copied). */
  codec?: Codec<T>;
  /** Receives each batch; errors it throws are counted (`handlerErrors`) and given to `onError`. */
  handler(batch: T[], context: ManagerBatchContext): void | Promise<void>;
  /** Largest batch (default 64). */
  batchSize?: number;
  /** A partial batch is handed over after this many milliseconds (default 1000). */
  flushIntervalMs?: number;
  /** Records held while the handler is busy before new ones are dropped (default 65536). */
  maxQueued?: number;
  /** Perf event arrays: ring size and wake-up settings. */
  perf?: Omit<PerfEventArrayOptions, 'codec'>;
}

/**
 * The PID filter the manager keeps in a map its programs consult (see
 * {@link PidFilter}): which mode, and which processes to start with.
 *
 * @example
 * const filter: ManagerPidFilter = { mode: 'allowlist', allow: [process.pid] };
 */
export interface ManagerPidFilter {
  /** The filter map (default `'pid_filter'`). */
  map?: string;
  /** The namespace map (default `'pid_namespaces'`). */
  namespacesMap?: string;
  /** The object holding the maps (default: the first object that has them); other objects that declare maps of the same names share these. */
  object?: string;
  /** What happens to processes not listed: `'allowlist'` drops them, `'blocklist'` lets them through, `'off'` lets everything through. */
  mode: PidFilterMode;
  /** Processes allowed from the start (pids as this process sees them, or pids with their namespace). */
  allow?: readonly (number | PidRef)[];
  /** Processes blocked from the start. */
  block?: readonly (number | PidRef)[];
}

/**
 * Everything a {@link Manager} loads, attaches and reads: Beyla's tracer
 * description as data.
 *
 * @example
 * const spec: ManagerSpec = {
 *   system,
 *   objects: { tracer: { object: 'tracer.bpf.o' } },
 *   attachments: [{ program: 'on_openat', target: { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } }],
 *   readers: [{ map: 'events', handler: (batch) => console.log(batch.length) }],
 *   pidFilter: { mode: 'allowlist', allow: [process.pid] },
 *   handleSignals: true,
 * };
 */
export interface ManagerSpec {
  /** The backend: `openSystem()`, a `NativeSystem` or a `MockSystem`. The manager does not close it. */
  system: System;
  /** The objects, loaded in this order, by name. */
  objects: Readonly<Record<string, ManagerObject>>;
  /** Attached in this order once every object is loaded. */
  attachments?: readonly ManagerAttachment[];
  /** Opened once everything is attached. */
  readers?: readonly ManagerReader<unknown>[];
  pidFilter?: ManagerPidFilter;
  /**
   * Maps shared between objects by name: the first object that declares one
   * creates it (or opens it from `pinPath`), the next ones use that map
   * instead of creating their own. The PID filter's maps are always shared.
   */
  sharedMaps?: readonly string[];
  /** Directory (bpffs on the kernel) where maps the objects pin by name are kept. */
  pinPath?: string;
  /** Leaves pins the manager created under `pinPath` when it stops: they outlive the process. Default false: removed on stop. */
  keepPins?: boolean;
  /** Switches on the kernel's run statistics (BPF_ENABLE_STATS) while started, for `stats()`' run counts and times. */
  runStats?: boolean;
  /** While started, SIGINT and SIGTERM stop the manager (then the signal takes its course). Default false. */
  handleSignals?: boolean;
  /** Told of each step of start as it begins. */
  onStep?: (step: ManagerStep) => void;
  /** Errors of readers and their handlers once started (default: written to stderr). */
  onError?: (error: Error, reader: string) => void;
}

/**
 * Types a reader with a codec: the handler's batch is `T[]` where `T` is
 * what the codec decodes (a reader written inline in a spec's `readers`
 * sees `unknown[]`).
 *
 * @example
 * const event = struct({ pid: [0, u32], kind: [4, u32] }, { size: 16 });
 * const spec: Partial<ManagerSpec> = {
 *   readers: [defineReader({ map: 'events', codec: event, handler: (batch) => console.log(batch.map((e) => e.pid)) })],
 * };
 */
export function defineReader<T>(reader: ManagerReader<T>): ManagerReader<unknown> {
  return reader as ManagerReader<unknown>;
}
