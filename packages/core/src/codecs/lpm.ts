import type { Codec } from './codec.js';
import { InvalidArgumentError } from '../errors.js';
import { hostLittleEndian } from './integer.js';
import { ipv4, ipv6 } from './net.js';

/**
 * An LPM trie key (`struct bpf_lpm_trie_key_u8`): a host-order u32 prefix
 * length followed by the address in network order, written and read as a
 * CIDR string. The address bits past the prefix are cleared on encode, as
 * the trie ignores them.
 */
function cidrCodec(family: 'IPv4' | 'IPv6', address: Codec<string>, bits: number): Codec<string> {
  const name = `${family} CIDR`;
  return {
    size: 4 + address.size,
    name,
    encode(value, into, offset = 0) {
      if (typeof value !== 'string')
        throw new InvalidArgumentError(name, `a string such as '${family === 'IPv4' ? '10.0.0.0/8' : '2001:db8::/32'}'`, value);
      const slash = value.lastIndexOf('/');
      const addr = slash < 0 ? value : value.slice(0, slash);
      const prefix = slash < 0 ? bits : Number(value.slice(slash + 1));
      if (slash >= 0 && !/^\d{1,3}$/.test(value.slice(slash + 1)))
        throw new InvalidArgumentError(name, `a prefix length from 0 to ${bits}`, value);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits)
        throw new InvalidArgumentError(name, `a prefix length from 0 to ${bits}`, value);
      new DataView(into.buffer, into.byteOffset, into.byteLength).setUint32(offset, prefix, hostLittleEndian);
      address.encode(addr, into, offset + 4);
      for (let bit = prefix; bit < bits; bit++) into[offset + 4 + (bit >> 3)]! &= ~(0x80 >> (bit & 7));
    },
    decode(from, offset = 0) {
      const prefix = new DataView(from.buffer, from.byteOffset, from.byteLength).getUint32(offset, hostLittleEndian);
      return `${address.decode(from, offset + 4)}/${prefix}`;
    },
  };
}

/**
 * IPv4 LPM trie keys from CIDR strings (8 bytes: prefix length + address).
 *
 * @example
 * const routes = system.createMap({ type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 64, flags: MapFlags.NO_PREALLOC }, { key: cidr4, value: u32 });
 * routes.update('10.0.0.0/8', 1);
 * routes.lookup('10.1.2.3/32'); // 1: longest prefix match
 */
export const cidr4: Codec<string> = cidrCodec('IPv4', ipv4, 32);

/**
 * IPv6 LPM trie keys from CIDR strings (20 bytes: prefix length + address).
 *
 * @example
 * const routes6 = system.createMap({ type: MapType.LPM_TRIE, keySize: 20, valueSize: 4, maxEntries: 64, flags: MapFlags.NO_PREALLOC }, { key: cidr6, value: u32 });
 * routes6.update('2001:db8::/32', 7);
 */
export const cidr6: Codec<string> = cidrCodec('IPv6', ipv6, 128);
