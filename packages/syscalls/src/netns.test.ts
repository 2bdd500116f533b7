import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { native } from './native.js';
import { inNetns } from './netns.js';
import { networkFixtureUnavailable, vethPair, whenKernel } from './test-support/index.js';

const netnsInode = () => fs.statSync('/proc/thread-self/ns/net').ino;

describe('inNetns', () => {
  it('refuses what is not a namespace file this process can open, and leaves the thread where it was', () => {
    const before = netnsInode();
    expect(() => inNetns('/nonexistent/netns', () => 1)).toThrow(InvalidArgumentError);
    expect(() => inNetns('', () => 1)).toThrow(/network namespace/);
    expect(netnsInode()).toBe(before);
  });

  it('just runs the function without a path', () => {
    expect(inNetns(undefined, () => 42)).toBe(42);
  });
});

whenKernel()
  .unless(networkFixtureUnavailable())
  .describe('inNetns with a veth pair in two test namespaces', () => {
    it('runs inside the namespace, sees its interfaces, returns, and returns on a throw too', () => {
      using net = vethPair();
      const before = netnsInode();
      const inside = inNetns(net.a.netns, () => ({
        ino: netnsInode(),
        veth: fs.readFileSync('/proc/thread-self/net/dev', 'utf8').includes('veth0:'),
      }));
      expect(inside.ino).not.toBe(before);
      expect(inside.veth).toBe(true);
      expect(netnsInode()).toBe(before);
      expect(() =>
        inNetns(net.b.netns, () => {
          throw new RangeError('inside');
        }),
      ).toThrow(RangeError);
      expect(netnsInode()).toBe(before);
      // A socket made inside stays in that namespace.
      const fd = inNetns(net.a.netns, () => native.socket(native.constants.AF_INET ?? 2, native.constants.SOCK_DGRAM ?? 2, 0));
      expect(fd).toBeGreaterThan(0);
      native.close(fd);
    });

    it('the pair passes traffic between its ends and nowhere else, and is gone after close', () => {
      const net = vethPair();
      try {
        expect(net.ping('a', net.b.address)).toBe(true);
        expect(net.exec('a', 'ip', ['route', 'show', 'default']).stdout.trim()).toBe('');
      } finally {
        net.close();
      }
      expect(fs.existsSync(net.a.netns)).toBe(false);
      expect(fs.existsSync(net.b.netns)).toBe(false);
    });
  });
