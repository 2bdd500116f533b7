// What programs on one MockSystem share: the VM memory (global data, map
// values, packets and contexts are regions of it, so a tail call lands in the
// same address space), the environment helpers answer from (clock, CPU, pid,
// comm, randomness), and what programs leave for the test to read
// (trace_printk lines, ring buffer and perf event records).
import fs from 'node:fs';
import { MapType } from '@bpfkit/core';
import { VmMemory, type VmRegion } from '../vm/index.js';
import type { MockMapStore } from '../map-store.js';
import { MockProbeMemory } from './probe-memory.js';

/**
 * What the helpers of programs on the mock answer: change it on
 * {@link MockSystem.environment} between runs.
 *
 * @example
 * const env: MockEnvironment = { ...defaultEnvironment(), pid: 42, comm: 'nginx', clock: () => 1_000n };
 */
export interface MockEnvironment {
  /** `bpf_ktime_get_ns`, `_boot_ns`, `_coarse_ns`, `_tai_ns`: nanoseconds (default: the process's monotonic clock). */
  clock: () => bigint;
  /** `bpf_get_smp_processor_id` and the slot per-CPU maps give programs (default 0). */
  cpu: number;
  /** `bpf_get_current_pid_tgid`: the thread id (low half; default: this process's pid). */
  pid: number;
  /** The process id (high half; default: this process's pid). */
  tgid: number;
  /**
   * `bpf_get_ns_current_pid_tgid`: the pid namespace the current task runs
   * in, as `stat()` of `/proc/<pid>/ns/pid` gives it (`st_dev`, `st_ino`;
   * default: this process's). The helper answers `pid` and `tgid` when asked
   * about this namespace, and fails with EINVAL (zeroing its output) for any
   * other, as the kernel does for a task of another namespace.
   */
  pidNamespace: { dev: bigint; ino: bigint };
  /** `bpf_get_current_uid_gid` (default 0, 0). */
  uid: number;
  gid: number;
  /** `bpf_get_current_comm` (default `'node'`). */
  comm: string;
  /** `bpf_get_prandom_u32`: an unsigned 32-bit number (default Math.random). */
  random: () => number;
  /**
   * `bpf_get_current_task`: the address of the current `task_struct`
   * (default `0xffff888000200000`). Programs read it with
   * `bpf_probe_read_kernel`: provide its bytes there with
   * {@link MockProbeMemory.provide} (`{ address: env.task }`).
   */
  task: bigint;
  /**
   * `bpf_get_stack`: the instruction pointers of the kernel stack (and of
   * the user stack, `BPF_F_USER_STACK`), innermost first (default: none).
   */
  stack: { kernel: readonly bigint[]; user: readonly bigint[] };
  /**
   * `bpf_fib_lookup`: answers a lookup. `params` is the program's
   * `struct bpf_fib_lookup` (64 bytes, writable: fill in `ifindex`,
   * `smac`, `dmac`… as the kernel would); returns a `BPF_FIB_LKUP_RET_*`
   * code (default: 4, BPF_FIB_LKUP_RET_NOT_FWDED, as with no route).
   */
  fibLookup: (params: Uint8Array, flags: number) => number;
}

/**
 * The environment a new {@link MockSystem} starts with.
 *
 * @example
 * defaultEnvironment().cpu; // 0
 */
export function defaultEnvironment(): MockEnvironment {
  return {
    clock: () => process.hrtime.bigint(),
    cpu: 0,
    pid: process.pid,
    tgid: process.pid,
    pidNamespace: ownPidNamespace(),
    uid: 0,
    gid: 0,
    comm: 'node',
    random: () => Math.floor(Math.random() * 0x100000000),
    task: 0xffff_8880_0020_0000n,
    stack: { kernel: [], user: [] },
    fibLookup: () => BPF_FIB_LKUP_RET_NOT_FWDED,
  };
}

/** The kernel's inode number of the initial pid namespace (PROC_PID_INIT_INO). */
const PROC_PID_INIT_INO = 0xeffffffcn;

/** This process's pid namespace (dev and inode of /proc/self/ns/pid), or the initial one's inode where /proc cannot tell. */
function ownPidNamespace(): { dev: bigint; ino: bigint } {
  try {
    const st = fs.statSync('/proc/self/ns/pid', { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return { dev: 0n, ino: PROC_PID_INIT_INO };
  }
}

/** enum bpf_fib_lookup's "packet is not forwarded": the answer with no route. */
const BPF_FIB_LKUP_RET_NOT_FWDED = 4;

/** The high half of the value an `lddw` of a map fd gives a program: no memory region has it, so dereferencing it faults. */
const MAP_HANDLE_HI = 0x6d61_7000n;

/** The packet of a running program's context, as its helpers change it. */
export interface PacketState {
  kind: 'xdp' | 'skb';
  /** The region of the packet buffer (`start`..`end` are the accessible bytes). */
  region: VmRegion;
  /** Where the XDP metadata starts in the buffer (`data_meta`; = `data` when there is none, and for skbs). */
  meta: number;
  /** Where the packet data starts in the buffer. */
  data: number;
  /** Where it ends. */
  end: number;
  /** Bytes the head may not move below (XDP: the `struct xdp_frame` at the buffer start). */
  headMin: number;
  /** Where the tail may grow to. */
  tailMax: number;
  /** Fewest bytes the packet may have (an Ethernet header). */
  minLength: number;
}

/** A ring buffer's records and positions. */
interface RingState {
  records: Uint8Array[];
  /** Bytes taken by unread and reserved records (8-byte header plus the rounded payload each). */
  used: number;
  producer: bigint;
  consumer: bigint;
  /** Outputs and reservations refused for want of room since a reader last took the count. */
  lost: number;
  /** Reserved records the program discarded since a reader last took the count. */
  discarded: number;
}

/** A record a program wrote, as a reader takes it. */
export interface MockRecord {
  data: Uint8Array;
  /** The CPU a perf event array record was written on; undefined for ring buffers. */
  cpu?: number;
}

/**
 * The state programs of one mock system share (see the file comment). One
 * test run at a time: {@link beginRun}/{@link endRun} bracket it, and the
 * regions mapped during a run (map values looked up, reserved records,
 * scratch) are unmapped at its end.
 */
export class MockRuntime {
  readonly memory = new VmMemory();
  /** Memory the test provides at kernel and user addresses for probe reads. */
  readonly probeMemory = new MockProbeMemory();
  environment: MockEnvironment;
  /** Lines programs printed with `bpf_trace_printk`, in order. */
  readonly traceLog: string[] = [];
  readonly #maps = new globalThis.Map<number, MockMapStore>();
  readonly #permanent = new globalThis.Map<Uint8Array, globalThis.Map<number, VmRegion>>();
  /** How many programs use each permanent region. */
  readonly #holders = new globalThis.Map<VmRegion, number>();
  #run = new globalThis.Map<Uint8Array, globalThis.Map<number, VmRegion>>();
  #runRegions: VmRegion[] = [];
  readonly #packets = new globalThis.Map<number, PacketState>();
  readonly #rings = new WeakMap<MockMapStore, RingState>();
  readonly #perf = new WeakMap<MockMapStore, { cpu: number; data: Uint8Array }[]>();
  readonly #reserved = new globalThis.Map<number, { store: MockMapStore; region: VmRegion; size: number }>();
  readonly #watchers = new globalThis.Map<MockMapStore, Set<() => void>>();

  constructor(environment: MockEnvironment) {
    this.environment = environment;
  }

  /** The value an `lddw` of `store`'s fd gives a program. */
  mapHandle(store: MockMapStore): bigint {
    this.#maps.set(store.id, store);
    return (MAP_HANDLE_HI << 32n) | BigInt(store.id);
  }

  /** The map a helper argument names, or undefined. */
  mapAt(handle: bigint): MockMapStore | undefined {
    if (handle >> 32n !== MAP_HANDLE_HI) return undefined;
    const store = this.#maps.get(Number(handle & 0xffffffffn));
    return store?.dead ? undefined : store;
  }

  /**
   * A pointer to `size` bytes of `bytes` from `offset` (a map value in place):
   * `permanent` regions (global data an `lddw` points into) stay mapped for
   * the system's life, the others until the run ends. The same bytes give the
   * same pointer within a run.
   */
  pointerInto(bytes: Uint8Array, offset: number, size: number, name: string, writable: boolean, permanent = false): bigint {
    const table = permanent ? this.#permanent : this.#run;
    let byOffset = table.get(bytes);
    if (!byOffset) {
      byOffset = new globalThis.Map();
      table.set(bytes, byOffset);
    }
    let region = byOffset.get(offset);
    if (!region) {
      region = this.memory.map(bytes, { name, writable, start: offset, end: offset + size });
      byOffset.set(offset, region);
      if (!permanent) this.#runRegions.push(region);
    }
    if (permanent) this.#holders.set(region, (this.#holders.get(region) ?? 0) + 1);
    return this.memory.pointer(region, offset);
  }

  /** Drops one hold of a permanent region (a program unloaded): the last unmaps it. */
  releasePointer(pointer: bigint): void {
    const at = this.memory.resolve(pointer);
    if (!at) return;
    const held = this.#holders.get(at.region);
    if (held === undefined) return;
    if (held > 1) {
      this.#holders.set(at.region, held - 1);
      return;
    }
    this.#holders.delete(at.region);
    this.#permanent.get(at.region.bytes)?.delete(at.region.start);
    this.memory.unmap(at.region);
  }

  /** Maps `bytes` until the run ends and returns its address. */
  scratch(bytes: Uint8Array, name: string, writable = true): { region: VmRegion; pointer: bigint } {
    const region = this.memory.map(bytes, { name, writable });
    this.#runRegions.push(region);
    return { region, pointer: this.memory.pointer(region) };
  }

  /** Records the packet a context region leads to (until the run ends). */
  setPacket(context: VmRegion, packet: PacketState): void {
    this.#packets.set(context.id, packet);
  }

  /** The kind of packet the running program's context leads to (`'xdp'` or `'skb'`), or undefined outside a packet run. */
  get packetKind(): 'xdp' | 'skb' | undefined {
    for (const p of this.#packets.values()) return p.kind;
    return undefined;
  }

  /** The packet of the context `ctx` points to, or undefined. */
  packetOf(ctx: bigint): PacketState | undefined {
    const at = this.memory.resolve(ctx);
    return at ? this.#packets.get(at.region.id) : undefined;
  }

  /** Starts a test run. */
  beginRun(): void {
    this.#run = new globalThis.Map();
  }

  /** Ends a test run: unmaps what it mapped; records reserved and neither submitted nor discarded are dropped. */
  endRun(): void {
    for (const r of this.#runRegions) this.memory.unmap(r);
    this.#runRegions = [];
    this.#run = new globalThis.Map();
    this.#packets.clear();
    for (const [id, r] of this.#reserved) {
      this.#ring(r.store).used -= recordBytes(r.size);
      this.#reserved.delete(id);
    }
  }

  #ring(store: MockMapStore): RingState {
    let ring = this.#rings.get(store);
    if (!ring) {
      ring = { records: [], used: 0, producer: 0n, consumer: 0n, lost: 0, discarded: 0 };
      this.#rings.set(store, ring);
    }
    return ring;
  }

  /** bpf_ringbuf_output: false when the buffer has no room. */
  ringOutput(store: MockMapStore, data: Uint8Array): boolean {
    const ring = this.#ring(store);
    const bytes = recordBytes(data.length);
    if (ring.used + bytes > store.maxEntries) {
      ring.lost++;
      this.#notify(store);
      return false;
    }
    ring.used += bytes;
    ring.producer += BigInt(bytes);
    ring.records.push(data.slice());
    this.#notify(store);
    return true;
  }

  /** bpf_ringbuf_reserve: the record's address, or 0 when there is no room. */
  ringReserve(store: MockMapStore, size: number): bigint {
    const ring = this.#ring(store);
    const bytes = recordBytes(size);
    if (size < 0 || size > 0xfffffff || ring.used + bytes > store.maxEntries) {
      ring.lost++;
      this.#notify(store);
      return 0n;
    }
    ring.used += bytes;
    const { region, pointer } = this.scratch(new Uint8Array(size), `ring buffer record of '${store.name}'`);
    this.#reserved.set(region.id, { store, region, size });
    return pointer;
  }

  /** bpf_ringbuf_submit / bpf_ringbuf_discard of a reserved record; false when `pointer` is none. */
  ringCommit(pointer: bigint, submit: boolean): boolean {
    const at = this.memory.resolve(pointer);
    const r = at && at.offset === 0 ? this.#reserved.get(at.region.id) : undefined;
    if (!r || !at) return false;
    this.#reserved.delete(at.region.id);
    const ring = this.#ring(r.store);
    if (submit) {
      ring.records.push(at.region.bytes.slice());
      ring.producer += BigInt(recordBytes(r.size));
    } else {
      ring.used -= recordBytes(r.size);
      ring.discarded++;
    }
    this.memory.unmap(at.region);
    this.#notify(r.store);
    return true;
  }

  /** bpf_ringbuf_query. */
  ringQuery(store: MockMapStore, flags: number): bigint {
    const ring = this.#ring(store);
    switch (flags) {
      case 0:
        return ring.producer - ring.consumer;
      case 1:
        return BigInt(store.maxEntries);
      case 2:
        return ring.consumer;
      case 3:
        return ring.producer;
      default:
        return 0n;
    }
  }

  /** bpf_perf_event_output into a perf event array's record queue. */
  perfOutput(store: MockMapStore, cpu: number, data: Uint8Array): void {
    let queue = this.#perf.get(store);
    if (!queue) {
      queue = [];
      this.#perf.set(store, queue);
    }
    queue.push({ cpu, data: data.slice() });
    this.#notify(store);
  }

  /**
   * Calls `callback` (synchronously, from the helper) each time a program
   * writes a record into `store` or is refused room; returns the function
   * that stops it. Readers use it as their wake-up.
   */
  watchRecords(store: MockMapStore, callback: () => void): () => void {
    let set = this.#watchers.get(store);
    if (!set) {
      set = new Set();
      this.#watchers.set(store, set);
    }
    const watchers = set;
    watchers.add(callback);
    return () => {
      watchers.delete(callback);
      if (watchers.size === 0 && this.#watchers.get(store) === watchers) this.#watchers.delete(store);
    };
  }

  /** How many record watchers are registered (all maps): a test's leak check. */
  get watcherCount(): number {
    let n = 0;
    for (const set of this.#watchers.values()) n += set.size;
    return n;
  }

  #notify(store: MockMapStore): void {
    const set = this.#watchers.get(store);
    if (set) for (const callback of [...set]) callback();
  }

  /** Whether a record written into `store` waits to be read. */
  hasRecords(store: MockMapStore): boolean {
    if (store.type === MapType.PERF_EVENT_ARRAY) return (this.#perf.get(store)?.length ?? 0) > 0;
    return (this.#rings.get(store)?.records.length ?? 0) > 0;
  }

  /** Takes the oldest record written into `store` (freeing its room), or undefined. */
  nextRecord(store: MockMapStore): MockRecord | undefined {
    if (store.type === MapType.PERF_EVENT_ARRAY) {
      const record = this.#perf.get(store)?.shift();
      return record && { data: record.data, cpu: record.cpu };
    }
    const ring = this.#rings.get(store);
    const data = ring?.records.shift();
    if (!ring || !data) return undefined;
    const bytes = recordBytes(data.length);
    ring.used -= bytes;
    ring.consumer += BigInt(bytes);
    return { data };
  }

  /** Takes (and resets) the counts of a ring buffer's refused writes and discarded records. */
  takeRingCounts(store: MockMapStore): { lost: number; discarded: number } {
    const ring = this.#rings.get(store);
    if (!ring) return { lost: 0, discarded: 0 };
    const counts = { lost: ring.lost, discarded: ring.discarded };
    ring.lost = 0;
    ring.discarded = 0;
    return counts;
  }

  /** Takes the records programs wrote into a ring buffer or perf event array, oldest first. */
  takeRecords(store: MockMapStore): Uint8Array[] {
    if (store.type === MapType.PERF_EVENT_ARRAY) {
      const queue = this.#perf.get(store) ?? [];
      this.#perf.delete(store);
      return queue.map((r) => r.data);
    }
    const ring = this.#ring(store);
    const records = ring.records;
    ring.records = [];
    for (const r of records) {
      const bytes = recordBytes(r.length);
      ring.used -= bytes;
      ring.consumer += BigInt(bytes);
    }
    return records;
  }
}

/** Bytes a ring buffer record takes: an 8-byte header and the payload rounded up to 8. */
function recordBytes(size: number): number {
  return 8 + Math.ceil(size / 8) * 8;
}
