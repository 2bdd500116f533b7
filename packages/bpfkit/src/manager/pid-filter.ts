import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, MapType } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';

/**
 * What the filter does with processes it does not list: `'allowlist'`
 * drops them (only allowed processes pass), `'blocklist'` lets them
 * through (only blocked processes are dropped), `'off'` lets every
 * process through whatever is listed.
 *
 * @example
 * declare const filter: PidFilter;
 * const mode: PidFilterMode = 'blocklist';
 * filter.setMode(mode);
 */
export type PidFilterMode = 'allowlist' | 'blocklist' | 'off';

/**
 * A pid namespace, as `stat()` of `/proc/<pid>/ns/pid` identifies it.
 *
 * @example
 * const ns: PidNamespace = pidNamespaceOf(process.pid);
 */
export interface PidNamespace {
  dev: bigint;
  ino: bigint;
}

/**
 * A process as the filter map keys it: its pid as its own pid namespace
 * sees it (inside a container, the container's pid), and that namespace.
 *
 * @example
 * declare const filter: PidFilter;
 * const inContainer: PidRef = { pid: 1, ns: pidNamespaceOf(4242) }; // pid 1 of the namespace of host pid 4242
 * filter.allow(inContainer);
 */
export interface PidRef {
  pid: number;
  ns: PidNamespace;
}

/**
 * A listed process and its verdict.
 *
 * @example
 * declare const filter: PidFilter;
 * const blocked = filter.list().filter((e: PidFilterEntry) => e.verdict === 'block');
 */
export interface PidFilterEntry extends PidRef {
  verdict: 'allow' | 'block';
}

/**
 * Value of a filter map entry that lets a process through.
 *
 * @example
 * map.lookup(pidFilterKey({ pid: process.pid, ns: pidNamespaceOf(process.pid) }))?.[0] === PID_FILTER_ALLOW;
 */
export const PID_FILTER_ALLOW = 1;
/**
 * Value of a filter map entry that drops a process's events.
 *
 * @example
 * const blocked = new Uint8Array([PID_FILTER_BLOCK]);
 */
export const PID_FILTER_BLOCK = 2;
/**
 * Bytes of a filter map key: `{ __u32 pid; __u32 pad; __u64 ns_dev; __u64 ns_ino; }`.
 *
 * @example
 * const spec: MapSpec = { name: 'pid_filter', type: MapType.HASH, keySize: PID_FILTER_KEY_SIZE, valueSize: 1, maxEntries: 4096 };
 */
export const PID_FILTER_KEY_SIZE = 24;
/**
 * Bytes of a namespace map value: `{ __u64 dev; __u64 ino; }`.
 *
 * @example
 * const spec: MapSpec = { name: 'pid_namespaces', type: MapType.ARRAY, keySize: 4, valueSize: PID_NAMESPACE_SIZE, maxEntries: 8 };
 */
export const PID_NAMESPACE_SIZE = 16;

const LE = os.endianness() === 'LE';

/**
 * The pid namespace of process `pid` (as this process sees it), from `/proc/<pid>/ns/pid`.
 *
 * @example
 * const ns = pidNamespaceOf(process.pid); // { dev: 4n, ino: 4026531836n }
 */
export function pidNamespaceOf(pid: number, procRoot = '/proc'): PidNamespace {
  checkPid(pid, 'pidNamespaceOf: pid');
  const st = fs.statSync(path.join(procRoot, String(pid), 'ns', 'pid'), { bigint: true });
  return { dev: st.dev, ino: st.ino };
}

/**
 * Process `pid` (a pid as this process sees it) as the filter keys it: its
 * pid in its own namespace (the last `NSpid` of `/proc/<pid>/status`) and
 * that namespace. Throws ENOENT when the process is gone.
 *
 * @example
 * const ref = resolvePid(process.pid); // { pid: process.pid, ns: { dev, ino } } outside containers
 */
export function resolvePid(pid: number, procRoot = '/proc'): PidRef {
  checkPid(pid, 'resolvePid: pid');
  const ns = pidNamespaceOf(pid, procRoot);
  const status = fs.readFileSync(path.join(procRoot, String(pid), 'status'), 'utf8');
  const line = /^NSpid:\s*(.*)$/m.exec(status)?.[1];
  const inner = line?.trim().split(/\s+/).at(-1);
  return { pid: inner ? Number(inner) : pid, ns };
}

/**
 * The filter map's key for `ref`, in the host's byte order.
 *
 * @example
 * pidFilterKey({ pid: 42, ns: { dev: 4n, ino: 4026531836n } }).length; // 24
 */
export function pidFilterKey(ref: PidRef): Uint8Array {
  const key = new Uint8Array(PID_FILTER_KEY_SIZE);
  const view = new DataView(key.buffer);
  view.setUint32(0, ref.pid >>> 0, LE);
  view.setBigUint64(8, BigInt.asUintN(64, ref.ns.dev), LE);
  view.setBigUint64(16, BigInt.asUintN(64, ref.ns.ino), LE);
  return key;
}

function checkPid(pid: unknown, argument: string): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || pid > 0x3fffffff) {
    throw new InvalidArgumentError(argument, 'a process id (a positive integer)', pid);
  }
}

function checkRef(ref: unknown, argument: string): PidRef {
  if (typeof ref === 'number') return resolvePid(ref);
  if (typeof ref === 'object' && ref !== null) {
    const r = ref as Partial<PidRef>;
    checkPid(r.pid, `${argument}.pid`);
    if (typeof r.ns !== 'object' || r.ns === null || typeof r.ns.dev !== 'bigint' || typeof r.ns.ino !== 'bigint' || r.ns.ino === 0n) {
      throw new InvalidArgumentError(`${argument}.ns`, 'a pid namespace { dev: bigint, ino: bigint } (stat of /proc/<pid>/ns/pid)', r.ns);
    }
    return { pid: r.pid, ns: { dev: r.ns.dev, ino: r.ns.ino } };
  }
  throw new InvalidArgumentError(argument, 'a process id, or { pid, ns } of a pid namespace', ref);
}

const refId = (ref: PidRef): string => `${ref.pid}:${ref.ns.dev}:${ref.ns.ino}`;
const nsId = (ns: PidNamespace): string => `${ns.dev}:${ns.ino}`;

/**
 * What {@link PidFilter.sync} changed.
 *
 * @example
 * declare const filter: PidFilter;
 * const { added, removed }: PidSyncResult = filter.sync([process.pid]);
 */
export interface PidSyncResult {
  added: PidRef[];
  removed: PidRef[];
}

/**
 * A process {@link PidFilter.watch} looks at.
 *
 * @example
 * const isNginx = (p: ProcessInfo) => p.comm === 'nginx' || p.cmdline[0]?.endsWith('/nginx') === true;
 */
export interface ProcessInfo {
  /** Its pid as this process sees it. */
  pid: number;
  /** `/proc/<pid>/comm`. */
  comm: string;
  /** `/proc/<pid>/cmdline`, split at NULs. */
  cmdline: string[];
}

/**
 * Options of {@link PidFilter.watch}.
 *
 * @example
 * declare const filter: PidFilter;
 * const options: PidWatchOptions = { select: (p) => p.comm === 'node', intervalMs: 2000, signal: AbortSignal.timeout(60_000) };
 * filter.watch(options);
 */
export interface PidWatchOptions {
  /** Which processes to list. */
  select(process: ProcessInfo): boolean;
  /** The verdict they get (default: `'allow'` unless the mode is `'blocklist'`). */
  verdict?: 'allow' | 'block';
  /** Time between two scans of /proc (default 1000 ms). */
  intervalMs?: number;
  /** Stops watching when aborted. */
  signal?: AbortSignal;
  /** Errors of a scan (default: written to stderr). */
  onError?: (error: Error) => void;
  /** Where to scan (default `/proc`). */
  procRoot?: string;
}

/**
 * A running {@link PidFilter.watch}.
 *
 * @example
 * declare const filter: PidFilter;
 * const watch: PidWatch = filter.watch({ select: (p) => p.comm === 'node' });
 * watch.refresh();
 * watch.close();
 */
export interface PidWatch extends Disposable {
  /** Scans now; resolves what changed. */
  refresh(): PidSyncResult;
  /** Stops watching (the entries stay). */
  close(): void;
}

/**
 * The PID filter of a set of programs, as Beyla keeps it: a hash map the
 * programs consult before they report anything, keyed by a process's pid
 * in its own pid namespace and that namespace (dev and inode of
 * `/proc/<pid>/ns/pid`), valued {@link PID_FILTER_ALLOW} or
 * {@link PID_FILTER_BLOCK}; the all-zero key holds the verdict for
 * processes not listed (the mode). A second map, an array, lists the
 * namespaces in use: `bpf_get_ns_current_pid_tgid` answers only for the
 * namespace a task runs in, so a program asks each until one answers.
 * `packages/bpfkit/testdata/pid_filter.h` is the C side.
 *
 * @example
 * using coll = system.loadCollection('tracer.bpf.o');
 * const filter = new PidFilter(coll.maps.pid_filter!, coll.maps.pid_namespaces!, { mode: 'allowlist' });
 * filter.allow(process.pid);
 * filter.sync([process.pid, 1234]); // exactly these are allowed now
 */
export class PidFilter {
  readonly #filter: Map<unknown, unknown>;
  readonly #namespaces: Map<unknown, unknown>;
  readonly #entries = new globalThis.Map<string, PidFilterEntry>();
  #slots: PidNamespace[] = [];
  #mode: PidFilterMode;

  constructor(filter: Map<unknown, unknown>, namespaces: Map<unknown, unknown>, options: { mode?: PidFilterMode } = {}) {
    if (
      filter.keySize !== PID_FILTER_KEY_SIZE ||
      filter.valueSize < 1 ||
      (filter.type !== MapType.HASH && filter.type !== MapType.LRU_HASH)
    ) {
      throw new InvalidArgumentError(
        'PidFilter: filter map',
        `a hash map with ${PID_FILTER_KEY_SIZE}-byte keys ({ u32 pid; u32 pad; u64 ns_dev; u64 ns_ino }) and u8 values`,
        `map '${filter.name}' (type ${filter.type}, key ${filter.keySize} bytes, value ${filter.valueSize})`,
      );
    }
    if (namespaces.type !== MapType.ARRAY || namespaces.keySize !== 4 || namespaces.valueSize !== PID_NAMESPACE_SIZE) {
      throw new InvalidArgumentError(
        'PidFilter: namespace map',
        `an array of ${PID_NAMESPACE_SIZE}-byte values ({ u64 dev; u64 ino })`,
        `map '${namespaces.name}' (type ${namespaces.type}, key ${namespaces.keySize} bytes, value ${namespaces.valueSize})`,
      );
    }
    this.#filter = filter;
    this.#namespaces = namespaces;
    this.#mode = options.mode ?? 'allowlist';
    this.#writeMode();
  }

  /** What happens to processes not listed. */
  get mode(): PidFilterMode {
    return this.#mode;
  }

  /**
   * Changes the mode (the entries stay).
   *
   * @example
   * declare const filter: PidFilter;
   * filter.setMode('off'); // everything passes
   */
  setMode(mode: PidFilterMode): void {
    if (mode !== 'allowlist' && mode !== 'blocklist' && mode !== 'off') {
      throw new InvalidArgumentError('setMode: mode', "'allowlist', 'blocklist' or 'off'", mode);
    }
    this.#mode = mode;
    this.#writeMode();
  }

  /**
   * Lets a process through: a pid as this process sees it (resolved through
   * /proc), or its pid in its namespace with the namespace.
   *
   * @example
   * declare const filter: PidFilter;
   * filter.allow(process.pid);
   */
  allow(process: number | PidRef): PidRef {
    return this.#set(checkRef(process, 'allow: process'), 'allow');
  }

  /**
   * Drops a process's events.
   *
   * @example
   * declare const filter: PidFilter;
   * filter.block(process.pid);
   */
  block(process: number | PidRef): PidRef {
    return this.#set(checkRef(process, 'block: process'), 'block');
  }

  /**
   * Takes a process off the list; true when it was listed. A pid whose
   * process is gone must be given with its namespace (as `list()` has it).
   *
   * @example
   * declare const filter: PidFilter;
   * filter.remove(process.pid);
   */
  remove(process: number | PidRef): boolean {
    const ref =
      typeof process === 'number'
        ? ([...this.#entries.values()].find((e) => e.pid === process) ?? checkRef(process, 'remove: process'))
        : checkRef(process, 'remove: process');
    const id = refId(ref);
    if (!this.#entries.has(id)) return false;
    this.#filter.delete(pidFilterKey(ref));
    this.#entries.delete(id);
    this.#writeNamespaces();
    return true;
  }

  /**
   * The verdict of a listed process, or undefined.
   *
   * @example
   * declare const filter: PidFilter;
   * filter.verdict(process.pid); // 'allow'
   */
  verdict(process: number | PidRef): 'allow' | 'block' | undefined {
    return this.#entries.get(refId(checkRef(process, 'verdict: process')))?.verdict;
  }

  /**
   * The listed processes.
   *
   * @example
   * declare const filter: PidFilter;
   * for (const { pid, verdict } of filter.list()) console.log(pid, verdict);
   */
  list(): PidFilterEntry[] {
    return [...this.#entries.values()].map((e) => ({ pid: e.pid, ns: { ...e.ns }, verdict: e.verdict }));
  }

  /**
   * The namespaces of the listed processes, as the namespace map holds them.
   *
   * @example
   * declare const filter: PidFilter;
   * filter.namespaces().length; // 1 outside containers
   */
  namespaces(): PidNamespace[] {
    return this.#slots.map((ns) => ({ ...ns }));
  }

  /**
   * Makes the processes with `verdict` exactly `processes`: lists the new
   * ones, takes off those no longer there (processes that are gone are
   * skipped). Entries of the other verdict stay.
   *
   * @example
   * declare const filter: PidFilter;
   * const { added, removed } = filter.sync([process.pid]);
   */
  sync(processes: Iterable<number | PidRef>, verdict: 'allow' | 'block' = this.#mode === 'blocklist' ? 'block' : 'allow'): PidSyncResult {
    const wanted = new globalThis.Map<string, PidRef>();
    for (const p of processes) {
      let ref: PidRef;
      try {
        ref = checkRef(p, 'sync: processes');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') continue;
        throw err;
      }
      wanted.set(refId(ref), ref);
    }
    const removed: PidRef[] = [];
    for (const [id, entry] of [...this.#entries]) {
      if (entry.verdict !== verdict || wanted.has(id)) continue;
      this.#filter.delete(pidFilterKey(entry));
      this.#entries.delete(id);
      removed.push({ pid: entry.pid, ns: entry.ns });
    }
    if (removed.length) this.#writeNamespaces();
    const added: PidRef[] = [];
    for (const [id, ref] of wanted) {
      if (this.#entries.get(id)?.verdict === verdict) continue;
      this.#set(ref, verdict);
      added.push(ref);
    }
    return { added, removed };
  }

  /**
   * Keeps the list in step with the processes `select` picks, scanning
   * /proc now and every `intervalMs`; processes that exit are taken off at
   * the next scan.
   *
   * @example
   * declare const filter: PidFilter;
   * using watch = filter.watch({ select: (p) => p.comm === 'nginx', intervalMs: 500 });
   */
  watch(options: PidWatchOptions): PidWatch {
    if (typeof options?.select !== 'function')
      throw new InvalidArgumentError('watch: select', 'a function of a ProcessInfo', options?.select);
    const intervalMs = options.intervalMs ?? 1000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0)
      throw new InvalidArgumentError('watch: intervalMs', 'a positive number of milliseconds', intervalMs);
    const procRoot = options.procRoot ?? '/proc';
    const onError = options.onError ?? ((err: Error) => process.stderr.write(`bpfkit PidFilter.watch: ${err.message}\n`));
    const refresh = (): PidSyncResult => {
      // A picked process this one may not inspect (another user's, without CAP_SYS_PTRACE) is
      // reported and left out; the others are still listed.
      const refs: PidRef[] = [];
      for (const pid of scanProcesses(procRoot, options.select)) {
        try {
          refs.push(resolvePid(pid, procRoot));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ESRCH')
            onError(new Error(`process ${pid}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
        }
      }
      return this.sync(refs, options.verdict);
    };
    refresh();
    const timer = setInterval(() => {
      try {
        refresh();
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)));
      }
    }, intervalMs);
    timer.unref();
    const close = () => {
      clearInterval(timer);
      options.signal?.removeEventListener('abort', close);
    };
    options.signal?.addEventListener('abort', close, { once: true });
    if (options.signal?.aborted) close();
    return { refresh, close, [Symbol.dispose]: close };
  }

  /**
   * Takes every process off the list (the mode stays).
   *
   * @example
   * declare const filter: PidFilter;
   * filter.clear();
   */
  clear(): void {
    for (const entry of this.#entries.values()) this.#filter.delete(pidFilterKey(entry));
    this.#entries.clear();
    this.#writeNamespaces();
  }

  #set(ref: PidRef, verdict: 'allow' | 'block'): PidRef {
    const id = refId(ref);
    if (!this.#slots.some((ns) => nsId(ns) === nsId(ref.ns))) {
      if (this.#slots.length >= this.#namespaces.maxEntries) {
        throw new InvalidArgumentError(
          'PidFilter: process',
          `a process of one of the ${this.#namespaces.maxEntries} pid namespaces the namespace map '${this.#namespaces.name}' has room for`,
          `pid ${ref.pid} of namespace ${ref.ns.dev}:${ref.ns.ino}`,
        );
      }
      // The namespace first, so that a program finds the process's entry as soon as it is there.
      this.#slots.push({ ...ref.ns });
      this.#writeSlot(this.#slots.length - 1, ref.ns);
    }
    const value = new Uint8Array(this.#filter.valueSize);
    value[0] = verdict === 'allow' ? PID_FILTER_ALLOW : PID_FILTER_BLOCK;
    (this.#filter as Map).update(pidFilterKey(ref), value);
    this.#entries.set(id, { pid: ref.pid, ns: { ...ref.ns }, verdict });
    return ref;
  }

  #writeSlot(index: number, ns: PidNamespace | undefined): void {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, index, LE);
    const value = new Uint8Array(PID_NAMESPACE_SIZE);
    if (ns) {
      const view = new DataView(value.buffer);
      view.setBigUint64(0, BigInt.asUintN(64, ns.dev), LE);
      view.setBigUint64(8, BigInt.asUintN(64, ns.ino), LE);
    }
    (this.#namespaces as Map).update(key, value);
  }

  /** Rewrites the namespace slots after removals: the namespaces still in use, then zeros. */
  #writeNamespaces(): void {
    const used = new globalThis.Map<string, PidNamespace>();
    for (const e of this.#entries.values()) used.set(nsId(e.ns), e.ns);
    const next = [...used.values()];
    const before = this.#slots.length;
    this.#slots = next;
    for (let i = 0; i < Math.max(before, next.length); i++) this.#writeSlot(i, next[i]);
  }

  #writeMode(): void {
    const key = new Uint8Array(PID_FILTER_KEY_SIZE);
    if (this.#mode === 'off') {
      this.#filter.delete(key);
      return;
    }
    const value = new Uint8Array(this.#filter.valueSize);
    value[0] = this.#mode === 'allowlist' ? PID_FILTER_BLOCK : PID_FILTER_ALLOW;
    (this.#filter as Map).update(key, value);
  }
}

/** The pids of `procRoot` whose process `select` picks (processes that vanish while read are skipped). */
function scanProcesses(procRoot: string, select: (p: ProcessInfo) => boolean): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    let info: ProcessInfo;
    try {
      const comm = fs.readFileSync(path.join(procRoot, name, 'comm'), 'utf8').replace(/\n$/, '');
      const cmdline = fs
        .readFileSync(path.join(procRoot, name, 'cmdline'), 'utf8')
        .split('\0')
        .filter((s, i, all) => s !== '' || i < all.length - 1);
      info = { pid, comm, cmdline };
    } catch {
      continue;
    }
    if (select(info)) out.push(pid);
  }
  return out;
}
