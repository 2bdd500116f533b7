/**
 * Network fixtures for kernel tests: a veth pair whose two ends live in two
 * network namespaces the test creates (never the machine's own interfaces),
 * removed afterwards even when the test fails, and swept at the next run
 * when the process died before it could remove them.
 *
 * @example
 * import { vethPair } from '@bpfkit/syscalls/testing';
 * using net = vethPair();
 * net.ping('a', net.b.address); // true while nothing drops ICMP
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';

/** One end of the pair. */
export interface VethEnd {
  /** The namespace's name (`ip netns`) and its file (`/run/netns/<name>`), for `netns` targets. */
  readonly netnsName: string;
  readonly netns: string;
  /** The interface's name inside its namespace. */
  readonly name: string;
  readonly ifindex: number;
  /** IPv4 address (/24) and MAC address. */
  readonly address: string;
  readonly mac: string;
}

/** A veth pair across two test namespaces; disposing it deletes both namespaces (and so both ends). */
export interface VethPair extends Disposable {
  readonly a: VethEnd;
  readonly b: VethEnd;
  /** Runs a command inside one end's namespace. */
  exec(
    side: 'a' | 'b',
    command: string,
    args: readonly string[],
    options?: { timeoutMs?: number; input?: string },
  ): SpawnSyncReturns<string>;
  /** Sends `count` pings from one side to an address; true when one was answered. */
  ping(from: 'a' | 'b', address: string, count?: number): boolean;
  close(): void;
}

const PREFIX = 'bpfkit-t';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

/**
 * Why network fixtures cannot run here, or undefined when they can: they
 * need root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2's `ip` and,
 * for `ping()`, iputils' `ping` (`scripts/test.sh` installs both as root).
 */
export function networkFixtureUnavailable(needs: { ping?: boolean } = {}): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces are created by root only';
  if (!has('ip')) return "iproute2's `ip` is not installed (apt-get install iproute2)";
  if (needs.ping && !has('ping')) return "iputils' `ping` is not installed (apt-get install iputils-ping)";
  return undefined;
}

let sequence = 0;

/** Deletes test namespaces left by processes that no longer exist. */
function sweepStale(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !fs.existsSync(`/proc/${pid}`)) spawnSync('ip', ['netns', 'del', name]);
  }
}

const live = new Set<VethPair>();
process.once('exit', () => {
  for (const pair of live) pair.close();
});

/**
 * Creates two namespaces, a veth pair with one end in each (`veth0` in `a`,
 * `veth1` in `b`), addresses 10.<x>.<y>.1/24 and .2, loopback and both ends
 * up, and no route beyond the pair.
 */
export function vethPair(): VethPair {
  const unavailable = networkFixtureUnavailable();
  if (unavailable) throw new Error(`vethPair: ${unavailable}`);
  sweepStale();
  const n = sequence++;
  const base = `${PREFIX}${process.pid}-${n}`;
  const nsA = `${base}-a`;
  const nsB = `${base}-b`;
  // 10.200-255.x.0/24: one subnet per pair of this process.
  const subnet = `10.${200 + (process.pid % 56)}.${n % 256}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const remove = () => {
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]);
  };
  try {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', 'veth0', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'veth1', 'netns', nsB);
    const end = (ns: string, dev: string, address: string): VethEnd => {
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', dev);
      ip('-n', ns, 'link', 'set', 'dev', 'lo', 'up');
      ip('-n', ns, 'link', 'set', 'dev', dev, 'up');
      const info = JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', dev)) as Array<{ ifindex: number; address: string }>;
      const first = info[0];
      if (!first) throw new Error(`vethPair: ip link show ${dev} in ${ns} printed nothing`);
      return { netnsName: ns, netns: `/run/netns/${ns}`, name: dev, ifindex: first.ifindex, address, mac: first.address };
    };
    const a = end(nsA, 'veth0', `${subnet}.1`);
    const b = end(nsB, 'veth1', `${subnet}.2`);
    let closed = false;
    const pair: VethPair = {
      a,
      b,
      exec(side, command, args, options = {}) {
        const ns = side === 'a' ? nsA : nsB;
        return spawnSync('ip', ['netns', 'exec', ns, command, ...args], {
          encoding: 'utf8',
          timeout: options.timeoutMs ?? 10_000,
          ...(options.input !== undefined ? { input: options.input } : {}),
        });
      },
      ping(from, address, count = 1) {
        // -W 1: one second per reply; a dropped ping costs that second.
        return pair.exec(from, 'ping', ['-c', String(count), '-W', '1', '-i', '0.2', '-q', address]).status === 0;
      },
      close() {
        if (closed) return;
        closed = true;
        live.delete(pair);
        remove();
      },
      [Symbol.dispose]() {
        pair.close();
      },
    };
    live.add(pair);
    return pair;
  } catch (err) {
    remove();
    throw err;
  }
}
