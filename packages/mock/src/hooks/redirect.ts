// bpf_redirect and bpf_redirect_map on the mock: like the kernel's per-CPU
// bpf_redirect_info, the helper only records where the packet should go and
// returns XDP_REDIRECT / TC_ACT_REDIRECT; the hook that ran the program (a
// mock interface) reads the record after the run and delivers the packet.
import { Helper, MapType, mapTypeName, NotSupportedError } from '@bpfkit/core';
import type { VmHelper } from '../vm/index.js';
import type { MockRuntime } from '../helpers/runtime.js';

/** BPF_F_INGRESS: deliver to the target's ingress path instead of its egress (TC). */
export const BPF_F_INGRESS = 1;
/** The low bits of bpf_redirect_map's flags: the verdict when the key has no entry. */
const ACTION_MASK = 3n;
const BPF_F_BROADCAST = 8n;
const BPF_F_EXCLUDE_INGRESS = 16n;
const XDP_ABORTED = 0;
const XDP_REDIRECT = 4;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;

/**
 * Where the last bpf_redirect / bpf_redirect_map of a run asked the packet
 * to go.
 *
 * @example
 * const r: MockRedirect = { ifindex: 3, flags: 0 };
 */
export interface MockRedirect {
  /** The target interface's index. */
  ifindex: number;
  /** BPF_F_INGRESS (1) for TC redirects to the target's ingress. */
  flags: number;
}

const pending = new WeakMap<MockRuntime, MockRedirect>();

/**
 * Takes (and forgets) the redirect the programs of `runtime` asked for in
 * the run that just ended, if any.
 *
 * @example
 * declare const runtime: MockRuntime;
 * takeRedirect(runtime); // undefined when no program redirected
 */
export function takeRedirect(runtime: MockRuntime): MockRedirect | undefined {
  const r = pending.get(runtime);
  pending.delete(runtime);
  return r;
}

/**
 * The implementations of `bpf_redirect` (XDP and TC) and
 * `bpf_redirect_map` (XDP, through a DEVMAP or DEVMAP_HASH) for one mock
 * system, by helper id.
 *
 * @example
 * import { defaultEnvironment, MockRuntime } from '../helpers/runtime.js';
 * redirectHelpers(new MockRuntime(defaultEnvironment())).has(Helper.redirect); // true
 */
export function redirectHelpers(runtime: MockRuntime): ReadonlyMap<number, VmHelper> {
  const h = new globalThis.Map<number, VmHelper>();
  h.set(Helper.redirect, (r1, r2) => {
    const ifindex = Number(r1 & 0xffffffffn);
    if (runtime.packetKind === 'xdp') {
      // bpf_xdp_redirect: no flags are defined.
      if (r2 !== 0n) return XDP_ABORTED;
      pending.set(runtime, { ifindex, flags: 0 });
      return XDP_REDIRECT;
    }
    // bpf_redirect (skb): only BPF_F_INGRESS.
    if ((r2 & ~BigInt(BPF_F_INGRESS)) !== 0n) return TC_ACT_SHOT;
    pending.set(runtime, { ifindex, flags: Number(r2) });
    return TC_ACT_REDIRECT;
  });
  h.set(Helper.redirect_map, (r1, r2, r3, _r4, _r5, env) => {
    const store = runtime.mapAt(r1);
    if (!store) throw env.fault(`bpf_redirect_map: 0x${r1.toString(16)} is not a map of this mock system`);
    if (store.type !== MapType.DEVMAP && store.type !== MapType.DEVMAP_HASH) {
      throw new NotSupportedError(
        `bpf_redirect_map into a ${mapTypeName(store.type)} map`,
        undefined,
        `program '${env.program}': the mock redirects through DEVMAP and DEVMAP_HASH maps (no CPUMAP or XSKMAP)`,
        'the mock backend',
      );
    }
    if ((r3 & ~(ACTION_MASK | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS)) !== 0n) return XDP_ABORTED;
    if (r3 & BPF_F_BROADCAST) {
      throw new NotSupportedError('bpf_redirect_map with BPF_F_BROADCAST', undefined, `program '${env.program}'`, 'the mock backend');
    }
    const key = new Uint8Array(store.keySize);
    new DataView(key.buffer).setUint32(0, Number(r2 & 0xffffffffn), true);
    const value = new Uint8Array(store.valueBytes);
    let found = false;
    try {
      found = store.lookupElem(key, value);
    } catch {
      found = false;
    }
    if (!found) return Number(r3 & ACTION_MASK);
    const ifindex = new DataView(value.buffer).getUint32(0, true);
    if (ifindex === 0) return Number(r3 & ACTION_MASK);
    pending.set(runtime, { ifindex, flags: 0 });
    return XDP_REDIRECT;
  });
  return h;
}
