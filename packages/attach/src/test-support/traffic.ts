/** Traffic for the network hook tests, sent inside a test namespace. Test-only. */
import type { VethPair } from '@bpfkit/syscalls/testing';

/**
 * Sends `count` UDP datagrams of `size` bytes from one end of the pair to
 * `address:port`, from a Node process started in that end's namespace.
 */
export function sendUdp(net: VethPair, from: 'a' | 'b', address: string, port: number, count: number, size = 32): void {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    let left = ${count};
    const next = () => left-- > 0 ? s.send(Buffer.alloc(${size}, 120), ${port}, ${JSON.stringify(address)}, next) : s.close();
    next();`;
  const r = net.exec(from, process.execPath, ['-e', script], { timeoutMs: 20_000 });
  if (r.status !== 0) throw new Error(`sendUdp from ${from}: exit ${r.status} ${r.stderr}`);
}
