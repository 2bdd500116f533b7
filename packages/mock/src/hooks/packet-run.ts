// Running packet programs on a mock interface: the `xdp_md` and
// `__sk_buff` contexts are laid out as MockProgram.testRun lays them out
// (same buffer, headroom and tailroom, same fields read through the same
// load hooks), with the interface's ifindex where a test run has the
// loopback's. Each run is one bracket of the runtime (beginRun/endRun): the
// packet is copied out before the run's regions are unmapped.
import type { MockRuntime, PacketState } from '../helpers/runtime.js';
import type { VmProgram } from '../vm/index.js';
import { takeRedirect, type MockRedirect } from './redirect.js';

const XDP_HEADROOM = 256;
const XDP_FRAME_SIZE = 40;
const XDP_TAILROOM = 320;
const XDP_FRAME = 4096;
const XDP_CTX_SIZE = 24;
const SKB_HEADROOM = 64;
const SKB_CTX_SIZE = 192;
const ETH_HLEN = 14;

/**
 * What one stage (an XDP program, a TC chain) did with a packet.
 *
 * @example
 * declare const run: StageRun;
 * if (run.redirect) console.log('to ifindex', run.redirect.ifindex);
 */
export interface StageRun {
  /** r0 of the program that decided, as a 32-bit signed number (TC) or unsigned (XDP); undefined when no program decided. */
  returnValue: number | undefined;
  /** The name of the program that decided. */
  program?: string;
  /** The packet as the programs left it. */
  packet: Uint8Array;
  /** Where a redirect asked the packet to go. */
  redirect?: MockRedirect;
}

/**
 * A program ready to run on a hook: its VM and its name.
 *
 * @example
 * declare const prog: MockProgram;
 * const hook: HookProgram = { name: prog.name, vm: prog.object.vm };
 */
export interface HookProgram {
  readonly name: string;
  readonly vm: VmProgram;
}

/**
 * Runs an XDP program on `packet` received by interface `ifindex`:
 * `xdp_md` gives the packet, `ingress_ifindex` and `rx_queue_index`.
 *
 * @example
 * declare const runtime: MockRuntime, prog: HookProgram;
 * runXdp(runtime, prog, new Uint8Array(64), 2, 0).returnValue; // e.g. 2 (XDP_PASS)
 */
export function runXdp(runtime: MockRuntime, program: HookProgram, packet: Uint8Array, ifindex: number, rxQueue: number): StageRun {
  runtime.beginRun();
  takeRedirect(runtime);
  try {
    const frame = Math.max(XDP_FRAME, XDP_HEADROOM + packet.length + XDP_TAILROOM);
    const buffer = new Uint8Array(frame);
    buffer.set(packet, XDP_HEADROOM);
    const { region } = runtime.scratch(buffer, 'packet');
    region.start = XDP_HEADROOM;
    region.end = XDP_HEADROOM + packet.length;
    const p: PacketState = {
      kind: 'xdp',
      region,
      data: XDP_HEADROOM,
      end: XDP_HEADROOM + packet.length,
      headMin: XDP_FRAME_SIZE,
      tailMax: frame - XDP_TAILROOM,
      minLength: ETH_HLEN,
    };
    const ctx = new Uint8Array(XDP_CTX_SIZE);
    const view = new DataView(ctx.buffer);
    view.setUint32(12, ifindex, true);
    view.setUint32(16, rxQueue, true);
    const ctxRegion = runtime.scratch(ctx, 'context (struct xdp_md)', false).region;
    ctxRegion.load = (offset, size) => {
      if (size !== 4) return undefined;
      if (offset === 0 || offset === 8) return { region, offset: p.data };
      if (offset === 4) return { region, offset: p.end };
      return undefined;
    };
    runtime.setPacket(ctxRegion, p);
    const r0 = program.vm.run(runtime.memory, { r1: runtime.memory.pointer(ctxRegion) });
    const redirect = takeRedirect(runtime);
    return {
      returnValue: Number(r0 & 0xffffffffn),
      program: program.name,
      packet: p.region.bytes.slice(p.data, p.end),
      ...(redirect ? { redirect } : {}),
    };
  } finally {
    runtime.endRun();
  }
}

/**
 * Where an skb is on a mock interface.
 *
 * @example
 * const place: SkbPlace = { ifindex: 2, ingressIfindex: 2, mac: new Uint8Array(6), mtu: 1500, ingress: true };
 */
export interface SkbPlace {
  /** `skb->dev`: the interface whose hook runs. */
  ifindex: number;
  /** `skb->skb_iif`: the interface it was received on (0 for packets sent by the host). */
  ingressIfindex: number;
  /** The interface's address, for `pkt_type` (ingress only). */
  mac: Uint8Array;
  /** The device's MTU: how far `bpf_skb_change_tail` may grow the packet (plus the 14-byte Ethernet header). */
  mtu: number;
  ingress: boolean;
}

/** TC_ACT_UNSPEC / TCX_NEXT: the next program decides. */
const TC_NEXT = -1;

/**
 * Runs a chain of TC programs on one skb, in order, until one returns
 * something else than TC_ACT_UNSPEC (-1, TCX_NEXT). The programs share the
 * skb: what one writes (`mark`, `cb`, `priority`, the packet) the next sees.
 *
 * @example
 * declare const runtime: MockRuntime, progs: HookProgram[];
 * runTcChain(runtime, progs, new Uint8Array(64), { ifindex: 2, ingressIfindex: 2, mac: new Uint8Array(6), mtu: 1500, ingress: true });
 */
export function runTcChain(runtime: MockRuntime, programs: readonly HookProgram[], packet: Uint8Array, place: SkbPlace): StageRun {
  runtime.beginRun();
  takeRedirect(runtime);
  try {
    // bpf_skb_change_tail may grow the packet to the device's MTU plus its link-layer header.
    const buffer = new Uint8Array(SKB_HEADROOM + Math.max(packet.length, place.mtu + ETH_HLEN));
    buffer.set(packet, SKB_HEADROOM);
    const { region } = runtime.scratch(buffer, 'packet');
    region.start = SKB_HEADROOM;
    region.end = SKB_HEADROOM + packet.length;
    const p: PacketState = {
      kind: 'skb',
      region,
      data: SKB_HEADROOM,
      end: SKB_HEADROOM + packet.length,
      headMin: SKB_HEADROOM,
      tailMax: buffer.length,
      minLength: ETH_HLEN,
    };
    const ctx = new Uint8Array(SKB_CTX_SIZE);
    const view = new DataView(ctx.buffer);
    // eth_type_trans: the protocol as on the wire, pkt_type against the interface's address.
    ctx[16] = packet[12] ?? 0;
    ctx[17] = packet[13] ?? 0;
    view.setUint32(4, place.ingress ? packetType(packet, place.mac) : 0, true);
    view.setUint32(36, place.ingressIfindex, true);
    view.setUint32(40, place.ifindex, true);
    view.setUint32(160, packet.length, true);
    const ctxRegion = runtime.scratch(ctx, 'context (struct __sk_buff)').region;
    ctxRegion.load = (offset, size) => {
      if (offset === 0 && size === 4) return p.end - p.data;
      if (size !== 4) return undefined;
      if (offset === 76 || offset === 140) return { region, offset: p.data };
      if (offset === 80) return { region, offset: p.end };
      return undefined;
    };
    runtime.setPacket(ctxRegion, p);
    const r1 = runtime.memory.pointer(ctxRegion);
    let returnValue: number | undefined;
    let decided: string | undefined;
    for (const program of programs) {
      const r0 = Number(BigInt.asIntN(32, program.vm.run(runtime.memory, { r1 })));
      if (r0 !== TC_NEXT) {
        returnValue = r0;
        decided = program.name;
        break;
      }
      returnValue = r0;
    }
    const redirect = takeRedirect(runtime);
    return {
      returnValue,
      ...(decided ? { program: decided } : {}),
      packet: p.region.bytes.slice(p.data, p.end),
      ...(redirect && returnValue === 7 ? { redirect } : {}),
    };
  } finally {
    runtime.endRun();
  }
}

/** `pkt_type` as eth_type_trans gives it: PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3. */
function packetType(packet: Uint8Array, mac: Uint8Array): number {
  const dest = packet.subarray(0, 6);
  if (dest.every((b, i) => b === mac[i])) return 0;
  // The loopback's broadcast address is all zeros: ff:ff:ff:ff:ff:ff is a group address there.
  if (!mac.every((b) => b === 0) && dest.every((b) => b === 0xff)) return 1;
  return ((dest[0] ?? 0) & 1) !== 0 ? 2 : 3;
}
