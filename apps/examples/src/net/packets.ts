/**
 * Test packets the examples inject into mock interfaces: Ethernet + IPv4
 * (no options, TTL 64) + a transport header and payload, addresses as
 * dotted quads.
 */

/** An Ethernet + IPv4 frame carrying `l4` (a transport header and its payload) of IP protocol `protocol`. */
function ipv4Frame(src: string, dst: string, protocol: number, l4: Uint8Array): Uint8Array {
  const p = new Uint8Array(14 + 20 + l4.length);
  const v = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0); // dst, src MAC
  v.setUint16(12, 0x0800);
  p[14] = 0x45;
  v.setUint16(16, 20 + l4.length);
  p[22] = 64; // TTL
  p[23] = protocol;
  p.set(src.split('.').map(Number), 26);
  p.set(dst.split('.').map(Number), 30);
  p.set(l4, 34);
  return p;
}

/**
 * A UDP datagram from `src` to `dst`, port 40000 to 9 (discard), payload `bpfkit`.
 *
 * @example
 * nic.inject(udpPacket('10.0.0.1', '10.0.0.2'));
 */
export function udpPacket(src: string, dst: string): Uint8Array {
  const payload = new TextEncoder().encode('bpfkit');
  const l4 = new Uint8Array(8 + payload.length);
  const v = new DataView(l4.buffer);
  v.setUint16(0, 40000);
  v.setUint16(2, 9);
  v.setUint16(4, l4.length);
  l4.set(payload, 8);
  return ipv4Frame(src, dst, 17, l4);
}

/**
 * A TCP segment (no options) with these flags and payload.
 *
 * @example
 * nic.inject(tcpPacket('10.0.0.1', '10.0.0.2', 40000, 80, 0x02)); // SYN
 */
export function tcpPacket(src: string, dst: string, sport: number, dport: number, flags: number, payload = ''): Uint8Array {
  const data = new TextEncoder().encode(payload);
  const l4 = new Uint8Array(20 + data.length);
  const v = new DataView(l4.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  l4[12] = 5 << 4; // data offset: 5 words
  l4[13] = flags;
  l4.set(data, 20);
  return ipv4Frame(src, dst, 6, l4);
}
