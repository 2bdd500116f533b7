/**
 * flow-monitor (after netobserv's FlowFetcher): TC programs on ingress and
 * egress of an interface aggregate packets into flows in a per-CPU hash map
 * (bpf/flow_monitor.bpf.c); flows that end (FIN, RST) come out at once
 * through a ring buffer; the skb:kfree_skb tracepoint counts drops per
 * reason. Every interval the aggregated flows are evicted with one batch
 * lookup-and-delete (iterate-and-delete where the kernel lacks it) and
 * shown as a live table or JSON lines; Prometheus metrics on request.
 *
 * On the kernel it watches one end of a veth pair in namespaces of its own
 * (apps/examples/src/net/sandbox.ts) and makes traffic across it (UDP
 * datagrams and TCP requests); with `--mock`, a mock interface and packets
 * it injects. Nothing is attached to the machine's own interfaces, and
 * nothing is left behind.
 *
 *   node apps/examples/dist/flow-monitor/main.js [--mock] [--json] [--seconds N] [--metrics-port P]
 */
import { fileURLToPath } from 'node:url';
import { MockSystem, openSystem } from 'bpfkit';
import type { Link, Program, System } from 'bpfkit';
import { FlowMonitorRecords, loadFlowMonitor } from '../skeletons/flow-monitor.js';
import type { flow_id as FlowId } from '../skeletons/flow-monitor.js';
import { Sandbox } from '../net/sandbox.js';
import { tcpPacket, udpPacket } from '../net/packets.js';
import { tracepointFormat } from '../tracefs.js';

const OBJECT = fileURLToPath(new URL('../../bpf/flow_monitor.bpf.o', import.meta.url));

/** A flow as the monitor shows it: all CPUs and evictions summed. */
export interface Flow {
  source: string;
  destination: string;
  protocol: string;
  direction: 'ingress' | 'egress';
  packets: number;
  bytes: number;
  /** TCP flags seen (FIN, SYN, RST, PSH, ACK…). */
  flags: string[];
  /** True once a FIN or RST was seen (reported through the ring buffer). */
  ended: boolean;
}

/** What a run saw. */
export interface FlowSummary {
  backend: 'kernel' | 'mock';
  /** How the programs were attached: `tcx` links, or classic `tc` (clsact) filters. */
  attachedWith: 'tcx' | 'tc';
  flows: Flow[];
  /** Flows reported ended through the ring buffer. */
  endedEvents: number;
  /** Drops per kfree_skb reason (by number), machine-wide on the kernel. */
  drops: Record<number, number>;
  evictions: number;
  /** Whether eviction used BPF_MAP_LOOKUP_AND_DELETE_BATCH (false: iterate-and-delete). */
  batchEviction: boolean;
  /** The Prometheus exposition of the last state. */
  metrics: string;
}

/** Options of {@link runFlowMonitor}. */
export interface FlowMonitorOptions {
  backend?: 'auto' | 'kernel' | 'mock';
  /** How long it runs (default 10). */
  seconds?: number;
  /** Eviction interval (default 1000 ms). */
  intervalMs?: number;
  /** JSON lines of evicted flows instead of the table. */
  json?: boolean;
  /** Redraw the table in place (default: when stdout is a terminal). */
  live?: boolean;
  /** Serves the metrics at http://127.0.0.1:<port>/metrics while it runs. */
  metricsPort?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** Where kfree_skb's `reason` is in the record, from the tracepoint's format (36 since 6.11, 28 before). */
export function kfreeReasonOffset(system: System): number {
  if (system.kind === 'mock') return 36;
  const m = /field:enum skb_drop_reason reason;\s*offset:(\d+);/.exec(tracepointFormat('skb', 'kfree_skb') ?? '');
  return m ? Number(m[1]) : 36;
}

const ipv4 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.'); // network byte order in a LE u32

/**
 * Runs the flow monitor for `seconds`, with traffic of its own.
 *
 * @example
 * const summary = await runFlowMonitor({ backend: 'mock', seconds: 2 });
 */
export async function runFlowMonitor(options: FlowMonitorOptions = {}): Promise<FlowSummary> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const live = options.live ?? (options.log === undefined && process.stdout.isTTY === true && !options.json);
  const seconds = options.seconds ?? 10;
  const intervalMs = options.intervalMs ?? 1000;
  using system = await openSystem({ backend: options.backend ?? 'auto' });
  // The generated skeleton (src/skeletons/flow-monitor.ts): typed constants, maps (per-CPU values as arrays) and records.
  using skel = loadFlowMonitor(system, OBJECT, { constants: { kfree_reason_offset: kfreeReasonOffset(system) } });
  await using net = await trafficFor(system);
  const useTcx = system.features().linkTypes.tcx === true;
  const links: Link[] = [];
  using _links = {
    [Symbol.dispose]: () => {
      for (const link of links.reverse()) link.close();
    },
  };
  const attachTc = (program: Program, direction: 'ingress' | 'egress') =>
    links.push(
      program.attach(
        useTcx
          ? { kind: 'tcx', interface: net.ifname, direction, ...(net.netns ? { netns: net.netns } : {}) }
          : { kind: 'tc', interface: net.ifname, direction, ...(net.netns ? { netns: net.netns } : {}) },
      ),
    );
  attachTc(skel.programs.flow_ingress, 'ingress');
  attachTc(skel.programs.flow_egress, 'egress');
  links.push(skel.programs.count_drop.attach({ kind: 'tracepoint', group: 'skb', name: 'kfree_skb' }));

  const flowMap = skel.maps.flows;
  using ended = system.openRingBuffer(skel.maps.ended_flows, { codec: FlowMonitorRecords.ended_flows });

  const table = new globalThis.Map<string, Flow>();
  let endedEvents = 0;
  let evictions = 0;
  let batchEviction = true;
  const keyOf = (id: FlowId) => `${id.direction}|${id.proto}|${ipv4(id.saddr)}:${id.sport}|${ipv4(id.daddr)}:${id.dport}`;
  const flowOf = (id: FlowId): Flow => {
    const key = keyOf(id);
    let flow = table.get(key);
    if (!flow) {
      flow = {
        source: `${ipv4(id.saddr)}:${id.sport}`,
        destination: `${ipv4(id.daddr)}:${id.dport}`,
        protocol: PROTOCOLS[id.proto] ?? String(id.proto),
        direction: id.direction === 0 ? 'ingress' : 'egress',
        packets: 0,
        bytes: 0,
        flags: [],
        ended: false,
      };
      table.set(key, flow);
    }
    return flow;
  };
  const unsubscribe = ended.subscribe((event) => {
    endedEvents++;
    flowOf(event.id).ended = true;
    if (options.json) log(JSON.stringify({ ended: describe(event.id) }));
  });

  const evict = () => {
    const before = flowMap.lastBatch;
    const evicted = flowMap.lookupAndDeleteBatch();
    if (flowMap.lastBatch !== before && flowMap.lastBatch.fallback) batchEviction = false;
    evictions++;
    for (const [id, perCpu] of evicted) {
      const flow = flowOf(id);
      let flags = 0;
      for (const m of perCpu) {
        flow.packets += Number(m.packets);
        flow.bytes += Number(m.bytes);
        flags |= m.tcp_flags;
      }
      flow.flags = TCP_FLAGS.filter((_, bit) => (flags | flagBits(flow.flags)) & (1 << bit));
      if (options.json) log(JSON.stringify({ evicted: describe(id), packets: flow.packets, bytes: flow.bytes }));
    }
  };
  const dropMap = skel.maps.drops;
  const drops = (): Record<number, number> => {
    const out: Record<number, number> = {};
    for (const [reason, counts] of dropMap) {
      const n = counts.reduce((a, b) => a + Number(b), 0);
      if (n > 0) out[reason] = n;
    }
    return out;
  };
  const metrics = () => prometheus([...table.values()], drops(), endedEvents);
  using _server = options.metricsPort === undefined ? undefined : await serveMetrics(options.metricsPort, metrics);

  const stop = new AbortController();
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const started = Date.now();
  const where = net.netns ? `${net.ifname} in ${net.netns}` : `mock interface ${net.ifname}`;
  if (!options.json) log(`flow-monitor on ${where} (${system.kind}, ${useTcx ? 'tcx' : 'tc clsact'}), ${seconds} s`);
  try {
    while (!stop.signal.aborted && Date.now() - started < seconds * 1000) {
      await net.traffic();
      await sleep(intervalMs, stop.signal);
      evict();
      if (!options.json) render([...table.values()], drops(), endedEvents, Math.round((Date.now() - started) / 1000), live, log);
    }
  } finally {
    unsubscribe();
  }
  ended.consume((event) => {
    endedEvents++;
    flowOf(event.id).ended = true;
  });
  evict();
  return {
    backend: system.kind,
    attachedWith: useTcx ? 'tcx' : 'tc',
    flows: [...table.values()],
    endedEvents,
    drops: drops(),
    evictions,
    batchEviction,
    metrics: metrics(),
  };
}

function describe(id: FlowId): string {
  return `${PROTOCOLS[id.proto] ?? id.proto} ${ipv4(id.saddr)}:${id.sport} -> ${ipv4(id.daddr)}:${id.dport} ${id.direction === 0 ? 'in' : 'out'}`;
}

const flagBits = (names: string[]) => names.reduce((bits, n) => bits | (1 << TCP_FLAGS.indexOf(n)), 0);

/** The table, sorted by bytes; redrawn in place on a terminal. */
function render(
  flows: Flow[],
  drops: Record<number, number>,
  endedEvents: number,
  second: number,
  live: boolean,
  log: (line: string) => void,
): void {
  const rows = flows.sort((a, b) => b.bytes - a.bytes).slice(0, 12);
  const lines = [
    `t=${second}s  flows ${flows.length}, ended ${endedEvents}, drops ${Object.values(drops).reduce((a, b) => a + b, 0)}`,
    `${'DIR'.padEnd(8)}${'PROTO'.padEnd(6)}${'SOURCE'.padEnd(22)}${'DESTINATION'.padEnd(22)}${'PACKETS'.padStart(8)}${'BYTES'.padStart(10)}  FLAGS`,
    ...rows.map(
      (f) =>
        `${f.direction.padEnd(8)}${f.protocol.padEnd(6)}${f.source.padEnd(22)}${f.destination.padEnd(22)}${String(f.packets).padStart(8)}${String(f.bytes).padStart(10)}  ${f.flags.join(',')}${f.ended ? ' (ended)' : ''}`,
    ),
  ];
  if (live) process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
  else for (const l of lines) log(l);
}

/** The Prometheus text exposition of the flows and drops. */
export function prometheus(flows: Flow[], drops: Record<number, number>, endedEvents: number): string {
  const out = [
    '# HELP flow_monitor_packets_total Packets seen by the TC programs, per direction and protocol.',
    '# TYPE flow_monitor_packets_total counter',
  ];
  const sums = new globalThis.Map<string, { packets: number; bytes: number }>();
  for (const f of flows) {
    const key = `direction="${f.direction}",protocol="${f.protocol}"`;
    const s = sums.get(key) ?? { packets: 0, bytes: 0 };
    s.packets += f.packets;
    s.bytes += f.bytes;
    sums.set(key, s);
  }
  for (const [k, s] of sums) out.push(`flow_monitor_packets_total{${k}} ${s.packets}`);
  out.push('# HELP flow_monitor_bytes_total Bytes seen by the TC programs.', '# TYPE flow_monitor_bytes_total counter');
  for (const [k, s] of sums) out.push(`flow_monitor_bytes_total{${k}} ${s.bytes}`);
  out.push('# HELP flow_monitor_flows Flows seen.', '# TYPE flow_monitor_flows gauge', `flow_monitor_flows ${flows.length}`);
  out.push('# HELP flow_monitor_ended_flows_total Flows reported ended (FIN/RST) through the ring buffer.');
  out.push('# TYPE flow_monitor_ended_flows_total counter', `flow_monitor_ended_flows_total ${endedEvents}`);
  out.push(
    '# HELP flow_monitor_drops_total Packets freed as drops (skb:kfree_skb), per reason.',
    '# TYPE flow_monitor_drops_total counter',
  );
  for (const [reason, n] of Object.entries(drops)) out.push(`flow_monitor_drops_total{reason="${reason}"} ${n}`);
  return `${out.join('\n')}\n`;
}

async function serveMetrics(port: number, metrics: () => string): Promise<Disposable> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { [Symbol.dispose]: () => server.close() };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** The interface the programs watch and the traffic the monitor makes across it. */
interface Traffic extends AsyncDisposable {
  ifname: string;
  netns?: string;
  traffic(): Promise<void>;
}

async function trafficFor(system: System): Promise<Traffic> {
  if (system instanceof MockSystem) return mockTraffic(system);
  const net = new Sandbox('flows');
  try {
    await net.startTcpServer(8080);
  } catch (err) {
    net.close();
    throw err;
  }
  return {
    ifname: net.b.ifname,
    netns: net.b.netnsPath,
    traffic: async () => {
      net.sendUdp(net.b.address, 3, 5353);
      await net.tcpRequest(8080);
    },
    [Symbol.asyncDispose]: async () => net.close(),
  };
}

/**
 * The mock's traffic each interval: three UDP datagrams in, a TCP exchange
 * (SYN in, SYN-ACK out, data, FIN) on a mock interface, and one drop
 * (kfree_skb, reason 2: NOT_SPECIFIED) fired into the tracepoint.
 */
function mockTraffic(system: MockSystem): Traffic {
  const nic = system.addInterface('veth1');
  const client = '10.30.0.1';
  const server = '10.30.0.2';
  let port = 40000;
  return {
    ifname: 'veth1',
    traffic: async () => {
      for (let i = 0; i < 3; i++) nic.inject(udpPacket(client, server));
      const sport = port++;
      nic.inject(tcpPacket(client, server, sport, 8080, 0x02));
      nic.send(tcpPacket(server, client, 8080, sport, 0x12));
      nic.inject(tcpPacket(client, server, sport, 8080, 0x18, 'GET'));
      nic.send(tcpPacket(server, client, 8080, sport, 0x11, 'ok'));
      const drop = new Uint8Array(40);
      new DataView(drop.buffer).setUint32(36, 2, true);
      system.fire({ kind: 'tracepoint', group: 'skb', name: 'kfree_skb' }, drop);
    },
    [Symbol.asyncDispose]: async () => {},
  };
}
