/**
 * The demo: what this kernel supports, a map round trip, then a clang-compiled
 * XDP program (bpf/packet_counter.bpf.c) loaded with a constant set, run on
 * test packets and its map and globals read back — on the kernel when the
 * process may use bpf(), on the in-memory mock otherwise (which runs the same
 * program in its BPF virtual machine). It ends with ten seconds of the flow
 * monitor (flow-monitor/) on a veth pair in network namespaces of its own,
 * with traffic it makes — on mock interfaces when this process may not make
 * namespaces — leaving no namespace, interface, program, link or pin behind.
 *
 *   pnpm demo            # auto
 *   pnpm demo --mock     # force the mock backend
 */
import { fileURLToPath } from 'node:url';
import { bpfAccess, formatFeatures, MapType, openSystem, u32, u64 } from 'bpfkit';
import type { System } from 'bpfkit';
import { runFlowMonitor } from './flow-monitor/flow-monitor.js';
import { sandboxUnavailable } from './net/sandbox.js';

export async function demo(
  backend: 'auto' | 'mock' | 'kernel',
  log: (line: string) => void,
  options: { flowSeconds?: number; live?: boolean } = {},
): Promise<void> {
  await intro(backend, log);
  // The finale: the flow monitor on a veth pair in namespaces of its own (the kernel, when this process
  // may make them), or on a mock interface.
  const flowBackend =
    backend === 'mock' || (backend === 'auto' && (sandboxUnavailable() || bpfAccess().available !== true)) ? 'mock' : 'kernel';
  const seconds = options.flowSeconds ?? 10;
  log(`\nflow monitor, ${seconds} s (apps/examples/src/flow-monitor):`);
  const summary = await runFlowMonitor({ backend: flowBackend, seconds, ...(options.live ? {} : { log }) });
  log(
    `  ${summary.flows.length} flows, ${summary.endedEvents} ended through the ring buffer, evicted ${summary.evictions} times by ${summary.batchEviction ? 'batch lookup-and-delete' : 'iterate-and-delete'}, attached with ${summary.attachedWith}; all detached, nothing left behind`,
  );
}

/** Features, a map round trip and the packet counter. */
async function intro(backend: 'auto' | 'mock' | 'kernel', log: (line: string) => void): Promise<void> {
  using system: System = await openSystem({ backend });
  // Why the mock, when the kernel was not asked against: the reason bpf() is not available here.
  const why =
    system.kind === 'kernel'
      ? ''
      : backend === 'mock'
        ? ' (asked for with --mock)'
        : ` (${bpfAccess().reason ?? 'bpf() is not available'})`;
  log(`backend: ${system.kind}${why}\n`);
  log(formatFeatures(system.features()));

  log('\nmap round trip:');
  using counts = system.createMap(
    { name: 'demo_counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 },
    { key: u32, value: u64 },
  );
  for (const port of [22, 80, 443]) counts.update(port, BigInt(port) * 10n);
  counts.update(80, 1n, 'exist');
  log(`  lookup(80)  = ${counts.lookup(80)}`);
  log(`  lookup(8080) = ${counts.lookup(8080)} (absent)`);
  log(`  delete(22)  = ${counts.delete(22)}`);
  const entries = [...counts.entries()].sort(([a], [b]) => a - b);
  log(`  entries     = ${entries.map(([k, v]) => `${k}=>${v}`).join(', ')}`);
  const info = counts.info();
  log(`  info        = id ${info.id}, type ${info.type}, key ${info.keySize} B, value ${info.valueSize} B, max ${info.maxEntries}`);

  log('\nloading bpf/packet_counter.bpf.o (drop_protocol = 17, UDP):');
  const object = fileURLToPath(new URL('../bpf/packet_counter.bpf.o', import.meta.url));
  // The same object on either backend: the mock runs the program in its BPF virtual machine.
  using coll = system.loadCollection(object, { constants: { drop_protocol: 17 } });
  log(`  maps        = ${Object.keys(coll.maps).join(', ')}`);
  const program = coll.programs.count_packets!;
  const progInfo = program.info();
  log(
    system.kind === 'mock'
      ? `  program     = count_packets (xdp), id ${progInfo.id}, run by the mock's BPF virtual machine`
      : `  program     = count_packets (xdp), id ${progInfo.id}, ${progInfo.xlatedSize} bytes translated, ${progInfo.jitedSize} jited`,
  );
  const verdicts = [TCP, TCP, TCP, UDP, UDP].map((proto) => program.testRun({ data: ipv4Packet(proto) }).returnValue);
  log(`  verdicts    = ${verdicts.map((v) => XDP_ACTIONS[v] ?? v).join(', ')}`);
  const perProtocol = [...coll.maps.packets_by_protocol!.entries()]
    .map(
      ([k, v]) =>
        [(k as Uint8Array)[0]!, new DataView((v as Uint8Array).buffer, (v as Uint8Array).byteOffset).getBigUint64(0, true)] as const,
    )
    .sort(([a], [b]) => a - b);
  log(`  by protocol = ${perProtocol.map(([p, n]) => `${PROTOCOLS[p] ?? p}=>${n}`).join(', ') || '(none)'}`);
  log(
    `  globals     = drop_protocol ${coll.variables.drop_protocol!.get()}, bytes_seen ${coll.variables.bytes_seen!.get()}, dropped ${coll.variables.dropped!.get()}`,
  );
}

const TCP = 6;
const UDP = 17;
const PROTOCOLS: Record<number, string> = { [TCP]: 'tcp', [UDP]: 'udp' };
const XDP_ACTIONS: Record<number, string> = { 0: 'aborted', 1: 'drop', 2: 'pass', 3: 'tx', 4: 'redirect' };

/** A 64-byte Ethernet + IPv4 packet of the given protocol (10.0.0.1 → 10.0.0.2). */
function ipv4Packet(protocol: number): Uint8Array {
  const p = new Uint8Array(64);
  p.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0); // dst, src MAC, EtherType IPv4
  p.set([0x45, 0, 0, 50, 0, 1, 0, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  return p;
}

const argv = process.argv.slice(2);
const backend = argv.includes('--mock') ? 'mock' : argv.includes('--kernel') ? 'kernel' : 'auto';
if (import.meta.url === `file://${process.argv[1]}`) {
  await demo(backend, (line) => console.log(line), { live: process.stdout.isTTY === true });
}
