/**
 * Hand-assembled programs for the network hook tests: match a packet by
 * protocol (and UDP port), count it, return a verdict. Test-only.
 */
import os from 'node:os';
import { MapType } from '@bpfkit/core';
import { assembleItems as assemble, I, type Item } from '@bpfkit/elf/testing';
import { closeFd, mapCreate, mapLookupElem } from '@bpfkit/syscalls';

const LE = os.endianness() === 'LE';
/** A 16-bit big-endian field of the packet as a u16 load reads it on this machine. */
export const wire16 = (v: number) => (LE ? ((v & 0xff) << 8) | (v >> 8) : v);

// The shared hand assembler, under the names these tests use.
export { assemble, I, type Item };

/** `array[slot] += 1` (atomically) in the array map `mapFd`; clobbers r0-r5. */
export const countInto = (mapFd: number, slot: number, done: string): Item[] => [
  I(0x18, { dst: 1, src: 1, imm: mapFd }), // r1 = map
  I(0x62, { dst: 10, offset: -4, imm: slot }), // *(u32 *)(r10 - 4) = slot
  I(0xbf, { dst: 2, src: 10 }),
  I(0x07, { dst: 2, imm: -4 }),
  I(0x85, { imm: 1 }), // bpf_map_lookup_elem
  I(0x15, { dst: 0 }, done), // if r0 == 0 goto done
  I(0xb7, { dst: 1, imm: 1 }),
  I(0xdb, { dst: 0, src: 1 }), // lock *(u64 *)(r0 + 0) += r1
];

/** Offsets of `data` and `data_end` in the context: `struct xdp_md`, `struct __sk_buff`. */
const CTX = { xdp: { data: 0, end: 4 }, skb: { data: 76, end: 80 } } as const;

/**
 * Counts IPv4 packets of `protocol` (and, for UDP, to `port`) in slot 0 of
 * `mapFd` and returns `match` for them and `otherwise` for the rest.
 */
export function packetProgram(o: {
  ctx: 'xdp' | 'skb';
  protocol: number;
  port?: number;
  mapFd: number;
  match: number;
  otherwise: number;
}): Uint8Array {
  const { data, end } = CTX[o.ctx];
  const need = o.port === undefined ? 34 : 38; // Ethernet 14 + IPv4 20 (+ UDP ports 4)
  return assemble([
    I(0xbf, { dst: 6, src: 1 }), // r6 = ctx
    I(0x61, { dst: 2, src: 6, offset: end }), // r2 = data_end
    I(0x61, { dst: 1, src: 6, offset: data }), // r1 = data
    I(0xbf, { dst: 3, src: 1 }),
    I(0x07, { dst: 3, imm: need }),
    I(0x2d, { dst: 3, src: 2 }, 'other'), // if data + need > data_end goto other
    I(0x69, { dst: 3, src: 1, offset: 12 }), // ethertype
    I(0x55, { dst: 3, imm: wire16(0x0800) }, 'other'),
    I(0x71, { dst: 3, src: 1, offset: 23 }), // IPv4 protocol
    I(0x55, { dst: 3, imm: o.protocol }, 'other'),
    ...(o.port === undefined ? [] : [I(0x69, { dst: 3, src: 1, offset: 36 }), I(0x55, { dst: 3, imm: wire16(o.port) }, 'other')]), // UDP destination port
    ...countInto(o.mapFd, 0, 'matched'),
    'matched',
    I(0xb7, { dst: 0, imm: o.match }),
    I(0x95),
    'other',
    I(0xb7, { dst: 0, imm: o.otherwise }),
    I(0x95),
  ]);
}

/**
 * For ordering tests: takes a ticket from slot 0 (atomic fetch-add) and
 * stores it in slot `slot`, then returns `verdict`.
 */
export function ticketProgram(mapFd: number, slot: number, verdict: number): Uint8Array {
  return assemble([
    I(0x18, { dst: 1, src: 1, imm: mapFd }),
    I(0x62, { dst: 10, offset: -4, imm: 0 }),
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -4 }),
    I(0x85, { imm: 1 }),
    I(0x15, { dst: 0 }, 'out'),
    I(0xb7, { dst: 1, imm: 1 }),
    I(0xdb, { dst: 0, src: 1, imm: 0x01 }), // r1 = atomic_fetch_add((u64 *)(r0 + 0), r1)
    I(0xbf, { dst: 6, src: 1 }), // r6 = ticket
    I(0x18, { dst: 1, src: 1, imm: mapFd }),
    I(0x62, { dst: 10, offset: -4, imm: slot }),
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -4 }),
    I(0x85, { imm: 1 }),
    I(0x15, { dst: 0 }, 'out'),
    I(0x7b, { dst: 0, src: 6 }), // *(u64 *)(r0 + 0) = ticket
    'out',
    I(0xb7, { dst: 0, imm: verdict }),
    I(0x95),
  ]);
}

/** An array map of u64 counters with `slots` slots, read by slot; closed on dispose. */
export function counters(slots = 1, mapName = 'counters') {
  const fd = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: slots, mapName });
  const key = new Uint8Array(4);
  const value = new Uint8Array(8);
  return {
    fd,
    read(slot = 0): bigint {
      new DataView(key.buffer).setUint32(0, slot, LE);
      mapLookupElem(fd, key, value);
      return new DataView(value.buffer).getBigUint64(0, LE);
    },
    [Symbol.dispose]() {
      closeFd(fd);
    },
  };
}
