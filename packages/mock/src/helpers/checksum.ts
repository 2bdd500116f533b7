// Checksum helpers as the kernel computes them on x86-64 (little-endian
// loads of the network-order bytes, which ones'-complement arithmetic does
// not mind): bpf_csum_diff, and bpf_l3_csum_replace / bpf_l4_csum_replace
// on the packet of a TC program. Test-run skbs have ip_summed =
// CHECKSUM_NONE, so the L4 helper updates only the checksum field, as the
// kernel's inet_proto_csum_replace* do for such an skb.
import { Errno, Helper } from '@bpfkit/core';
import type { VmHelper } from '../vm/index.js';
import type { MockRuntime } from './runtime.js';

const neg = (errno: number): number => -errno;
const M32 = 0xffffffffn;

/** The ones'-complement sum of 32-bit words, end-around carry (csum_add). */
export function csumAdd(a: number, b: number): number {
  const r = (a + b) >>> 0;
  return (r + (r < b >>> 0 ? 1 : 0)) >>> 0;
}
const csumSub = (a: number, b: number): number => csumAdd(a, ~b >>> 0);

/** Folds a 32-bit partial sum to the 16-bit checksum (csum_fold: complemented). */
export function csumFold(sum: number): number {
  let s = (sum & 0xffff) + (sum >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * csum_partial as x86-64 computes it: `bytes` summed as little-endian words
 * with end-around carry (a last partial word zero-padded) onto `seed`,
 * folded to 32 bits.
 */
export function csumPartial(bytes: Uint8Array, seed: number): number {
  let sum = BigInt(seed >>> 0);
  for (let i = 0; i < bytes.length; i += 4) {
    let word = 0;
    for (let k = Math.min(3, bytes.length - i - 1); k >= 0; k--) word = word * 256 + bytes[i + k]!;
    sum += BigInt(word);
  }
  while (sum > M32) sum = (sum & M32) + (sum >> 32n);
  return Number(sum);
}

/** csum_from32to16: the 32-bit sum folded to 16 bits (not complemented), what bpf_csum_diff returns since 6.12. */
function from32to16(x: number): number {
  const rotated = ((x >>> 16) | (x << 16)) >>> 0;
  return ((x + rotated) >>> 0) >>> 16;
}

const csum16Add = (c: number, a: number): number => {
  const r = (c + a) & 0xffff;
  return (r + (r < a ? 1 : 0)) & 0xffff;
};
const csum16Sub = (c: number, a: number): number => csum16Add(c, ~a & 0xffff);

/** csum_replace4: *sum with a 32-bit word `from` replaced by `to`. */
const replace4 = (sum: number, from: number, to: number): number => csumFold(csumAdd(csumSub(~sum >>> 0, from), to));
/** csum_replace2: *sum with a 16-bit word replaced. */
const replace2 = (sum: number, from: number, to: number): number => ~csum16Add(csum16Sub(~sum & 0xffff, from), to) & 0xffff;
/** csum_replace_by_diff: *sum with a difference from bpf_csum_diff applied. */
const replaceByDiff = (sum: number, diff: number): number => csumFold(csumAdd(diff, ~sum >>> 0));

/** BPF_F_HDR_FIELD_MASK and the L4 flags (include/uapi/linux/bpf.h). */
const HDR_FIELD_MASK = 0xfn;
const BPF_F_PSEUDO_HDR = 1n << 4n;
const BPF_F_MARK_MANGLED_0 = 1n << 5n;
const BPF_F_MARK_ENFORCE = 1n << 6n;
const BPF_F_IPV6 = 1n << 7n;
/** What a zero UDP checksum is written as once mangled (CSUM_MANGLED_0). */
const CSUM_MANGLED_0 = 0xffff;

/**
 * The checksum helpers of one mock system, by id.
 *
 * @example
 * import { defaultEnvironment, MockRuntime } from './runtime.js';
 * checksumHelpers(new MockRuntime(defaultEnvironment())).has(Helper.csum_diff); // true
 */
export function checksumHelpers(runtime: MockRuntime): ReadonlyMap<number, VmHelper> {
  const m = runtime.memory;
  const h = new globalThis.Map<number, VmHelper>();

  // bpf_csum_diff(from, from_size, to, to_size, seed): since 6.12 the same on every architecture, the
  // 32-bit sum folded to 16 bits (csum_from32to16), a bare seed included; sizes need not be multiples of 4.
  h.set(Helper.csum_diff, (r1, r2, r3, r4, r5) => {
    const fromSize = Number(r2 & M32);
    const toSize = Number(r4 & M32);
    const seed = Number(r5 & M32);
    const from = fromSize ? m.view(r1, fromSize) : undefined;
    const to = toSize ? m.view(r3, toSize) : undefined;
    if (from && to) return from32to16(csumSub(csumPartial(to, seed), csumPartial(from, 0)));
    if (to) return from32to16(csumPartial(to, seed));
    if (from) return from32to16(~csumPartial(from, ~seed >>> 0) >>> 0);
    return from32to16(seed);
  });

  /** The checksum field at `offset` of the packet of `ctx`, or an errno. */
  const field = (ctx: bigint, offset: bigint): { bytes: Uint8Array; at: number } | number => {
    const p = runtime.packetOf(ctx);
    if (p?.kind !== 'skb') return neg(Errno.EINVAL);
    if (offset > 0xffffn || offset & 1n) return neg(Errno.EFAULT);
    const at = p.data + Number(offset);
    if (at + 2 > p.end) return neg(Errno.EFAULT);
    return { bytes: p.region.bytes, at };
  };
  const get = (f: { bytes: Uint8Array; at: number }) => f.bytes[f.at]! | (f.bytes[f.at + 1]! << 8);
  const put = (f: { bytes: Uint8Array; at: number }, v: number) => {
    f.bytes[f.at] = v & 0xff;
    f.bytes[f.at + 1] = (v >>> 8) & 0xff;
  };

  // bpf_l3_csum_replace(skb, offset, from, to, flags).
  h.set(Helper.l3_csum_replace, (r1, r2, r3, r4, r5) => {
    if (r5 & ~HDR_FIELD_MASK) return neg(Errno.EINVAL);
    const f = field(r1, r2);
    if (typeof f === 'number') return f;
    const from = Number(r3 & M32);
    const to = Number(r4 & M32);
    switch (Number(r5 & HDR_FIELD_MASK)) {
      case 0:
        if (r3 !== 0n) return neg(Errno.EINVAL);
        put(f, replaceByDiff(get(f), to));
        return 0;
      case 2:
        put(f, replace2(get(f), from & 0xffff, to & 0xffff));
        return 0;
      case 4:
        put(f, replace4(get(f), from, to));
        return 0;
      default:
        return neg(Errno.EINVAL);
    }
  });

  // bpf_l4_csum_replace(skb, offset, from, to, flags).
  h.set(Helper.l4_csum_replace, (r1, r2, r3, r4, r5) => {
    if (r5 & ~(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | HDR_FIELD_MASK | BPF_F_IPV6)) return neg(Errno.EINVAL);
    const f = field(r1, r2);
    if (typeof f === 'number') return f;
    const mangledZero = (r5 & BPF_F_MARK_MANGLED_0) !== 0n;
    if (mangledZero && !(r5 & BPF_F_MARK_ENFORCE) && get(f) === 0) return 0;
    const from = Number(r3 & M32);
    const to = Number(r4 & M32);
    switch (Number(r5 & HDR_FIELD_MASK)) {
      case 0:
        if (r3 !== 0n) return neg(Errno.EINVAL);
        put(f, replaceByDiff(get(f), to));
        break;
      case 2:
        // inet_proto_csum_replace2 is replace4 of the 16-bit values.
        put(f, replace4(get(f), from & 0xffff, to & 0xffff));
        break;
      case 4:
        put(f, replace4(get(f), from, to));
        break;
      default:
        return neg(Errno.EINVAL);
    }
    if (mangledZero && get(f) === 0) put(f, CSUM_MANGLED_0);
    return 0;
  });
  return h;
}
