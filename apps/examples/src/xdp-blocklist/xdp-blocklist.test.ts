import { spawnSync } from 'node:child_process';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { sandboxUnavailable } from '../net/sandbox.js';
import { parseCidr, runXdpBlocklist } from './xdp-blocklist.js';

describe('xdp-blocklist', () => {
  it('parses CIDRs, clearing host bits, and refuses what is not one', () => {
    expect(parseCidr('10.1.2.3/24')).toEqual({ prefix: 24, octets: Uint8Array.of(10, 1, 2, 0) });
    expect(parseCidr('10.1.2.3')).toEqual({ prefix: 32, octets: Uint8Array.of(10, 1, 2, 3) });
    expect(parseCidr('172.31.255.255/12').octets).toEqual(Uint8Array.of(172, 16, 0, 0));
    for (const bad of ['10.1.2/24', '10.1.2.256', '10.1.2.3/33', 'x']) expect(() => parseCidr(bad)).toThrow(/expected an IPv4 CIDR/);
  });

  it('runs on the mock: the rule drops the sender while it exists, and counts what it dropped', async () => {
    const lines: string[] = [];
    const phases = await runXdpBlocklist({ backend: 'mock', log: (l) => lines.push(l) });
    expect(phases.map((p) => [p.name, p.seen, p.passed])).toEqual([
      ['no rule', 5n, 5n],
      ['blocking 10.20.0.0/24', 5n, 0n],
      ['unblocked 10.20.0.0/24', 5n, 5n],
    ]);
    expect(phases[1]!.rules).toEqual([
      { cidr: '192.0.2.0/24', id: 0, dropped: 0n },
      { cidr: '10.20.0.0/24', id: 1, dropped: 5n },
    ]);
    expect(phases[2]!.rules).toEqual([{ cidr: '192.0.2.0/24', id: 0, dropped: 0n }]);
    expect(lines[0]).toMatch(/^xdp-blocklist on mock interface veth1/);
  });

  whenKernel('program:xdp')
    .unless(sandboxUnavailable())
    .it('runs on the kernel, on a veth pair in namespaces of its own, and leaves none behind', async () => {
      const phases = await runXdpBlocklist({ backend: 'kernel', log: () => {} });
      // The program also sees ARP (and maybe IPv6 neighbour discovery): at least the datagrams pass, and the rule drops exactly them.
      expect(phases[0]!.passed).toBeGreaterThanOrEqual(5n);
      const blocked = phases[1]!;
      expect(blocked.rules.find((r) => r.cidr.endsWith('.0/24') && r.cidr !== '192.0.2.0/24')?.dropped).toBe(5n);
      expect(blocked.seen - blocked.passed).toBe(5n);
      expect(phases[2]!.passed).toBeGreaterThanOrEqual(5n);
      expect(phases[2]!.rules.map((r) => r.cidr)).toEqual(['192.0.2.0/24']);
      const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
      expect(left).not.toMatch(new RegExp(`bpfkit-blocklist-${process.pid}-`));
    });
});
