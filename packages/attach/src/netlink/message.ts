/**
 * rtnetlink messages in bytes: `struct nlmsghdr`, the family headers bpfkit
 * sends (`struct ifinfomsg`, `struct tcmsg`) and `struct nlattr` attributes,
 * all in host byte order as the kernel expects.
 *
 * @module
 */
import os from 'node:os';

const LE = os.endianness() === 'LE';

/** `struct nlmsghdr` is 16 bytes; messages and attributes are aligned to 4 (NLMSG_ALIGNTO, NLA_ALIGNTO). */
export const NLMSG_HDRLEN = 16;
const align4 = (n: number) => (n + 3) & ~3;

/** Message types and flags of <linux/netlink.h> and <linux/rtnetlink.h>. */
export const Nl = {
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  NLM_F_REQUEST: 0x1,
  NLM_F_MULTI: 0x2,
  NLM_F_ACK: 0x4,
  NLM_F_ECHO: 0x8,
  NLM_F_DUMP: 0x300,
  NLM_F_REPLACE: 0x100,
  NLM_F_EXCL: 0x200,
  NLM_F_CREATE: 0x400,
  /** In an NLMSG_ERROR: extended-ack attributes follow (4.12). */
  NLM_F_ACK_TLVS: 0x200,
  /** In an NLMSG_ERROR: the request's payload was left out (NETLINK_CAP_ACK). */
  NLM_F_CAPPED: 0x100,
  NLMSGERR_ATTR_MSG: 1,
  NLA_F_NESTED: 0x8000,
  RTM_NEWLINK: 16,
  RTM_GETLINK: 18,
  RTM_SETLINK: 19,
  RTM_NEWQDISC: 36,
  RTM_DELQDISC: 37,
  RTM_GETQDISC: 38,
  RTM_NEWTFILTER: 44,
  RTM_DELTFILTER: 45,
  RTM_GETTFILTER: 46,
} as const;

/** Names of the request types, for error messages. */
export const RTM_NAMES: Readonly<Record<number, string>> = {
  16: 'RTM_NEWLINK',
  18: 'RTM_GETLINK',
  19: 'RTM_SETLINK',
  36: 'RTM_NEWQDISC',
  37: 'RTM_DELQDISC',
  38: 'RTM_GETQDISC',
  44: 'RTM_NEWTFILTER',
  45: 'RTM_DELTFILTER',
  46: 'RTM_GETTFILTER',
};

/** One attribute, or a nest of them (`NLA_F_NESTED` set on the type). */
export type Attr = { type: number; data: Uint8Array } | { type: number; nested: Attr[] };

export const u32Attr = (type: number, value: number): Attr => {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value >>> 0, LE);
  return { type, data };
};
export const s32Attr = (type: number, value: number): Attr => {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setInt32(0, value, LE);
  return { type, data };
};
/** A NUL-terminated string attribute. */
export const stringAttr = (type: number, value: string): Attr => {
  const bytes = new TextEncoder().encode(value);
  const data = new Uint8Array(bytes.byteLength + 1);
  data.set(bytes);
  return { type, data };
};

function attrLength(a: Attr): number {
  const payload = 'data' in a ? a.data.byteLength : a.nested.reduce((n, c) => n + align4(attrLength(c)), 0);
  return 4 + payload;
}

function writeAttr(view: DataView, bytes: Uint8Array, offset: number, a: Attr): number {
  const len = attrLength(a);
  view.setUint16(offset, len, LE);
  view.setUint16(offset + 2, 'data' in a ? a.type : a.type | Nl.NLA_F_NESTED, LE);
  if ('data' in a) bytes.set(a.data, offset + 4);
  else {
    let o = offset + 4;
    for (const child of a.nested) o = writeAttr(view, bytes, o, child);
  }
  return offset + align4(len);
}

/** `struct ifinfomsg` (16 bytes): family, type, index, flags, change. */
export function ifinfomsg(index: number): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setInt32(4, index, LE);
  return b;
}

/** `struct tcmsg` (20 bytes): family, ifindex, handle, parent, info. */
export function tcmsg(fields: { ifindex: number; handle?: number; parent?: number; info?: number }): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setInt32(4, fields.ifindex, LE);
  v.setUint32(8, (fields.handle ?? 0) >>> 0, LE);
  v.setUint32(12, (fields.parent ?? 0) >>> 0, LE);
  v.setUint32(16, (fields.info ?? 0) >>> 0, LE);
  return b;
}

/** A whole request: header, family header, attributes. */
export function encodeMessage(type: number, flags: number, seq: number, header: Uint8Array, attrs: readonly Attr[] = []): Uint8Array {
  const len = NLMSG_HDRLEN + align4(header.byteLength) + attrs.reduce((n, a) => n + align4(attrLength(a)), 0);
  const bytes = new Uint8Array(len);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, len, LE);
  view.setUint16(4, type, LE);
  view.setUint16(6, flags, LE);
  view.setUint32(8, seq, LE);
  bytes.set(header, NLMSG_HDRLEN);
  let o = NLMSG_HDRLEN + align4(header.byteLength);
  for (const a of attrs) o = writeAttr(view, bytes, o, a);
  return bytes;
}

/** One received message: its header fields and payload (family header and attributes). */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

/** Splits a datagram into its messages; a truncated one ends the walk. */
export function decodeMessages(bytes: Uint8Array): Message[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Message[] = [];
  let o = 0;
  while (o + NLMSG_HDRLEN <= bytes.byteLength) {
    const len = view.getUint32(o, LE);
    if (len < NLMSG_HDRLEN || o + len > bytes.byteLength) break;
    out.push({
      type: view.getUint16(o + 4, LE),
      flags: view.getUint16(o + 6, LE),
      seq: view.getUint32(o + 8, LE),
      payload: bytes.subarray(o + NLMSG_HDRLEN, o + len),
    });
    o += align4(len);
  }
  return out;
}

/** Attributes from `offset` of `bytes`, by type (nest bit and byte-order bit cleared); the last of a repeated type wins. */
export function decodeAttrs(bytes: Uint8Array, offset = 0): Map<number, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<number, Uint8Array>();
  let o = offset;
  while (o + 4 <= bytes.byteLength) {
    const len = view.getUint16(o, LE);
    if (len < 4 || o + len > bytes.byteLength) break;
    out.set(view.getUint16(o + 2, LE) & 0x3fff, bytes.subarray(o + 4, o + len));
    o += align4(len);
  }
  return out;
}

export const readU32 = (b: Uint8Array | undefined): number | undefined =>
  b && b.byteLength >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, LE) : undefined;
export const readS32 = (b: Uint8Array | undefined): number | undefined =>
  b && b.byteLength >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getInt32(0, LE) : undefined;
export const readString = (b: Uint8Array | undefined): string | undefined => {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
};

/**
 * An NLMSG_ERROR payload: `error` (0 for an ack, -errno otherwise), then the
 * request's header (and payload unless NLM_F_CAPPED), then with
 * NLM_F_ACK_TLVS the extended ack, whose NLMSGERR_ATTR_MSG says why.
 */
export function decodeError(m: Message): { errno: number; message: string | undefined } {
  const view = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const error = m.payload.byteLength >= 4 ? view.getInt32(0, LE) : 0;
  let message: string | undefined;
  if (m.flags & Nl.NLM_F_ACK_TLVS && m.payload.byteLength >= 4 + NLMSG_HDRLEN) {
    const requestLen = view.getUint32(4, LE);
    const skip = 4 + (m.flags & Nl.NLM_F_CAPPED ? NLMSG_HDRLEN : align4(requestLen));
    message = readString(decodeAttrs(m.payload, skip).get(Nl.NLMSGERR_ATTR_MSG));
  }
  return { errno: error === 0 ? 0 : -error, message: message || undefined };
}

/** Reads the fields of a `struct tcmsg` at the start of a payload. */
export function readTcmsg(payload: Uint8Array): { ifindex: number; handle: number; parent: number; info: number } {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { ifindex: v.getInt32(4, LE), handle: v.getUint32(8, LE), parent: v.getUint32(12, LE), info: v.getUint32(16, LE) };
}

/** Reads `ifi_index` of a `struct ifinfomsg` at the start of a payload. */
export function readIfinfomsgIndex(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getInt32(4, LE);
}
