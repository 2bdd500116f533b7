import { describe, expect, it } from 'vitest';
import { demo } from './demo.js';
import { sandboxUnavailable } from './net/sandbox.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

describe('demo', () => {
  it('runs on the mock', async () => {
    const lines: string[] = [];
    await demo('mock', (l) => lines.push(l), { flowSeconds: 1 });
    const text = lines.join('\n');
    expect(text).toMatch(/backend: mock/);
    expect(text).toMatch(/entries\s+= 80=>1, 443=>4430/);
    expect(text).toMatch(/maps\s+= packets_by_protocol, \.rodata, \.bss/);
    // The same program, run by the mock's VM: the kernel's verdicts and counts.
    expect(text).toMatch(/program\s+= count_packets \(xdp\), id \d+, run by the mock's BPF virtual machine/);
    expect(text).toMatch(/verdicts\s+= pass, pass, pass, drop, drop/);
    expect(text).toMatch(/by protocol = tcp=>3, udp=>2/);
    expect(text).toMatch(/globals\s+= drop_protocol 17, bytes_seen 320, dropped 2/);
    expect(text).toMatch(/flow monitor, 1 s/);
    expect(text).toMatch(/flow-monitor on mock interface veth1/);
    expect(text).toMatch(
      /\d+ flows, \d+ ended through the ring buffer, evicted \d+ times by batch lookup-and-delete, attached with tc; all detached/,
    );
  });

  whenKernel().it('runs on the kernel', async () => {
    const lines: string[] = [];
    await demo('kernel', (l) => lines.push(l), { flowSeconds: 1 });
    const text = lines.join('\n');
    expect(text).toMatch(/backend: kernel/);
    expect(text).toMatch(/entries\s+= 80=>1, 443=>4430/);
    expect(text).toMatch(/^hash\s+yes$/m);
    expect(text).toMatch(/program\s+= count_packets \(xdp\), id \d+/);
    expect(text).toMatch(/verdicts\s+= pass, pass, pass, drop, drop/);
    expect(text).toMatch(/by protocol = tcp=>3, udp=>2/);
    expect(text).toMatch(/globals\s+= drop_protocol 17, bytes_seen 320, dropped 2/);
    // As root, the flow monitor runs on the kernel, on a veth pair in namespaces of its own.
    if (!sandboxUnavailable())
      expect(text).toMatch(/flow-monitor on veth1 in \/run\/netns\/bpfkit-flows-\d+-\d+-b \(kernel, tcx|tc clsact/);
    expect(text).toMatch(/\d+ flows, \d+ ended through the ring buffer/);
  });
});
