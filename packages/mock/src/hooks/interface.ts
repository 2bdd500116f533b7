// A mock network interface: the XDP and TC hooks of one device and the
// paths a packet takes through them, as the kernel runs them. Ingress: the
// XDP program (native mode: before any skb), then the TC ingress chain
// (tcx programs in their order, then classic tc filters by priority), then
// the stack (`received`). Egress: the TC egress chain, then the wire
// (`transmitted`).
import { InvalidArgumentError } from '@bpfkit/core';
import type { MockRuntime } from '../helpers/runtime.js';
import type { MockAttachment } from './link.js';
import { BPF_F_INGRESS } from './redirect.js';
import { runTcChain, runXdp, type HookProgram, type StageRun } from './packet-run.js';

/** An XDP program's verdict, by the kernel's `XDP_*` names. */
export type MockXdpVerdict = 'aborted' | 'drop' | 'pass' | 'tx' | 'redirect';
/** A TC program's verdict, by the kernel's `TC_ACT_*` names (`unspec`: -1, TCX_NEXT). */
export type MockTcVerdict = 'unspec' | 'ok' | 'reclassify' | 'shot' | 'pipe' | 'stolen' | 'queued' | 'repeat' | 'redirect' | 'trap';

const XDP_VERDICTS: readonly MockXdpVerdict[] = ['aborted', 'drop', 'pass', 'tx', 'redirect'];
const TC_VERDICTS: readonly MockTcVerdict[] = ['ok', 'reclassify', 'shot', 'pipe', 'stolen', 'queued', 'repeat', 'redirect', 'trap'];

const ETH_HLEN = 14;
/** Redirects in a row before the mock drops the packet (the kernel's XMIT_RECURSION_LIMIT). */
const REDIRECT_LIMIT = 8;

/**
 * What became of a packet given to {@link MockInterface.inject} or {@link MockInterface.send}.
 *
 * @example
 * declare const eth0: MockInterface;
 * const r: MockPacketResult = eth0.inject(new Uint8Array(64));
 * if (r.stage === 'xdp' && r.verdict === 'drop') console.log('dropped by', r.program);
 */
export interface MockPacketResult {
  /** The hook whose program decided last: `'xdp'` for an XDP verdict (or its pass when no TC program decided), `'tc'` for a TC verdict, `'stack'` when no program did (none attached, or every TC program returned -1). */
  stage: 'xdp' | 'tc' | 'stack';
  /** The decision, by the kernel's name (`'pass'` for the stack). */
  verdict: MockXdpVerdict | MockTcVerdict;
  /** r0 of the program that decided (TC: signed), undefined at the stack. */
  returnValue: number | undefined;
  /** The name of the program that decided. */
  program?: string;
  /** The packet as the programs left it (adjust_head/tail, store_bytes…). */
  packet: Uint8Array;
  /** Where it went: up the stack (`received`), out (`transmitted`), to another interface, dropped, or consumed (TC stolen/queued/trap). */
  outcome: 'received' | 'transmitted' | 'redirected' | 'dropped' | 'consumed';
  /** For a redirect: the ifindex asked for, whether to its ingress, and the interface (undefined when none has that index: dropped). */
  redirect?: { ifindex: number; ingress: boolean; target?: MockInterface };
}

/**
 * Counts of one hook of an interface.
 *
 * @example
 * declare const eth0: MockInterface;
 * eth0.stats().xdp.dropped;
 */
export interface MockStageStats {
  /** Packets the hook's programs ran on. */
  runs: number;
  /** Passed on (XDP_PASS; TC ok, unspec and the like). */
  passed: number;
  dropped: number;
  redirected: number;
  /** XDP_TX. */
  transmitted: number;
  /** TC stolen, queued, trap. */
  consumed: number;
}

/**
 * Counts of an interface since it was added.
 *
 * @example
 * declare const eth0: MockInterface;
 * const { received, dropped } = eth0.stats();
 */
export interface MockInterfaceStats {
  /** Packets that reached the stack (also in `received`). */
  received: number;
  /** Packets sent out (also in `transmitted`). */
  transmitted: number;
  /** Packets dropped on this interface, by a program or a failed redirect. */
  dropped: number;
  /** Packets this interface's programs redirected elsewhere. */
  redirected: number;
  xdp: MockStageStats;
  tcIngress: MockStageStats;
  tcEgress: MockStageStats;
}

/**
 * Options of {@link MockInterface.inject}.
 *
 * @example
 * const options: MockInjectOptions = { rxQueue: 3 };
 */
export interface MockInjectOptions {
  /** The receive queue (`xdp_md.rx_queue_index`); default 0. */
  rxQueue?: number;
}

/**
 * The interfaces of one system, as an interface sees them (to deliver redirects).
 *
 * @example
 * declare const network: MockInterfaceNetwork;
 * network.byIndex(1)?.name; // 'lo'
 */
export interface MockInterfaceNetwork {
  readonly runtime: MockRuntime;
  byIndex(ifindex: number): MockInterface | undefined;
}

/**
 * The programs on one interface's hooks, in the order they run.
 *
 * @example
 * declare const eth0: MockInterface;
 * eth0.hooks.tcx.ingress.map((a) => a.program.name);
 */
export interface MockInterfaceHooks {
  xdp: MockAttachment | undefined;
  tcx: { ingress: MockAttachment[]; egress: MockAttachment[] };
  tc: { ingress: (MockAttachment & { priority: number })[]; egress: (MockAttachment & { priority: number })[] };
}

const stage = (): MockStageStats => ({ runs: 0, passed: 0, dropped: 0, redirected: 0, transmitted: 0, consumed: 0 });

/**
 * A network interface of a {@link MockSystem}: XDP and TC programs attach
 * to it by name or index, and the test drives packets through it.
 *
 * @example
 * declare const system: MockSystem, xdpProg: MockProgram;
 * const eth0 = system.addInterface('eth0');
 * using link = xdpProg.attach({ kind: 'xdp', interface: 'eth0' });
 * const result = eth0.inject(new Uint8Array(64));
 * result.verdict; // e.g. 'pass'
 * eth0.received.length; // 1 when it passed
 */
export class MockInterface {
  readonly name: string;
  readonly ifindex: number;
  /** Largest frame payload it sends or takes by redirect: a longer frame redirected to it is dropped. */
  readonly mtu: number;
  /** The device's address (`pkt_type` compares a frame's destination with it). */
  readonly mac: Uint8Array;
  /** Packets that reached the stack, oldest first. */
  readonly received: Uint8Array[] = [];
  /** Packets that left on the wire (XDP_TX, redirects, `send`), oldest first. */
  readonly transmitted: Uint8Array[] = [];
  /** The programs on its hooks (the attach code keeps them). */
  readonly hooks: MockInterfaceHooks = { xdp: undefined, tcx: { ingress: [], egress: [] }, tc: { ingress: [], egress: [] } };
  readonly #network: MockInterfaceNetwork;
  readonly #stats: MockInterfaceStats = {
    received: 0,
    transmitted: 0,
    dropped: 0,
    redirected: 0,
    xdp: stage(),
    tcIngress: stage(),
    tcEgress: stage(),
  };

  constructor(network: MockInterfaceNetwork, name: string, ifindex: number, mtu: number, mac: Uint8Array) {
    this.#network = network;
    this.name = name;
    this.ifindex = ifindex;
    this.mtu = mtu;
    this.mac = mac;
  }

  /**
   * A copy of the interface's counts.
   *
   * @example
   * declare const eth0: MockInterface;
   * eth0.stats().tcIngress.runs;
   */
  stats(): MockInterfaceStats {
    const s = this.#stats;
    return { ...s, xdp: { ...s.xdp }, tcIngress: { ...s.tcIngress }, tcEgress: { ...s.tcEgress } };
  }

  /**
   * Receives `packet` on this interface (a frame from the wire, starting
   * with its Ethernet header): the XDP program, then the TC ingress
   * programs (tcx first, then classic tc by priority), then the stack. A
   * redirect delivers it to the target interface: XDP redirects to its
   * `transmitted`; TC redirects through its TC egress programs, or with
   * BPF_F_INGRESS through its ingress path (TC, then the stack).
   *
   * @example
   * declare const eth0: MockInterface;
   * const { stage, verdict, packet } = eth0.inject(Uint8Array.from({ length: 64 }, (_, i) => i));
   */
  inject(packet: Uint8Array, options: MockInjectOptions = {}): MockPacketResult {
    const rxQueue = options.rxQueue ?? 0;
    if (!Number.isInteger(rxQueue) || rxQueue < 0 || rxQueue > 0xffffffff) {
      throw new InvalidArgumentError('inject rxQueue', 'an unsigned 32-bit integer', rxQueue);
    }
    return this.#ingress(toBytes(packet, 'inject'), 0, rxQueue, false);
  }

  /**
   * Sends `packet` out of this interface, as the host's stack would: the
   * TC egress programs (tcx first, then classic tc by priority), then the
   * wire (`transmitted`).
   *
   * @example
   * declare const eth0: MockInterface;
   * eth0.send(new Uint8Array(64)).outcome; // 'transmitted' with no program attached
   */
  send(packet: Uint8Array): MockPacketResult {
    return this.#egress(toBytes(packet, 'send'), 0, 0);
  }

  #ingress(packet: Uint8Array, depth: number, rxQueue: number, skipXdp: boolean): MockPacketResult {
    const runtime = this.#network.runtime;
    const xdp = this.hooks.xdp;
    let passed: StageRun | undefined;
    if (xdp && !skipXdp) {
      const s = this.#stats.xdp;
      s.runs++;
      const run = runXdp(runtime, hookProgram(xdp), packet, this.ifindex, rxQueue);
      const value = run.returnValue ?? 0;
      const verdict = XDP_VERDICTS[value] ?? 'aborted';
      const base = { stage: 'xdp' as const, verdict, returnValue: value, program: run.program, packet: run.packet };
      switch (verdict) {
        case 'pass':
          s.passed++;
          packet = run.packet;
          passed = run;
          break;
        case 'tx':
          s.transmitted++;
          this.#transmit(run.packet);
          return { ...base, outcome: 'transmitted' };
        case 'redirect':
          s.redirected++;
          return { ...base, ...this.#redirect(run, depth, 'xdp') };
        default:
          // XDP_ABORTED, XDP_DROP and values the kernel does not know (it warns and drops).
          s.dropped++;
          this.#stats.dropped++;
          return { ...base, outcome: 'dropped' };
      }
    }
    const programs = [...this.hooks.tcx.ingress, ...this.hooks.tc.ingress].map(hookProgram);
    if (programs.length === 0) return this.#deliver(packet, undefined, passed);
    const place = { ifindex: this.ifindex, ingressIfindex: this.ifindex, mac: this.mac, mtu: this.mtu, ingress: true };
    const run = runTcChain(runtime, programs, packet, place);
    return this.#tc(this.#stats.tcIngress, run, depth) ?? this.#deliver(run.packet, run, passed);
  }

  /** The stack takes the packet: the result names the last stage that decided (TC, else XDP's pass, else none). */
  #deliver(packet: Uint8Array, tc: StageRun | undefined, xdp: StageRun | undefined): MockPacketResult {
    this.received.push(packet);
    this.#stats.received++;
    const value = tc?.returnValue;
    if (tc && value !== undefined && value !== -1) {
      const verdict = TC_VERDICTS[value] ?? 'ok';
      return { stage: 'tc', verdict, returnValue: value, ...(tc.program ? { program: tc.program } : {}), packet, outcome: 'received' };
    }
    if (xdp)
      return {
        stage: 'xdp',
        verdict: 'pass',
        returnValue: xdp.returnValue,
        ...(xdp.program ? { program: xdp.program } : {}),
        packet,
        outcome: 'received',
      };
    return { stage: 'stack', verdict: 'pass', returnValue: value, packet, outcome: 'received' };
  }

  #egress(packet: Uint8Array, depth: number, ingressIfindex: number): MockPacketResult {
    const programs = [...this.hooks.tcx.egress, ...this.hooks.tc.egress].map(hookProgram);
    if (programs.length > 0) {
      const place = { ifindex: this.ifindex, ingressIfindex, mac: this.mac, mtu: this.mtu, ingress: false };
      const run = runTcChain(this.#network.runtime, programs, packet, place);
      const result = this.#tc(this.#stats.tcEgress, run, depth);
      if (result) return result;
      packet = run.packet;
      this.#transmit(packet);
      const value = run.returnValue;
      if (value !== undefined && value !== -1) {
        const verdict = TC_VERDICTS[value] ?? 'ok';
        return {
          stage: 'tc',
          verdict,
          returnValue: value,
          ...(run.program ? { program: run.program } : {}),
          packet,
          outcome: 'transmitted',
        };
      }
      return { stage: 'stack', verdict: 'pass', returnValue: value, packet, outcome: 'transmitted' };
    }
    this.#transmit(packet);
    return { stage: 'stack', verdict: 'pass', returnValue: undefined, packet, outcome: 'transmitted' };
  }

  /** The end of a TC chain: a result when it decided the packet's fate (drop, consume, redirect), undefined when the packet goes on. */
  #tc(s: MockStageStats, run: StageRun, depth: number): MockPacketResult | undefined {
    s.runs++;
    const value = run.returnValue ?? -1;
    const verdict: MockTcVerdict = value === -1 ? 'unspec' : (TC_VERDICTS[value] ?? 'ok');
    const base = {
      stage: 'tc' as const,
      verdict,
      returnValue: value,
      ...(run.program ? { program: run.program } : {}),
      packet: run.packet,
    };
    switch (verdict) {
      case 'shot':
        s.dropped++;
        this.#stats.dropped++;
        return { ...base, outcome: 'dropped' };
      case 'stolen':
      case 'queued':
      case 'trap':
        s.consumed++;
        return { ...base, outcome: 'consumed' };
      case 'redirect':
        s.redirected++;
        return { ...base, ...this.#redirect(run, depth, 'tc') };
      default:
        s.passed++;
        return undefined;
    }
  }

  #redirect(run: StageRun, depth: number, from: 'xdp' | 'tc'): Pick<MockPacketResult, 'outcome' | 'redirect'> {
    const r = run.redirect;
    const target = r ? this.#network.byIndex(r.ifindex) : undefined;
    const ingress = from === 'tc' && r !== undefined && (r.flags & BPF_F_INGRESS) !== 0;
    const redirect = { ifindex: r?.ifindex ?? 0, ingress, ...(target ? { target } : {}) };
    // xdp_do_redirect / skb_do_redirect fail (no such device, a redirect loop, a frame over the
    // target's MTU: ndo_xdp_xmit and is_skb_forwardable refuse it): the packet is dropped.
    if (!target || depth + 1 > REDIRECT_LIMIT || run.packet.length > target.mtu + ETH_HLEN) {
      this.#stats.dropped++;
      return { outcome: 'dropped', redirect };
    }
    this.#stats.redirected++;
    if (from === 'xdp') target.#transmit(run.packet);
    // Generic XDP runs on every skb the device receives, a redirected one too; native XDP only on frames from the driver.
    else if (ingress)
      target.#ingress(run.packet, depth + 1, 0, target.hooks.xdp?.target.kind !== 'xdp' || target.hooks.xdp.target.mode !== 'generic');
    else target.#egress(run.packet, depth + 1, this.ifindex);
    return { outcome: 'redirected', redirect };
  }

  #transmit(packet: Uint8Array): void {
    this.transmitted.push(packet);
    this.#stats.transmitted++;
  }
}

function hookProgram(a: MockAttachment): HookProgram {
  return { name: a.program.name, vm: a.program.vm };
}

function toBytes(packet: Uint8Array, what: string): Uint8Array {
  if (!(packet instanceof Uint8Array))
    throw new InvalidArgumentError(`${what}: packet`, 'a Uint8Array (a frame starting with its Ethernet header)', packet);
  return packet.slice();
}
