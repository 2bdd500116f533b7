/**
 * The native addon: a thin layer that moves bytes between JavaScript and the
 * kernel's system calls (`bpf`, `perf_event_open`, `ioctl`, `mmap`, `close`,
 * netlink sockets, `setsockopt`, rlimits, `mount`) and wakes the event loop
 * when a file descriptor is ready (libuv `uv_poll`).
 *
 * Conventions shared by every function:
 * - A failed system call never throws: functions return a non-negative result
 *   or `-errno` (e.g. `-constants.EPERM`), so callers can build a typed
 *   `BpfError` with context.
 * - Only wrong argument types or counts throw (a `TypeError`; a `RangeError`
 *   for a pointer offset outside `attr`).
 * - Every file descriptor the addon creates is close-on-exec.
 * - Buffers are caller-owned and used in place: the kernel reads and writes
 *   them directly. The addon does not know the kernel's struct sizes, so a
 *   buffer must be at least as large as the kernel will access (a map's
 *   key_size / value_size, per-CPU values rounded up to 8 bytes × possible
 *   CPUs); the TypeScript layers above check this before calling.
 * - For speed, reuse key/value buffers, and allocate them over an explicit
 *   ArrayBuffer (`new Uint8Array(new ArrayBuffer(n))`): V8 keeps small
 *   `new Uint8Array(n)` on its heap and moves them out (~0.5 µs) the first time
 *   native code asks for their address.
 * - Never pass a view whose buffer was transferred away (postMessage or
 *   structuredClone transfer): the map element functions may still reach the
 *   transferred memory through their address cache (memory-safe, but the
 *   bytes now belong to the new owner).
 *
 * @module
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BtfIndexer } from '@bpfkit/elf';

/** Readiness notifications for one file descriptor, driven by the libuv event loop (`uv_poll`). */
export interface Poller {
  /**
   * Starts (or resumes) polling. Errors — the fd could not be polled, was
   * closed, or libuv reported a failure — arrive asynchronously in the
   * callback as `(status = -errno, events = 0)`. Does nothing after `close()`.
   */
  start(): void;
  /** Stops polling; `start()` resumes. A stopped Poller does not keep the event loop alive. */
  stop(): void;
  /**
   * Stops polling for good and releases the callback. Idempotent. Call it
   * (or `stop()`) before closing the polled fd: libuv must stop watching an
   * fd before it is closed (an fd number reused while still watched confuses
   * the event loop). The Poller does not close the fd.
   */
  close(): void;
  /** Lets a started Poller keep the event loop alive again (the default; `uv_ref`). Returns the Poller. */
  ref(): Poller;
  /** A started Poller no longer keeps the event loop alive (`uv_unref`): the process may exit while it waits. Returns the Poller. */
  unref(): Poller;
}

/** Constructor of {@link Poller}. */
export interface PollerConstructor {
  /**
   * Watches `fd` for `events` (poll(2) bits: `constants.POLLIN`, `POLLOUT`,
   * `POLLPRI`, `POLLRDHUP`) and calls `callback` on the event loop with
   * `status` (0, or -errno on error) and the ready `events` (the same poll(2)
   * bits). Polling begins with `start()`.
   *
   * Notes: libuv sets the fd non-blocking. Only one Poller may watch a given
   * fd at a time (a second one reports -EEXIST). The Poller does not keep
   * itself alive: keep a reference for as long as callbacks are wanted (a
   * garbage-collected Poller stops safely, and its callback never comes).
   * A local variable of an async function that awaits the callback is not
   * such a reference: the suspended function is itself reachable only
   * through the Poller's callback. An exception thrown by the
   * callback is reported like any uncaught exception.
   */
  new (fd: number, events: number, callback: (status: number, events: number) => void): Poller;
}

/** The functions of the native addon. Results are `>= 0` on success or `-errno`. */
export interface NativeAddon {
  /**
   * bpf(2) with `attr` as `union bpf_attr` (its byte length is passed as the
   * size). For each i, first writes the address of `ptrBuffers[i]`'s data
   * (0 for null) as a native-endian u64 into `attr` at byte offset
   * `ptrOffsets[i]`. The kernel may write results back into `attr`.
   * Returns the syscall result (>= 0, e.g. a new fd) or -errno.
   * BPF_PROG_LOAD and BPF_PROG_TEST_RUN run with SIGPROF blocked on the
   * calling thread: a CPU profiler's samples would otherwise cut every long
   * verification (EAGAIN) or repeated test run (EINTR) short.
   */
  bpf(cmd: number, attr: Uint8Array, ptrOffsets?: readonly number[], ptrBuffers?: readonly (Uint8Array | null)[]): number;
  /**
   * {@link bpf} on the libuv thread pool: for commands that take long (the
   * verifier runs in the thread that calls BPF_PROG_LOAD), so the event loop
   * keeps serving. `attr` and the buffers stay referenced until the promise
   * settles; do not touch them meanwhile. Resolves to the result or -errno.
   */
  bpfAsync(cmd: number, attr: Uint8Array, ptrOffsets?: readonly number[], ptrBuffers?: readonly (Uint8Array | null)[]): Promise<number>;
  /**
   * BPF_MAP_LOOKUP_ELEM: copies the value stored under `key` into `value`.
   * `key` is null (NULL to the kernel) to peek at a queue/stack map or query a
   * bloom filter. Returns 0 or -errno (-ENOENT: no such key).
   */
  mapLookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): number;
  /**
   * BPF_MAP_UPDATE_ELEM with `flags` (BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2,
   * BPF_F_LOCK 4). `key` is null to push onto a queue/stack map or add to a
   * bloom filter. Returns 0 or -errno.
   */
  mapUpdate(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): number;
  /** BPF_MAP_DELETE_ELEM (`flags`: 0 normally). Returns 0 or -errno. */
  mapDelete(fd: number, key: Uint8Array, flags: number): number;
  /** BPF_MAP_GET_NEXT_KEY: writes the key after `key` (the first key when `key` is null) into `nextKey`. Returns 0, -ENOENT after the last key, or -errno. */
  mapNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): number;
  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM; `key` is null to pop from a queue or stack map. Returns 0 or -errno. */
  mapLookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): number;
  /**
   * BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH: `cmd` is the bpf
   * command number. `count[0]` is the number of elements in, and is
   * overwritten with the kernel's count out — also on error (-ENOENT with a
   * partial batch is the normal end of a lookup). Returns 0 or -errno.
   */
  mapBatch(
    cmd: number,
    fd: number,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array | null,
    keys: Uint8Array | null,
    values: Uint8Array | null,
    count: Uint32Array,
    elemFlags: number,
    flags: number,
  ): number;
  /** close(2). Returns 0 or -errno. Never retried on EINTR (the fd is gone either way on Linux). */
  close(fd: number): number;
  /**
   * perf_event_open(2) with `attr` as `struct perf_event_attr` (its `size`
   * field must be set). PERF_FLAG_FD_CLOEXEC is always added to `flags`.
   * Returns the new fd or -errno.
   */
  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** ioctl(2) with an integer argument or a pointer to a buffer. Returns the ioctl's result or -errno. */
  ioctl(fd: number, request: number, arg: number | Uint8Array): number;
  /** mmap(2) of a file descriptor. Returns an ArrayBuffer over the mapping (no copy) or -errno. Unmapped by `munmap` or, failing that, when garbage-collected. */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): ArrayBuffer | number;
  /**
   * munmap(2) of a buffer returned by `mmap`; detaches the ArrayBuffer first so
   * JavaScript can no longer touch the freed memory (its views read as empty).
   * Returns 0, or -EINVAL for an already unmapped/detached buffer or one that
   * `mmap` did not return — never crashes.
   */
  munmap(mapping: ArrayBuffer): number;
  /** libuv `uv_poll` on an fd; see {@link PollerConstructor}. */
  Poller: PollerConstructor;
  /** socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) bound to a kernel-assigned port id. Returns the fd or -errno. */
  netlinkOpen(protocol: number): number;
  /** Sends `data`: to the kernel (nl_pid 0) on a netlink socket, with plain send(2) otherwise. Returns bytes sent or -errno. Retried on EINTR. */
  send(fd: number, data: Uint8Array, flags: number): number;
  /** recv(2) into `buffer` (MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC… via flags). Returns bytes received (with MSG_TRUNC: the full length) or -errno. Retried on EINTR. */
  recv(fd: number, buffer: Uint8Array, flags: number): number;
  /** setsockopt(2) with `value` as the option bytes. Returns 0 or -errno. */
  setsockopt(fd: number, level: number, option: number, value: Uint8Array): number;
  /** getsockopt(2) into `value`. Returns the option length the kernel reported, or -errno. */
  getsockopt(fd: number, level: number, option: number, value: Uint8Array): number;
  /** getrlimit(2) of this process; RLIM_INFINITY is 2^64-1. Returns the limits or -errno. */
  getrlimit(resource: number): { soft: bigint; hard: bigint } | number;
  /** setrlimit(2) of this process (2^64-1 for RLIM_INFINITY). Returns 0 or -errno. */
  setrlimit(resource: number, soft: bigint, hard: bigint): number;
  /**
   * `true`: mlockall(MCL_FUTURE), so that the kernel populates every page a later mmap, brk or mprotect makes
   * usable at once instead of faulting it in page by page; taken only where locking has no limit to run into
   * (CAP_IPC_LOCK, or an unlimited RLIMIT_MEMLOCK). `false`: munlockall(). For a short process (the `bpfkit`
   * CLI's commands): the pages stay locked until it exits or unlocks. Returns 1 when future mappings are now
   * populated, 0 when that was not allowed (nothing changed; always 0 for `false` on success), or -errno.
   */
  populateFutureMappings(on: boolean): number;
  /** mount(2); `data` null for none. Returns 0 or -errno. */
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): number;
  /** umount2(2). Returns 0 or -errno. */
  umount(target: string, flags: number): number;
  /** setns(2): moves the JavaScript thread into the namespace of `fd` (`nstype` CLONE_NEWNET, or 0 for any). Returns 0 or -errno. */
  setns(fd: number, nstype: number): number;
  /** socket(2) with SOCK_CLOEXEC added. Returns the fd or -errno. */
  socket(domain: number, type: number, protocol: number): number;
  /** bind(2) to `address`, a `struct sockaddr_*` in bytes. Returns 0 or -errno. */
  bind(fd: number, address: Uint8Array): number;
  /** getsockname(2) into `buffer`. Returns the address length or -errno. */
  getsockname(fd: number, buffer: Uint8Array): number;
  /**
   * The first whole-blob pass of `parseBtf` (see {@link nativeBtfIndexer}):
   * the start of each type record of the section into `offsets`; -1 when a
   * record is cut short or of an unknown kind, -2 when `offsets` is too
   * small.
   */
  btfScanTypes: BtfIndexer['scanTypes'];
  /** The second: the essential-name hash table of `parseBtf`, into `heads`, `entries` and `next`. */
  btfIndexNames: BtfIndexer['indexNames'];
  /**
   * Numbers the TypeScript side needs that differ per architecture or C
   * library, from the headers the addon was compiled against: `NR_bpf`,
   * `NR_perf_event_open`, `PAGE_SIZE`, `SIZEOF_LONG`, `NPROCESSORS_CONF`, poll
   * bits (`POLLIN`, `POLLOUT`, `POLLPRI`, `POLLERR`, `POLLHUP`, `POLLRDHUP`),
   * `PROT_*`, `MAP_SHARED`/`MAP_PRIVATE`, `O_*`, `PERF_FLAG_*`,
   * `PERF_EVENT_IOC_*`, `AF_*`, `SOCK_*`, `SOL_*`, `SO_*`, `MSG_*`,
   * `NETLINK_*`, `RLIMIT_MEMLOCK`, `RLIMIT_NOFILE`, `MS_*`, `MNT_*`, errno
   * values (`EPERM`, `ENOENT`, …, `ENOTSUPP`) and `HOT_PATHS_V8` (1 when the
   * map element functions are V8 callbacks, 0 when Node-API functions).
   */
  constants: Readonly<Record<string, number>>;
}

const PACKAGE_NAME = '@bpfkit/syscalls';

/**
 * The directory of this package (holding package.json and binding.gyp):
 * found by walking up from this module, the same from `src/` (tests run the
 * TypeScript source) and from `dist/` (the built JavaScript); from a bundle
 * that inlined this module elsewhere (the `bpfkit` CLI), by resolving the
 * package from there.
 */
export function packageRoot(): string {
  const here = fileURLToPath(import.meta.url);
  const start = path.dirname(here);
  // The nearest package.json is this package's, unless a bundle inlined this module.
  for (const dir of selfAndAncestors(start)) {
    const name = packageName(dir);
    if (name === PACKAGE_NAME) return dir;
    if (name !== undefined) break;
  }
  // From a bundle: where Node's resolver would look first, node_modules/@bpfkit/syscalls of each directory up,
  // without the resolver itself (its first use costs a command ~4 ms).
  for (const dir of selfAndAncestors(start)) {
    const candidate = path.join(dir, 'node_modules', PACKAGE_NAME);
    if (packageName(candidate) === PACKAGE_NAME) return candidate;
  }
  try {
    return path.dirname(createRequire(here).resolve(`${PACKAGE_NAME}/package.json`));
  } catch {
    throw new Error(`${PACKAGE_NAME}: cannot find the package root above ${start}, nor resolve ${PACKAGE_NAME} from there`);
  }
}

/** `dir`, its parent, and so on up to the root. */
function* selfAndAncestors(dir: string): Generator<string> {
  for (;;) {
    yield dir;
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** The name in `dir/package.json`, or undefined when there is no readable one. */
function packageName(dir: string): string | undefined {
  const manifest = path.join(dir, 'package.json');
  if (!fs.existsSync(manifest)) return undefined;
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const name = typeof parsed === 'object' && parsed !== null ? (parsed as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? name : '';
  } catch {
    return undefined; // not a readable manifest: keep walking up
  }
}

const FUNCTIONS = [
  'bpf',
  'mapLookup',
  'mapUpdate',
  'mapDelete',
  'mapNextKey',
  'mapLookupAndDelete',
  'mapBatch',
  'close',
  'perfEventOpen',
  'ioctl',
  'mmap',
  'munmap',
  'Poller',
  'netlinkOpen',
  'send',
  'recv',
  'setsockopt',
  'getsockopt',
  'getrlimit',
  'setrlimit',
  'populateFutureMappings',
  'mount',
  'umount',
  'setns',
  'socket',
  'bind',
  'getsockname',
  'btfScanTypes',
  'btfIndexNames',
] as const satisfies readonly (keyof NativeAddon)[];

function loadAddon(): NativeAddon {
  const root = packageRoot();
  const require = createRequire(path.join(root, 'package.json'));
  // The build made at install time, loaded as is: node-gyp-build, which would pick the same file first, costs a
  // process ~3 ms to load and run. It still finds prebuilds and debug builds when there is no such build.
  const built = path.join(root, 'build', 'Release', 'bpfkit_syscalls.node');
  const addon: unknown = fs.existsSync(built) ? require(built) : (require('node-gyp-build') as (dir: string) => unknown)(root);
  if (typeof addon !== 'object' || addon === null) throw new Error(`${PACKAGE_NAME}: the native addon exports nothing`);
  const record = addon as Record<string, unknown>;
  for (const name of FUNCTIONS) {
    if (typeof record[name] !== 'function') {
      throw new Error(`${PACKAGE_NAME}: the native addon lacks ${name}() — rebuild it (pnpm --filter ${PACKAGE_NAME} rebuild)`);
    }
  }
  if (typeof record.constants !== 'object' || record.constants === null) {
    throw new Error(`${PACKAGE_NAME}: the native addon lacks constants — rebuild it`);
  }
  return addon as NativeAddon;
}

/** Stands in for the addon when it cannot be loaded: every use throws `error`. */
function unavailable(error: Error): NativeAddon {
  const fail = (): never => {
    throw error;
  };
  const stub: Record<string, unknown> = {};
  for (const name of FUNCTIONS) stub[name] = fail;
  Object.defineProperty(stub, 'constants', { get: fail, enumerable: true });
  return stub as unknown as NativeAddon;
}

function tryLoad(): { addon: NativeAddon; error: Error | null } {
  try {
    return { addon: loadAddon(), error: null };
  } catch (cause) {
    const error = new Error(
      `${PACKAGE_NAME}: the native addon could not be loaded (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}). ` +
        `It is built at install time; build it with \`pnpm --filter ${PACKAGE_NAME} rebuild\` (needs g++, make, python3). ` +
        `The mock backend (@bpfkit/mock) works without it.`,
      { cause },
    );
    return { addon: unavailable(error), error };
  }
}

const loaded = tryLoad();

/**
 * The native addon. Importing this module never throws: when the addon could
 * not be loaded (not built, or not Linux), every function of `native` throws
 * {@link nativeLoadError} instead.
 */
export const native: NativeAddon = loaded.addon;

/** Why the native addon could not be loaded, or null when it is loaded. */
export const nativeLoadError: Error | null = loaded.error;
