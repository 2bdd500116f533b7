import type { Codec } from './codec.js';

/**
 * The key codec of maps without keys (queue, stack, bloom filter, ring
 * buffers: key size 0).
 *
 * @example
 * using q = system.createMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 8 }, { key: noKey, value: u32 });
 * q.push(1);
 */
export const noKey: Codec<undefined> = {
  size: 0,
  name: 'no key',
  encode() {},
  decode() {
    return undefined;
  },
};
