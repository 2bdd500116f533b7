import type { Codec } from './codec.js';
import { checkBuffer, codecError } from './check.js';

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses dotted-quad IPv4 into `out[at..at+4)`; false when `s` is not one. Leading zeros are refused (they read as octal elsewhere). */
function parseIPv4(s: string, out: Uint8Array, at: number): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!DECIMAL_OCTET.test(p)) return false;
    const n = Number(p);
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

const v4scratch = new Uint8Array(4);
const v6scratch = new Uint8Array(16);

/**
 * Parses the RFC 4291 text forms of an IPv6 address (hex groups, one `::`,
 * a trailing dotted-quad IPv4) into `out`; false when `s` is not one. Zone
 * suffixes (`%eth0`) are refused: they are not part of the 16 bytes.
 */
function parseIPv6(s: string, out: Uint8Array): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const compressed = halves.length === 2;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = compressed ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const words: number[] = [];
  const toWords = (groups: string[], last: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (last && i === groups.length - 1 && g.includes('.')) {
        if (!parseIPv4(g, v4scratch, 0)) return false;
        words.push((v4scratch[0]! << 8) | v4scratch[1]!, (v4scratch[2]! << 8) | v4scratch[3]!);
      } else {
        if (!HEX_GROUP.test(g)) return false;
        words.push(parseInt(g, 16));
      }
    }
    return true;
  };
  // A dotted quad may only end the address: the last group of the tail, or of the head when there is no '::'.
  if (!toWords(head, !compressed)) return false;
  const headWords = words.length;
  if (!toWords(tail, true)) return false;
  const tailWords = words.length - headWords;
  if (compressed ? words.length > 7 : words.length !== 8) return false;
  out.fill(0);
  for (let i = 0; i < headWords; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  for (let i = 0; i < tailWords; i++) {
    const w = words[headWords + i]!;
    const pos = 2 * (8 - tailWords + i);
    out[pos] = w >> 8;
    out[pos + 1] = w & 0xff;
  }
  return true;
}

/**
 * Formats 16 bytes as RFC 5952 canonical text: lower-case hex without leading
 * zeros, the longest run of two or more zero groups (the first of equal runs)
 * as `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
 */
function formatIPv6(b: Uint8Array, at: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, at + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    w
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/**
 * An IPv4 address: `'a.b.c.d'` ⇄ 4 bytes in network byte order (`__be32`,
 * as in `struct iphdr` and `struct sockaddr_in`).
 *
 * @example
 * encodeToBytes(ipv4, '192.0.2.1'); // c0 00 02 01
 * ipv4.decode(new Uint8Array([10, 0, 0, 1])); // '10.0.0.1'
 */
export const ipv4: Codec<string> = {
  size: 4,
  name: 'ipv4',
  encode(value: string, into: Uint8Array, offset = 0): void {
    if (typeof value !== 'string' || !parseIPv4(value, v4scratch, 0))
      throw codecError('ipv4', "an IPv4 address such as '192.0.2.1'", value);
    checkBuffer('ipv4', 4, into, offset, true);
    into.set(v4scratch, offset);
  },
  decode(from: Uint8Array, offset = 0): string {
    checkBuffer('ipv4', 4, from, offset, false);
    return formatIPv4(from, offset);
  },
};

/**
 * An IPv6 address ⇄ 16 bytes in network byte order (`struct in6_addr`).
 * Encoding accepts every RFC 4291 text form (`'2001:DB8:0:0::1'`, `'::'`,
 * `'::ffff:192.0.2.1'`); decoding gives the RFC 5952 canonical form.
 *
 * @example
 * const buf = encodeToBytes(ipv6, '2001:0db8:0000:0000:0000:0000:0000:0001');
 * ipv6.decode(buf); // '2001:db8::1'
 */
export const ipv6: Codec<string> = {
  size: 16,
  name: 'ipv6',
  encode(value: string, into: Uint8Array, offset = 0): void {
    if (typeof value !== 'string' || !parseIPv6(value, v6scratch)) throw codecError('ipv6', "an IPv6 address such as '2001:db8::1'", value);
    checkBuffer('ipv6', 16, into, offset, true);
    into.set(v6scratch, offset);
  },
  decode(from: Uint8Array, offset = 0): string {
    checkBuffer('ipv6', 16, from, offset, false);
    return formatIPv6(from, offset);
  },
};

const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}$/;

/**
 * An Ethernet (MAC) address: `'aa:bb:cc:dd:ee:ff'` ⇄ 6 bytes. Encoding also
 * accepts upper case and `-` separators; decoding gives lower case with `:`.
 *
 * @example
 * encodeToBytes(mac, '02:00:5E:10:00:01'); // 02 00 5e 10 00 01
 */
export const mac: Codec<string> = {
  size: 6,
  name: 'mac',
  encode(value: string, into: Uint8Array, offset = 0): void {
    if (typeof value !== 'string' || !MAC.test(value)) throw codecError('mac', "a MAC address such as '02:00:5e:10:00:01'", value);
    checkBuffer('mac', 6, into, offset, true);
    for (let i = 0; i < 6; i++) into[offset + i] = parseInt(value.slice(3 * i, 3 * i + 2), 16);
  },
  decode(from: Uint8Array, offset = 0): string {
    checkBuffer('mac', 6, from, offset, false);
    let s = '';
    for (let i = 0; i < 6; i++) s += (i ? ':' : '') + from[offset + i]!.toString(16).padStart(2, '0');
    return s;
  },
};
