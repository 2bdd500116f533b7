/**
 * A private network for the examples on the kernel: two network namespaces
 * joined by a veth pair (`veth0` in `a` with 10.<n>.<m>.1/24, `veth1` in `b`
 * with .2), nothing else — no default route, nothing attached to the
 * machine's own interfaces. Removed by `close()`, and on exit, SIGINT or
 * SIGTERM if the example forgot to.
 *
 * Needs root and iproute2's `ip`.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** One end of the pair. */
export interface SandboxEnd {
  /** The network namespace's name (`ip netns`). */
  netns: string;
  /** Its file, as attach targets take it (`/run/netns/<name>`). */
  netnsPath: string;
  /** The interface's name inside it. */
  ifname: string;
  address: string;
}

/** Why a sandbox cannot be made here, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces are created by root only';
  if (spawnSync('ip', ['-V']).status !== 0) return "iproute2's `ip` is not installed (apt-get install iproute2)";
  return undefined;
}

const live = new Set<Sandbox>();
let hooked = false;
function removeAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const s of live) s.close();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const s of live) s.close();
      // Alone, this listener replaced Node's default of exiting: exit as that default would.
      if (process.listenerCount(signal) === 0) process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

let sequence = 0;

/**
 * The two namespaces and their veth pair.
 *
 * @example
 * using net = new Sandbox('blocklist');
 * net.sendUdp(net.b.address, 5); // from a to b
 */
export class Sandbox implements Disposable {
  readonly a: SandboxEnd;
  readonly b: SandboxEnd;
  #closed = false;
  readonly #children: ChildProcess[] = [];

  constructor(label: string) {
    const why = sandboxUnavailable();
    if (why) throw new Error(`network sandbox: ${why}`);
    const n = (process.pid % 200) + 20;
    const m = sequence++ % 250;
    const prefix = `bpfkit-${label}-${process.pid}-${m}`;
    const end = (side: string, ifname: string, host: number): SandboxEnd => ({
      netns: `${prefix}-${side}`,
      netnsPath: `/run/netns/${prefix}-${side}`,
      ifname,
      address: `10.${n}.${m}.${host}`,
    });
    this.a = end('a', 'veth0', 1);
    this.b = end('b', 'veth1', 2);
    live.add(this);
    removeAllOnExit();
    try {
      ip('netns', 'add', this.a.netns);
      ip('netns', 'add', this.b.netns);
      ip('link', 'add', this.a.ifname, 'netns', this.a.netns, 'type', 'veth', 'peer', 'name', this.b.ifname, 'netns', this.b.netns);
      for (const end of [this.a, this.b]) {
        ip('-n', end.netns, 'addr', 'add', `${end.address}/24`, 'dev', end.ifname);
        ip('-n', end.netns, 'link', 'set', 'lo', 'up');
        ip('-n', end.netns, 'link', 'set', end.ifname, 'up');
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Sends `count` UDP datagrams from `a` to `address` (port 9, discard),
   * from a Node process inside `a`'s namespace; returns when they are sent.
   */
  sendUdp(address: string, count: number, port = 9): void {
    const script = `const s = require('dgram').createSocket('udp4'); let n = ${count};
      const next = () => (n-- > 0 ? s.send('bpfkit', ${port}, '${address}', next) : s.close()); next();`;
    const r = spawnSync('ip', ['netns', 'exec', this.a.netns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`network sandbox: sending UDP from ${this.a.netns} failed: ${r.stderr || r.error?.message}`);
  }

  /**
   * Starts a TCP server in `b` that answers every connection with a line
   * and closes it (stopped by `close()`). Resolves once it listens.
   */
  async startTcpServer(port = 8080): Promise<void> {
    const script = `require('net').createServer((s) => s.end('bpfkit\\n')).listen(${port}, '${this.b.address}', () => console.log('listening'));`;
    const child = spawn('ip', ['netns', 'exec', this.b.netns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`network sandbox: the TCP server in ${this.b.netns} exited (${code})`)));
    });
  }

  /** Connects from `a` to the TCP server, reads its answer; resolves when the connection closed. */
  tcpRequest(port = 8080): Promise<void> {
    const script = `const c = require('net').connect(${port}, '${this.b.address}'); c.on('data', () => {}); c.on('end', () => c.end());`;
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', this.a.netns, process.execPath, '-e', script], { stdio: 'ignore' });
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`network sandbox: the TCP request from ${this.a.netns} failed (${code})`)),
      );
    });
  }

  /** Removes both namespaces (the veth pair goes with them). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    live.delete(this);
    for (const child of this.#children) child.kill('SIGKILL');
    for (const end of [this.a, this.b]) spawnSync('ip', ['netns', 'del', end.netns]);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`network sandbox: ip ${args.join(' ')} failed: ${(r.stderr || '').trim()}`);
}
