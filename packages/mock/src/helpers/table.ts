// The helpers programs on the mock may call, by helper id, and which program
// types may call each. Each behaves as the kernel's: errors come back as
// negative errnos in r0, a map lookup returns a pointer into the map's value
// (so the program's writes land in the map).
import { BpfError, Errno, Helper, MapType, ProgramType } from '@bpfkit/core';
import { VmFault, type VmHelper, type VmHelperEnv, type VmProgram } from '../vm/index.js';
import type { MockMapStore } from '../map-store.js';
import type { MockObject } from '../mock-kernel.js';
import type { MockRuntime } from './runtime.js';
import { redirectHelpers } from '../hooks/redirect.js';
import { checksumHelpers } from './checksum.js';
import { FormatError, formatBpf } from './format.js';
import { KERNEL_HELPER_SETS } from './kernel-helper-sets.js';
import { packetExtraHelpers } from './packet-extras.js';
import { formatMemory, tracingHelpers } from './tracing.js';
import { cookieHelpers } from '../hooks/cookie.js';

/** A kernel object that can be tail-called: a program on the mock. */
export interface MockTailTarget extends MockObject {
  readonly kind: 'program';
  readonly vm: VmProgram;
  readonly type: number;
}

const neg = (errno: number): number => -errno;
/** The most XDP metadata bytes (the u8 skb_shared_info.meta_len). */
export const XDP_META_MAX = 255;
const u32 = (v: bigint): number => Number(v & 0xffffffffn);
const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const s64 = (v: bigint): number => Number(BigInt.asIntN(64, v));

/** The result of a map operation a program asked for: 0, or the kernel's negative errno. */
function mapCall(fn: () => void): number {
  try {
    fn();
    return 0;
  } catch (err) {
    if (err instanceof BpfError) return neg(err.errno);
    throw err;
  }
}

/** The program types the mock loads and runs. */
export const MOCK_PROGRAM_TYPES: ReadonlySet<number> = new Set<number>([
  ProgramType.XDP,
  ProgramType.SOCKET_FILTER,
  ProgramType.SCHED_CLS,
  ProgramType.SCHED_ACT,
  ProgramType.RAW_TRACEPOINT,
  ProgramType.SYSCALL,
  ProgramType.KPROBE,
  ProgramType.TRACEPOINT,
]);

/** The kernel's per-type helper sets (as its verifier answered bpfkit's probes), as sets. */
const ALLOWED = new globalThis.Map<number, ReadonlySet<number>>(
  Object.entries(KERNEL_HELPER_SETS).map(([type, ids]) => [Number(type), new Set(ids)]),
);

/**
 * Whether a program of `type` may call helper `id`: the kernel's per-type
 * helper sets, as its verifier answered bpfkit's feature probes on the
 * kernel the table was generated on (scripts/mock-helper-sets.mjs; a root
 * loader's view, CAP_PERFMON helpers included). A helper the type may call
 * but the mock does not implement fails the load naming it; one the type
 * may not call is the kernel's verifier error.
 *
 * @example
 * mockHelperAllowed(ProgramType.XDP, Helper.xdp_adjust_head); // true
 * mockHelperAllowed(ProgramType.XDP, Helper.skb_load_bytes); // false
 */
export function mockHelperAllowed(type: number, id: number): boolean {
  return ALLOWED.get(type)?.has(id) ?? false;
}

/**
 * The helper implementations of one mock system, by id.
 *
 * @example
 * import { defaultEnvironment, MockRuntime } from './runtime.js';
 * mockHelpers(new MockRuntime(defaultEnvironment())).has(Helper.map_lookup_elem); // true
 */
export function mockHelpers(runtime: MockRuntime): ReadonlyMap<number, VmHelper> {
  const m = runtime.memory;
  const map = (handle: bigint, env: VmHelperEnv, what: string): MockMapStore => {
    const store = runtime.mapAt(handle);
    if (!store)
      throw new VmFault('helper', env.program, env.instruction, `${what}: 0x${handle.toString(16)} is not a map of this mock system`);
    return store;
  };
  const keyOf = (store: MockMapStore, p: bigint): Uint8Array => m.view(p, store.keySize).slice();
  const valueSize = (store: MockMapStore): number => store.meta.valueSize;

  /** A pointer to the value of `key` (0 when absent). */
  const lookup = (store: MockMapStore, key: Uint8Array, env: VmHelperEnv): bigint => {
    if (store.type === MapType.ARRAY_OF_MAPS || store.type === MapType.HASH_OF_MAPS) {
      // A map-in-map gives the inner map itself, which the program passes to the map helpers.
      const holder = store as MockMapStore & { slot?(i: number): MockObject | undefined; innerAt?(k: Uint8Array): MockObject | undefined };
      const inner =
        store.type === MapType.ARRAY_OF_MAPS
          ? holder.slot?.(new DataView(key.buffer, key.byteOffset).getUint32(0, true))
          : holder.innerAt?.(key);
      return inner ? runtime.mapHandle(inner as MockMapStore) : 0n;
    }
    const ref = store.valueRef(key, runtime.environment.cpu);
    if (ref === undefined) return 0n;
    if (ref !== null) {
      return runtime.pointerInto(ref.bytes, ref.offset, valueSize(store), `value of map '${store.name}'`, writableByProgram(store));
    }
    // A map type without values in place (LPM trie): a copy, which the program may read.
    const copy = new Uint8Array(store.valueBytes);
    let found: boolean;
    try {
      found = store.lookupElem(key, copy);
    } catch (err) {
      if (err instanceof BpfError) return 0n;
      throw err;
    }
    void env;
    return found ? runtime.scratch(copy.subarray(0, valueSize(store)), `value of map '${store.name}'`, false).pointer : 0n;
  };

  const h = new globalThis.Map<number, VmHelper>();
  h.set(Helper.map_lookup_elem, (r1, r2, _r3, _r4, _r5, env) => {
    const store = map(r1, env, 'bpf_map_lookup_elem');
    return lookup(store, keyOf(store, r2), env);
  });
  h.set(Helper.map_update_elem, (r1, r2, r3, r4, _r5, env) => {
    const store = map(r1, env, 'bpf_map_update_elem');
    const key = keyOf(store, r2);
    const value = m.view(r3, valueSize(store)).slice();
    if (isPerCpu(store.type)) {
      // A program updates its own CPU's slot; the others keep their values (a new element: zeros).
      const full = new Uint8Array(store.valueBytes);
      const ref = store.valueRef(key, 0);
      if (ref) full.set(ref.bytes.subarray(ref.offset, ref.offset + store.valueBytes));
      const slot = Math.ceil(valueSize(store) / 8) * 8;
      full.set(value, runtime.environment.cpu * slot);
      return mapCall(() => store.updateElem(key, full, Number(r4)));
    }
    return mapCall(() => store.updateElem(key, value, Number(r4)));
  });
  h.set(Helper.map_delete_elem, (r1, r2, _r3, _r4, _r5, env) => {
    const store = map(r1, env, 'bpf_map_delete_elem');
    const key = keyOf(store, r2);
    let found = true;
    const r = mapCall(() => {
      found = store.deleteElem(key);
    });
    return r !== 0 ? r : found ? 0 : neg(Errno.ENOENT);
  });
  h.set(Helper.map_push_elem, (r1, r2, r3, _r4, _r5, env) => {
    const store = map(r1, env, 'bpf_map_push_elem');
    const value = m.view(r2, valueSize(store)).slice();
    return mapCall(() => store.updateElem(null, value, Number(r3)));
  });
  const popPeek =
    (del: boolean): VmHelper =>
    (r1, r2, _r3, _r4, _r5, env) => {
      const store = map(r1, env, del ? 'bpf_map_pop_elem' : 'bpf_map_peek_elem');
      if (store.type === MapType.BLOOM_FILTER) {
        // A bloom filter's peek checks the value the program gives (0: maybe present).
        if (del) return neg(Errno.EOPNOTSUPP);
        let present = false;
        const r = mapCall(() => {
          present = store.lookupElem(null, m.view(r2, valueSize(store)).slice());
        });
        return r !== 0 ? r : present ? 0 : neg(Errno.ENOENT);
      }
      const out = m.view(r2, valueSize(store), true);
      const value = new Uint8Array(store.valueBytes);
      let found = false;
      const r = mapCall(() => {
        found = del ? store.lookupAndDeleteElem(null, value) : store.lookupElem(null, value);
      });
      if (r !== 0) return r;
      if (!found) return neg(Errno.ENOENT);
      out.set(value.subarray(0, out.length));
      return 0;
    };
  h.set(Helper.map_pop_elem, popPeek(true));
  h.set(Helper.map_peek_elem, popPeek(false));
  h.set(Helper.for_each_map_elem, (r1, r2, r3, r4, _r5, env) => {
    const store = map(r1, env, 'bpf_for_each_map_elem');
    if (r4 !== 0n) return neg(Errno.EINVAL);
    const t = store.type;
    if (
      !(
        t === MapType.ARRAY ||
        t === MapType.PERCPU_ARRAY ||
        t === MapType.HASH ||
        t === MapType.PERCPU_HASH ||
        t === MapType.LRU_HASH ||
        t === MapType.LRU_PERCPU_HASH
      )
    ) {
      return neg(Errno.EINVAL);
    }
    const keys: Uint8Array[] = [];
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(store.keySize);
      if (!store.nextKeyElem(prev, next)) break;
      keys.push(next);
      prev = next;
      if (keys.length > store.maxEntries) break;
    }
    let n = 0;
    for (const key of keys) {
      const value = lookup(store, key, env);
      if (value === 0n) continue;
      n++;
      const k = runtime.scratch(key, `key of map '${store.name}'`, false).pointer;
      if (env.callback(r2, r1, k, value, r3) !== 0n) break;
    }
    return n;
  });
  h.set(Helper.loop, (r1, r2, r3, r4, _r5, env) => {
    const nr = u32(r1);
    if (r4 !== 0n) return neg(Errno.EINVAL);
    if (nr > 1 << 23) return neg(Errno.E2BIG);
    for (let i = 0; i < nr; i++) {
      if (env.callback(r2, BigInt(i), r3) !== 0n) return i + 1;
    }
    return nr;
  });
  const clock = (): bigint => BigInt.asUintN(64, runtime.environment.clock());
  h.set(Helper.ktime_get_ns, clock);
  h.set(Helper.ktime_get_boot_ns, clock);
  h.set(Helper.ktime_get_coarse_ns, clock);
  h.set(Helper.get_prandom_u32, () => runtime.environment.random() >>> 0);
  h.set(Helper.get_smp_processor_id, () => runtime.environment.cpu);
  h.set(Helper.get_current_pid_tgid, () => (BigInt(runtime.environment.tgid >>> 0) << 32n) | BigInt(runtime.environment.pid >>> 0));
  h.set(Helper.get_ns_current_pid_tgid, (r1, r2, r3, r4) => {
    // struct bpf_pidns_info { __u32 pid; __u32 tgid; }: 8 bytes, zeroed on failure.
    const size = u32(r4);
    if (size !== 8) {
      if (size > 0) m.view(r3, size, true).fill(0);
      return neg(Errno.EINVAL);
    }
    const out = m.view(r3, 8, true);
    const ns = runtime.environment.pidNamespace;
    if (r1 > 0xffffffffn || r1 !== ns.dev || r2 !== ns.ino) {
      out.fill(0);
      return neg(Errno.EINVAL);
    }
    const view = new DataView(out.buffer, out.byteOffset, 8);
    view.setUint32(0, runtime.environment.pid >>> 0, true);
    view.setUint32(4, runtime.environment.tgid >>> 0, true);
    return 0;
  });
  h.set(Helper.get_current_uid_gid, () => (BigInt(runtime.environment.gid >>> 0) << 32n) | BigInt(runtime.environment.uid >>> 0));
  h.set(Helper.get_current_comm, (r1, r2) => {
    const size = u32(r2);
    if (size === 0) return neg(Errno.EINVAL);
    const out = m.view(r1, size, true);
    out.fill(0);
    out.set(new TextEncoder().encode(runtime.environment.comm).subarray(0, Math.min(15, size - 1)));
    return 0;
  });
  h.set(Helper.trace_printk, (r1, r2, r3, r4, r5) => {
    const size = u32(r2);
    const raw = m.view(r1, size);
    const nul = raw.indexOf(0);
    if (nul < 0) return neg(Errno.EINVAL);
    let line: string;
    try {
      line = formatBpf(new TextDecoder().decode(raw.subarray(0, nul)), [r3, r4, r5], formatMemory(runtime));
    } catch (err) {
      if (err instanceof FormatError) return neg(Errno.EINVAL);
      throw err;
    }
    runtime.traceLog.push(line);
    return new TextEncoder().encode(line).length;
  });
  h.set(Helper.tail_call, (_r1, r2, r3, _r4, _r5, env) => {
    const store = map(r2, env, 'bpf_tail_call');
    if (store.type !== MapType.PROG_ARRAY) return neg(Errno.EINVAL);
    const index = u32(r3);
    const target = (store as MockMapStore & { slot(i: number): MockObject | undefined }).slot(index) as MockTailTarget | undefined;
    if (!target?.vm) return neg(Errno.ENOENT);
    return env.tailCall(target.vm) ? 0 : neg(Errno.ENOENT);
  });
  h.set(Helper.ringbuf_output, (r1, r2, r3, _r4, _r5, env) => {
    const store = map(r1, env, 'bpf_ringbuf_output');
    return runtime.ringOutput(store, m.view(r2, u32(r3))) ? 0 : neg(Errno.EAGAIN);
  });
  h.set(Helper.ringbuf_reserve, (r1, r2, _r3, _r4, _r5, env) => runtime.ringReserve(map(r1, env, 'bpf_ringbuf_reserve'), s64(r2)));
  h.set(Helper.ringbuf_submit, (r1) => {
    runtime.ringCommit(r1, true);
    return 0;
  });
  h.set(Helper.ringbuf_discard, (r1) => {
    runtime.ringCommit(r1, false);
    return 0;
  });
  h.set(Helper.ringbuf_query, (r1, r2, _r3, _r4, _r5, env) => runtime.ringQuery(map(r1, env, 'bpf_ringbuf_query'), Number(r2)));
  h.set(Helper.perf_event_output, (_r1, r2, r3, r4, r5, env) => {
    const store = map(r2, env, 'bpf_perf_event_output');
    if (store.type !== MapType.PERF_EVENT_ARRAY) return neg(Errno.EINVAL);
    const index = u32(r3);
    const cpu = index === 0xffffffff ? runtime.environment.cpu : index;
    if (r3 >> 32n !== 0n) return neg(Errno.EINVAL);
    if (cpu >= store.maxEntries) return neg(Errno.E2BIG);
    runtime.perfOutput(store, cpu, m.view(r4, u32(r5)));
    return 0;
  });
  h.set(Helper.xdp_adjust_head, (r1, r2) => {
    const p = runtime.packetOf(r1);
    if (p?.kind !== 'xdp') return neg(Errno.EINVAL);
    // Metadata moves with the data (bpf_xdp_adjust_head's memmove), so the head cannot go below the frame plus it.
    const offset = s32(r2);
    const metaLength = p.data - p.meta;
    const data = p.data + offset;
    if (data < p.headMin + metaLength || data > p.end - p.minLength) return neg(Errno.EINVAL);
    if (metaLength) p.region.bytes.copyWithin(p.meta + offset, p.meta, p.data);
    p.meta += offset;
    p.data = data;
    p.region.start = p.meta;
    return 0;
  });
  h.set(Helper.xdp_adjust_meta, (r1, r2) => {
    const p = runtime.packetOf(r1);
    if (p?.kind !== 'xdp') return neg(Errno.EINVAL);
    const meta = p.meta + s32(r2);
    if (meta < p.headMin || meta > p.data) return neg(Errno.EINVAL);
    // xdp_metalen_invalid: a multiple of 4 that skb_shared_info's u8 meta_len holds.
    const metaLength = p.data - meta;
    if (metaLength % 4 !== 0 || metaLength > XDP_META_MAX) return neg(Errno.EACCES);
    p.meta = meta;
    p.region.start = meta;
    return 0;
  });
  h.set(Helper.xdp_adjust_tail, (r1, r2) => {
    const p = runtime.packetOf(r1);
    if (p?.kind !== 'xdp') return neg(Errno.EINVAL);
    const end = p.end + s32(r2);
    if (end > p.tailMax || end < p.data + p.minLength) return neg(Errno.EINVAL);
    if (end > p.end) p.region.bytes.fill(0, p.end, end);
    p.end = end;
    p.region.end = end;
    return 0;
  });
  h.set(Helper.skb_load_bytes, (r1, r2, r3, r4) => {
    const p = runtime.packetOf(r1);
    const off = u32(r2);
    const len = u32(r4);
    if (!p || len === 0 || off + len > p.end - p.data) return neg(Errno.EFAULT);
    m.view(r3, len, true).set(p.region.bytes.subarray(p.data + off, p.data + off + len));
    return 0;
  });
  h.set(Helper.skb_store_bytes, (r1, r2, r3, r4, r5) => {
    const p = runtime.packetOf(r1);
    const off = u32(r2);
    const len = u32(r4);
    if (r5 & ~3n) return neg(Errno.EINVAL);
    if (!p || off + len > p.end - p.data) return neg(Errno.EFAULT);
    p.region.bytes.set(m.view(r3, len), p.data + off);
    return 0;
  });
  h.set(Helper.skb_change_tail, (r1, r2, r3) => {
    const p = runtime.packetOf(r1);
    const len = u32(r2);
    if (!p || r3 !== 0n) return neg(Errno.EINVAL);
    const end = p.data + len;
    if (len < p.minLength || end > p.tailMax) return neg(Errno.EINVAL);
    if (end > p.end) p.region.bytes.fill(0, p.end, end);
    p.end = end;
    p.region.end = end;
    return 0;
  });
  const more = [
    redirectHelpers(runtime),
    cookieHelpers(runtime),
    tracingHelpers(runtime),
    checksumHelpers(runtime),
    packetExtraHelpers(runtime),
  ];
  for (const helpers of more) for (const [id, helper] of helpers) h.set(id, helper);
  return h;
}

function isPerCpu(type: number): boolean {
  return type === MapType.PERCPU_ARRAY || type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;
}

/** Whether programs may write the map's values (not with BPF_F_RDONLY_PROG, e.g. a frozen `.rodata`). */
export function writableByProgram(store: MockMapStore): boolean {
  return (store.meta.flags & 0x80) === 0;
}
