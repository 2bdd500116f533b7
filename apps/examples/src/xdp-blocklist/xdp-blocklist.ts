/**
 * xdp-blocklist (after goebpf's xdp example): an XDP program drops IPv4
 * packets whose source address falls in a blocked CIDR
 * (bpf/xdp_blocklist.bpf.c). Rules live in an LPM trie that {@link Blocklist}
 * edits while the program runs; each rule has a per-CPU packet counter.
 *
 * The run: the program on one end of a veth pair in namespaces of its own
 * (kernel), or on a mock interface (`--mock`); traffic from the other end
 * while a rule for the sender's /24 is added, then removed; the counters and
 * totals printed after each phase.
 *
 *   node apps/examples/dist/xdp-blocklist/main.js [--mock]
 */
import { fileURLToPath } from 'node:url';
import { MockSystem, openSystem, u32 } from 'bpfkit';
import type { Codec, Map, System } from 'bpfkit';
import { loadXdpBlocklist } from '../skeletons/xdp-blocklist.js';
import type { XdpBlocklistSkeleton } from '../skeletons/xdp-blocklist.js';
import { udpPacket } from '../net/packets.js';
import { Sandbox } from '../net/sandbox.js';

const OBJECT = fileURLToPath(new URL('../../bpf/xdp_blocklist.bpf.o', import.meta.url));
const MAX_RULES = 1024;

/** A CIDR as the trie's key: prefix length, then the address in network byte order. */
const cidrKey: Codec<string> = {
  size: 8,
  name: 'struct cidr',
  encode(value, into, offset = 0) {
    const { prefix, octets } = parseCidr(value);
    new DataView(into.buffer, into.byteOffset + offset, 8).setUint32(0, prefix, true);
    into.set(octets, offset + 4);
  },
  decode(from, offset = 0) {
    const prefix = new DataView(from.buffer, from.byteOffset + offset, 8).getUint32(0, true);
    return `${[...from.subarray(offset + 4, offset + 8)].join('.')}/${prefix}`;
  },
};

/**
 * `a.b.c.d/n` as a prefix length and the network's four bytes (host bits
 * cleared, as the trie compares only the prefix).
 */
export function parseCidr(cidr: string): { prefix: number; octets: Uint8Array } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  const parts = m?.slice(1, 5).map(Number);
  const prefix = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!parts || parts.some((p) => p > 255) || prefix > 32)
    throw new Error(`blocklist: expected an IPv4 CIDR like 10.0.0.0/8, got '${cidr}'`);
  const octets = Uint8Array.from(parts);
  for (let bit = prefix; bit < 32; bit++) octets[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { prefix, octets };
}

/** The rules of a loaded blocklist program, edited while it runs. */
export class Blocklist {
  readonly #rules: Map<string, number>;
  readonly #hits: Map<number, bigint[]>;
  readonly #cpus: number;

  /**
   * The loaded object's maps: the rules seen with CIDR strings as keys (the
   * skeleton types them as `struct cidr`), the counters as the skeleton
   * types them. `cpus`: the system's possible CPUs (a per-CPU counter has a
   * slot for each).
   */
  constructor(skel: XdpBlocklistSkeleton, cpus: number) {
    this.#rules = skel.collection.typedMap('blocklist', { key: cidrKey, value: u32 });
    this.#hits = skel.maps.rule_hits;
    this.#cpus = cpus;
  }

  /** Blocks a CIDR; returns its rule id (the index of its counter). */
  add(cidr: string): number {
    const key = cidrKey.decode(encodeKey(cidr)); // normalised: host bits cleared
    const existing = this.#rules.lookup(key);
    if (existing !== undefined) return existing;
    const used = new Set([...this.#rules.values()]);
    let id = 0;
    while (used.has(id)) id++;
    if (id >= MAX_RULES) throw new Error(`blocklist: all ${MAX_RULES} rules are in use`);
    // A fresh rule starts counting from zero (every CPU's slot).
    this.#hits.update(id, new Array<bigint>(this.#cpus).fill(0n));
    this.#rules.update(key, id, 'noexist');
    return id;
  }

  /** Unblocks a CIDR; false when it was not blocked. */
  remove(cidr: string): boolean {
    return this.#rules.delete(cidrKey.decode(encodeKey(cidr)));
  }

  /** Every rule with the packets it dropped (summed over CPUs). */
  rules(): { cidr: string; id: number; dropped: bigint }[] {
    return [...this.#rules.entries()]
      .map(([cidr, id]) => ({ cidr, id, dropped: (this.#hits.lookup(id) ?? []).reduce((a, b) => a + b, 0n) }))
      .sort((x, y) => x.id - y.id);
  }
}

function encodeKey(cidr: string): Uint8Array {
  const bytes = new Uint8Array(8);
  cidrKey.encode(cidr, bytes);
  return bytes;
}

/** What one phase of the run saw. */
export interface Phase {
  name: string;
  sent: number;
  /** Packets the program saw and passed (the summary globals), this phase. */
  seen: bigint;
  passed: bigint;
  rules: { cidr: string; id: number; dropped: bigint }[];
}

/**
 * Runs the blocklist: attach, traffic, a rule added, traffic, the rule
 * removed, traffic; returns what each phase saw.
 *
 * @example
 * const phases = await runXdpBlocklist({ backend: 'mock' });
 */
export async function runXdpBlocklist(
  options: { backend?: 'auto' | 'kernel' | 'mock'; log?: (line: string) => void } = {},
): Promise<Phase[]> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  using system = await openSystem({ backend: options.backend ?? 'auto' });
  using skel = loadXdpBlocklist(system, OBJECT);
  using net = traffic(system);
  using _link = skel.programs.xdp_blocklist.attach({ kind: 'xdp', interface: net.ifname, ...(net.netns ? { netns: net.netns } : {}) });
  const blocklist = new Blocklist(skel, system.possibleCpus);
  const seen = skel.variables.packets_seen;
  const passed = skel.variables.packets_passed;
  log(`xdp-blocklist on ${net.netns ? `${net.ifname} in ${net.netns}` : `mock interface ${net.ifname}`}, traffic from ${net.sender}`);

  const phases: Phase[] = [];
  const phase = async (name: string) => {
    const before = { seen: seen.get(), passed: passed.get() };
    net.send(PACKETS);
    // The receiving end handles the datagrams in its softirq, maybe after the sender returned: wait until the count settles.
    for (let last = -1n, i = 0; i < 50; i++) {
      const now = seen.get();
      if (now === last && now - before.seen >= BigInt(PACKETS)) break;
      last = now;
      await new Promise((r) => setTimeout(r, 20));
    }
    const p: Phase = {
      name,
      sent: PACKETS,
      seen: seen.get() - before.seen,
      passed: passed.get() - before.passed,
      rules: blocklist.rules(),
    };
    phases.push(p);
    const rules = p.rules.map((r) => `${r.cidr} (rule ${r.id}) dropped ${r.dropped}`).join(', ') || 'none';
    log(`  ${name.padEnd(22)} sent ${p.sent}, passed ${p.passed}; rules: ${rules}`);
  };
  await phase('no rule');
  const subnet = `${net.sender.split('.').slice(0, 3).join('.')}.0/24`;
  blocklist.add('192.0.2.0/24'); // a rule that matches nothing here
  blocklist.add(subnet);
  await phase(`blocking ${subnet}`);
  blocklist.remove(subnet);
  await phase(`unblocked ${subnet}`);
  return phases;
}

const PACKETS = 5;

/** Where the program runs and how traffic reaches it, on either backend. */
interface Traffic extends Disposable {
  ifname: string;
  netns?: string;
  /** The sender's address. */
  sender: string;
  send(count: number): void;
}

function traffic(system: System): Traffic {
  if (system instanceof MockSystem) {
    const ifname = 'veth1';
    const nic = system.addInterface(ifname);
    const sender = '10.20.0.1';
    return {
      ifname,
      sender,
      send: (count) => {
        for (let i = 0; i < count; i++) nic.inject(udpPacket(sender, '10.20.0.2'));
      },
      [Symbol.dispose]: () => {},
    };
  }
  const net = new Sandbox('blocklist');
  return {
    ifname: net.b.ifname,
    netns: net.b.netnsPath,
    sender: net.a.address,
    send: (count) => {
      net.sendUdp(net.b.address, count);
      // ARP goes first, and XDP counts it as a non-IPv4 pass: the UDP datagrams are what the phases compare.
    },
    [Symbol.dispose]: () => net.close(),
  };
}
