// The contexts of packet programs, laid out once for test runs and for
// mock interfaces: `struct xdp_md` over an XDP buffer (headroom, metadata,
// data, tailroom) and `struct __sk_buff` over an skb. Reads of the pointer
// fields go through the context region's load hook, so they follow what
// the helpers do to the packet (adjust_head/tail/meta, change_tail).
import type { VmRegion } from '../vm/index.js';
import type { MockRuntime, PacketState } from './runtime.js';

/** Room before an XDP packet, as the kernel's XDP_PACKET_HEADROOM. */
export const XDP_HEADROOM = 256;
/** The `struct xdp_frame` the kernel keeps at the start of the buffer: data and metadata cannot move below it. */
export const XDP_FRAME_SIZE = 40;
/** The `struct skb_shared_info` at the end of an XDP buffer: adjust_tail cannot grow into it. */
export const XDP_TAILROOM = 320;
/** An XDP buffer: a page (or more for a bigger packet). */
export const XDP_FRAME = 4096;
/** Bytes of `struct xdp_md`. */
export const XDP_CTX_SIZE = 24;
/** Room before an skb's data (the mock's choice; programs cannot see it). */
export const SKB_HEADROOM = 64;
/** Bytes of `struct __sk_buff`. */
export const SKB_CTX_SIZE = 192;
export const ETH_HLEN = 14;

/** A packet program's context, mapped: the pointer programs get in r1, the packet it describes, and its bytes. */
export interface PacketContext {
  r1: bigint;
  packet: PacketState;
  /** The context's bytes (what the fields without load hooks read). */
  ctx: Uint8Array;
  region: VmRegion;
}

/**
 * Maps an XDP buffer holding `packet` (the first `metaLength` bytes of it
 * are metadata, before `data`) and its `xdp_md`: `data`, `data_end` and
 * `data_meta` follow the packet, `ingress_ifindex` and `rx_queue_index`
 * are those given.
 *
 * @example
 * declare const runtime: MockRuntime;
 * const { r1, packet } = xdpContext(runtime, new Uint8Array(64), { ingressIfindex: 1, rxQueue: 0 });
 */
export function xdpContext(
  runtime: MockRuntime,
  packet: Uint8Array,
  fields: { ingressIfindex: number; rxQueue: number; metaLength?: number },
): PacketContext {
  const metaLength = fields.metaLength ?? 0;
  const frame = Math.max(XDP_FRAME, XDP_HEADROOM + packet.length + XDP_TAILROOM);
  const buffer = new Uint8Array(frame);
  buffer.set(packet, XDP_HEADROOM);
  const { region } = runtime.scratch(buffer, 'packet');
  const p: PacketState = {
    kind: 'xdp',
    region,
    meta: XDP_HEADROOM,
    data: XDP_HEADROOM + metaLength,
    end: XDP_HEADROOM + packet.length,
    headMin: XDP_FRAME_SIZE,
    tailMax: frame - XDP_TAILROOM,
    minLength: ETH_HLEN,
  };
  region.start = p.meta;
  region.end = p.end;
  const ctx = new Uint8Array(XDP_CTX_SIZE);
  const view = new DataView(ctx.buffer);
  view.setUint32(12, fields.ingressIfindex, true);
  view.setUint32(16, fields.rxQueue, true);
  const ctxRegion = runtime.scratch(ctx, 'context (struct xdp_md)', false).region;
  ctxRegion.load = (offset, size) => {
    if (size !== 4) return undefined;
    if (offset === 0) return { region, offset: p.data };
    if (offset === 4) return { region, offset: p.end };
    if (offset === 8) return { region, offset: p.meta };
    return undefined;
  };
  runtime.setPacket(ctxRegion, p);
  return { r1: runtime.memory.pointer(ctxRegion), packet: p, ctx, region: ctxRegion };
}

/**
 * The `xdp_md` a test run gives back (xdp_convert_buff_to_md): `data` is
 * the metadata's length, `data_end` the length from the metadata on,
 * `data_meta` 0, the rest as the run left it.
 *
 * @example
 * declare const context: PacketContext;
 * new DataView(xdpContextOut(context).buffer).getUint32(4, true); // the packet's length out
 */
export function xdpContextOut(context: PacketContext): Uint8Array {
  const p = context.packet;
  const out = context.ctx.slice();
  const v = new DataView(out.buffer);
  v.setUint32(0, p.data - p.meta, true);
  v.setUint32(4, p.end - p.meta, true);
  v.setUint32(8, 0, true);
  return out;
}

/**
 * Where an skb is, for the `__sk_buff` fields that say so.
 *
 * @example
 * const place: SkbFields = { l2: true, ifindex: 1, ingressIfindex: 0, pktType: 0, maxLength: 65550 };
 */
export interface SkbFields {
  /** Whether programs see the link-layer header (TC) or start at the network header (socket filters). */
  l2: boolean;
  /** `ifindex`: the device whose hook runs. */
  ifindex: number;
  /** `ingress_ifindex`: the device it was received on (0: sent by the host). */
  ingressIfindex: number;
  /** `pkt_type` (PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3). */
  pktType: number;
  /** How long `bpf_skb_change_tail` may make the packet (with its link-layer header). */
  maxLength: number;
  /** The context the test gave, copied in first (test runs). */
  given?: Uint8Array | undefined;
}

/**
 * Maps an skb holding `packet` (from its Ethernet header) and its
 * `__sk_buff`: `len`, `data`, `data_end` and `data_meta` follow the
 * packet; `protocol` is the EtherType as on the wire (eth_type_trans);
 * `wire_len` is the length at the start, unless the given context has one.
 *
 * @example
 * declare const runtime: MockRuntime;
 * const { r1 } = skbContext(runtime, new Uint8Array(64), { l2: true, ifindex: 1, ingressIfindex: 0, pktType: 0, maxLength: 65550 });
 */
export function skbContext(runtime: MockRuntime, packet: Uint8Array, fields: SkbFields): PacketContext {
  const buffer = new Uint8Array(SKB_HEADROOM + Math.max(packet.length, fields.maxLength));
  buffer.set(packet, SKB_HEADROOM);
  const { region } = runtime.scratch(buffer, 'packet');
  const dataStart = SKB_HEADROOM + (fields.l2 ? 0 : ETH_HLEN);
  const p: PacketState = {
    kind: 'skb',
    region,
    meta: dataStart,
    data: dataStart,
    end: SKB_HEADROOM + packet.length,
    headMin: SKB_HEADROOM,
    tailMax: buffer.length,
    minLength: fields.l2 ? ETH_HLEN : 0,
  };
  region.start = p.data;
  region.end = p.end;
  const ctx = new Uint8Array(SKB_CTX_SIZE);
  if (fields.given) ctx.set(fields.given.subarray(0, SKB_CTX_SIZE));
  const view = new DataView(ctx.buffer);
  ctx[16] = packet[12] ?? 0;
  ctx[17] = packet[13] ?? 0;
  view.setUint32(4, fields.pktType, true);
  if (fields.ingressIfindex) view.setUint32(36, fields.ingressIfindex, true);
  view.setUint32(40, fields.ifindex, true);
  if (view.getUint32(160, true) === 0) view.setUint32(160, p.end - p.data, true);
  const ctxRegion = runtime.scratch(ctx, 'context (struct __sk_buff)').region;
  ctxRegion.load = (offset, size) => {
    if (offset === 0 && size === 4) return p.end - p.data;
    if (size !== 4) return undefined;
    if (offset === 76 || offset === 140) return { region, offset: p.data };
    if (offset === 80) return { region, offset: p.end };
    return undefined;
  };
  runtime.setPacket(ctxRegion, p);
  return { r1: runtime.memory.pointer(ctxRegion), packet: p, ctx, region: ctxRegion };
}

/**
 * `pkt_type` as eth_type_trans gives a frame arriving at a device with
 * address `mac`: PACKET_HOST 0 for its address, BROADCAST 1 for
 * ff:ff:ff:ff:ff:ff (not on the loopback, whose broadcast address is all
 * zeros), MULTICAST 2 for another group address, OTHERHOST 3.
 *
 * @example
 * packetType(new Uint8Array(14), new Uint8Array(6)); // 0: the loopback's own address
 */
export function packetType(packet: Uint8Array, mac: Uint8Array): number {
  const dest = packet.subarray(0, 6);
  if (dest.every((b, i) => b === mac[i])) return 0;
  if (!mac.every((b) => b === 0) && dest.every((b) => b === 0xff)) return 1;
  return ((dest[0] ?? 0) & 1) !== 0 ? 2 : 3;
}
