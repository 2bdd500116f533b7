import { spawnSync } from 'node:child_process';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { sandboxUnavailable } from '../net/sandbox.js';
import { prometheus, runFlowMonitor } from './flow-monitor.js';

describe('flow-monitor', () => {
  it('runs on the mock: flows aggregated per direction, ended flows through the ring buffer, drops by reason, metrics', async () => {
    const lines: string[] = [];
    const summary = await runFlowMonitor({ backend: 'mock', seconds: 1, intervalMs: 150, log: (l) => lines.push(l) });
    expect(summary).toMatchObject({ backend: 'mock', batchEviction: true });
    const rounds = summary.evictions - 1; // the last eviction follows the last round of traffic
    expect(rounds).toBeGreaterThanOrEqual(2);
    const udp = summary.flows.find((f) => f.protocol === 'udp');
    expect(udp).toMatchObject({ direction: 'ingress', source: '10.30.0.1:40000', destination: '10.30.0.2:9', packets: 3 * rounds });
    const tcpIn = summary.flows.filter((f) => f.protocol === 'tcp' && f.direction === 'ingress');
    const tcpOut = summary.flows.filter((f) => f.protocol === 'tcp' && f.direction === 'egress');
    expect(tcpIn).toHaveLength(rounds);
    expect(tcpOut.every((f) => f.ended && f.flags.includes('FIN') && f.packets === 2)).toBe(true);
    expect(tcpIn.every((f) => !f.ended && f.flags.join() === 'SYN,PSH,ACK')).toBe(true);
    expect(summary.endedEvents).toBe(rounds);
    expect(summary.drops).toEqual({ 2: rounds });
    expect(summary.metrics).toContain(`flow_monitor_packets_total{direction="ingress",protocol="udp"} ${3 * rounds}`);
    expect(summary.metrics).toContain(`flow_monitor_drops_total{reason="2"} ${rounds}`);
    expect(lines[0]).toMatch(/^flow-monitor on mock interface veth1/);
    expect(lines.some((l) => /^ingress udp\s+10\.30\.0\.1:40000\s+10\.30\.0\.2:9\s+\d+\s+\d+/.test(l))).toBe(true);
  });

  it('writes the Prometheus text format', () => {
    const text = prometheus(
      [{ source: 'a', destination: 'b', protocol: 'tcp', direction: 'egress', packets: 2, bytes: 120, flags: [], ended: false }],
      { 5: 1 },
      0,
    );
    expect(text).toMatch(/^# HELP flow_monitor_packets_total/);
    expect(text).toContain('flow_monitor_bytes_total{direction="egress",protocol="tcp"} 120\n');
    expect(text).toContain('flow_monitor_drops_total{reason="5"} 1\n');
  });

  whenKernel('program:sched_cls')
    .unless(sandboxUnavailable())
    .it('runs on the kernel on a veth pair of its own: UDP and TCP flows, ended TCP flows, and nothing left behind', async () => {
      const summary = await runFlowMonitor({ backend: 'kernel', seconds: 1, intervalMs: 300, log: () => {} });
      expect(summary.backend).toBe('kernel');
      const udp = summary.flows.filter((f) => f.protocol === 'udp' && f.direction === 'ingress');
      expect(udp.length).toBeGreaterThanOrEqual(1);
      expect(udp.every((f) => f.packets === 3 && f.destination.endsWith(':5353'))).toBe(true);
      const tcp = summary.flows.filter((f) => f.protocol === 'tcp');
      expect(tcp.some((f) => f.direction === 'ingress' && f.flags.includes('SYN'))).toBe(true);
      expect(tcp.some((f) => f.direction === 'egress' && f.ended)).toBe(true);
      expect(summary.endedEvents).toBeGreaterThanOrEqual(2); // both directions of each connection end
      expect(summary.batchEviction).toBe(true);
      const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
      expect(left).not.toMatch(new RegExp(`bpfkit-flows-${process.pid}-`));
    });
});
