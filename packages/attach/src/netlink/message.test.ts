import os from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  decodeAttrs,
  decodeError,
  decodeMessages,
  encodeMessage,
  ifinfomsg,
  Nl,
  readS32,
  readString,
  readU32,
  s32Attr,
  stringAttr,
  tcmsg,
  u32Attr,
} from './message.js';

const LE = os.endianness() === 'LE';

describe('rtnetlink messages', () => {
  it('encodes a header, a family header and nested attributes, each aligned to 4 bytes', () => {
    const bytes = encodeMessage(Nl.RTM_SETLINK, Nl.NLM_F_REQUEST, 7, ifinfomsg(3), [
      { type: 43, nested: [s32Attr(1, -1), u32Attr(3, 2)] },
      stringAttr(3, 'veth0'),
    ]);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(0, LE)).toBe(bytes.byteLength);
    expect(bytes.byteLength % 4).toBe(0);
    const [m] = decodeMessages(bytes);
    expect(m).toMatchObject({ type: Nl.RTM_SETLINK, flags: Nl.NLM_F_REQUEST, seq: 7 });
    const payload = m?.payload as Uint8Array;
    expect(new DataView(payload.buffer, payload.byteOffset).getInt32(4, LE)).toBe(3);
    const attrs = decodeAttrs(payload, 16);
    // The nest flag is set on the wire and cleared on reading.
    expect(new DataView(payload.buffer, payload.byteOffset).getUint16(16 + 2, LE)).toBe(43 | Nl.NLA_F_NESTED);
    const xdp = decodeAttrs(attrs.get(43) as Uint8Array);
    expect(readS32(xdp.get(1))).toBe(-1);
    expect(readU32(xdp.get(3))).toBe(2);
    expect(readString(attrs.get(3))).toBe('veth0');
  });

  it('lays out struct tcmsg (ifindex, handle, parent, info)', () => {
    const t = new DataView(tcmsg({ ifindex: 5, handle: 0xffff0000, parent: 0xfffffff1, info: 0x10300 }).buffer);
    expect([t.getInt32(4, LE), t.getUint32(8, LE), t.getUint32(12, LE), t.getUint32(16, LE)]).toEqual([5, 0xffff0000, 0xfffffff1, 0x10300]);
  });

  it('reads an error with its extended-ack message, and an ack as errno 0', () => {
    const payload = new Uint8Array(4 + 16 + 12);
    const v = new DataView(payload.buffer);
    v.setInt32(0, -16, LE); // -EBUSY
    v.setUint32(4, 16, LE); // the request's header (capped)
    v.setUint16(20, 4 + 6, LE); // NLMSGERR_ATTR_MSG "busy!\0"
    v.setUint16(22, Nl.NLMSGERR_ATTR_MSG, LE);
    payload.set(new TextEncoder().encode('busy!\0'), 24);
    expect(decodeError({ type: Nl.NLMSG_ERROR, flags: Nl.NLM_F_ACK_TLVS | Nl.NLM_F_CAPPED, seq: 1, payload })).toEqual({
      errno: 16,
      message: 'busy!',
    });
    expect(decodeError({ type: Nl.NLMSG_ERROR, flags: 0, seq: 1, payload: new Uint8Array(20) })).toEqual({ errno: 0, message: undefined });
  });

  it('stops at a truncated message or attribute instead of reading past the end', () => {
    const bytes = encodeMessage(Nl.RTM_GETLINK, 0, 1, ifinfomsg(0), [stringAttr(3, 'x')]);
    expect(decodeMessages(bytes.subarray(0, bytes.byteLength - 4))).toEqual([]);
    const attrs = LE ? new Uint8Array([200, 0, 3, 0, 1, 2]) : new Uint8Array([0, 200, 0, 3, 1, 2]);
    expect(decodeAttrs(attrs).size).toBe(0);
  });
});
