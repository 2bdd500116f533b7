// Running packet programs on a mock interface: the `xdp_md` and
// `__sk_buff` contexts are those of MockProgram.testRun (one layout,
// helpers/packet-context.ts), with the interface's ifindex where a test run
// has the loopback's. Each run is one bracket of the runtime (beginRun/endRun): the
// packet is copied out before the run's regions are unmapped.
import { ETH_HLEN, packetType, skbContext, xdpContext } from '../helpers/packet-context.js';
import type { MockRuntime } from '../helpers/runtime.js';
import type { VmProgram } from '../vm/index.js';
import { takeRedirect, type MockRedirect } from './redirect.js';

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
    const { r1, packet: p } = xdpContext(runtime, packet, { ingressIfindex: ifindex, rxQueue });
    const r0 = program.vm.run(runtime.memory, { r1 });
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
    const { r1, packet: p } = skbContext(runtime, packet, {
      l2: true,
      ifindex: place.ifindex,
      ingressIfindex: place.ingressIfindex,
      pktType: place.ingress ? packetType(packet, place.mac) : 0,
      maxLength: place.mtu + ETH_HLEN,
    });
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
