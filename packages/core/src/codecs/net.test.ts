import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { encodeToBytes } from './bytes.js';
import { ipv4, ipv6, mac } from './net.js';

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

describe('ipv4', () => {
  it('encodes dotted quads in network order', () => {
    expect([...encodeToBytes(ipv4, '192.0.2.1')]).toEqual([192, 0, 2, 1]);
    expect([...encodeToBytes(ipv4, '0.0.0.0')]).toEqual([0, 0, 0, 0]);
    expect([...encodeToBytes(ipv4, '255.255.255.255')]).toEqual([255, 255, 255, 255]);
    expect(ipv4.decode(new Uint8Array([10, 0, 0, 1]))).toBe('10.0.0.1');
    expect(ipv4.size).toBe(4);
  });

  it('honours offsets', () => {
    const buf = new Uint8Array(8);
    ipv4.encode('1.2.3.4', buf, 4);
    expect([...buf]).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
    expect(ipv4.decode(buf, 4)).toBe('1.2.3.4');
  });

  it('rejects anything but a strict dotted quad', () => {
    const buf = new Uint8Array(4).fill(7);
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3.-4',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1..3.4',
      'a.b.c.d',
      '',
      '1.2.3.0x4',
      '1e2.0.0.1',
    ]) {
      expect(() => ipv4.encode(bad, buf), bad).toThrow(InvalidArgumentError);
    }
    expect([...buf]).toEqual([7, 7, 7, 7]);
    expect(() => ipv4.encode('1.2.3.4', buf)).not.toThrow();
    expect(() => ipv4.encode(0x01020304 as unknown as string, buf)).toThrow(
      "ipv4: expected an IPv4 address such as '192.0.2.1', got the number 16909060",
    );
    expect(() => ipv4.encode('1.2.3.4', new Uint8Array(3))).toThrow(
      'ipv4: expected a buffer with room for 4 bytes at offset 0, got a Uint8Array of 3 bytes',
    );
    expect(() => ipv4.decode(new Uint8Array(4), 1)).toThrow(InvalidArgumentError);
  });
});

describe('ipv6', () => {
  const canonical = (s: string): string => ipv6.decode(encodeToBytes(ipv6, s));

  it('parses every text form into network-order bytes', () => {
    expect(hex(encodeToBytes(ipv6, '2001:db8::1'))).toBe('20010db8000000000000000000000001');
    expect(hex(encodeToBytes(ipv6, '::'))).toBe('0'.repeat(32));
    expect(hex(encodeToBytes(ipv6, '::1'))).toBe(`${'0'.repeat(31)}1`);
    expect(hex(encodeToBytes(ipv6, '1::'))).toBe(`0001${'0'.repeat(28)}`);
    expect(hex(encodeToBytes(ipv6, '::ffff:1.2.3.4'))).toBe('00000000000000000000ffff01020304');
    expect(hex(encodeToBytes(ipv6, '64:ff9b::192.0.2.33'))).toBe('0064ff9b0000000000000000c0000221');
    expect(hex(encodeToBytes(ipv6, '1:2:3:4:5:6:1.2.3.4'))).toBe('00010002000300040005000601020304');
    expect(hex(encodeToBytes(ipv6, 'FE80:0000:0000:0000:0202:B3FF:FE1E:8329'))).toBe('fe800000000000000202b3fffe1e8329');
    expect(hex(encodeToBytes(ipv6, '1:2:3:4:5:6:7::'))).toBe('00010002000300040005000600070000');
    expect(hex(encodeToBytes(ipv6, '::2:3:4:5:6:7:8'))).toBe('00000002000300040005000600070008');
  });

  it('formats the RFC 5952 canonical form', () => {
    expect(canonical('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonical('2001:db8::1')).toBe('2001:db8::1');
    expect(canonical('::')).toBe('::');
    expect(canonical('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonical('::1')).toBe('::1');
    expect(canonical('1::')).toBe('1::');
    expect(canonical('::ffff:1.2.3.4')).toBe('::ffff:1.2.3.4');
    expect(canonical('0:0:0:0:0:ffff:0102:0304')).toBe('::ffff:1.2.3.4');
    expect(canonical('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(canonical('2001:db8:0:0:1:0:0:0')).toBe('2001:db8:0:0:1::'); // longest run
    expect(canonical('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // a single 0 is not compressed
    expect(canonical('2001:0db8:00a0:0000:0000:0000:0000:0001')).toBe('2001:db8:a0::1');
    expect(canonical('fe80::0202:b3ff:fe1e:8329')).toBe('fe80::202:b3ff:fe1e:8329');
    expect(canonical('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0');
    expect(canonical('::2:3:4:5:6:7:8')).toBe('0:2:3:4:5:6:7:8');
    expect(canonical('::1.2.3.4')).toBe('::102:304'); // IPv4-compatible form is deprecated: hex
    expect(canonical('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(canonical('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3');
  });

  it('honours offsets', () => {
    const buf = new Uint8Array(20).fill(0xaa);
    ipv6.encode('2001:db8::1', buf, 2);
    expect(buf[0]).toBe(0xaa);
    expect(buf[18]).toBe(0xaa);
    expect(ipv6.decode(buf, 2)).toBe('2001:db8::1');
  });

  it('rejects malformed addresses', () => {
    const buf = new Uint8Array(16).fill(9);
    for (const bad of [
      '',
      ':',
      ':::',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '12345::',
      'g::1',
      ':1::',
      '1::2:',
      '1:::2',
      '::1.2.3',
      '::256.1.1.1',
      '1.2.3.4::',
      '::1.2.3.4:1',
      '1:2:3:4:5:6:7:1.2.3.4',
      'fe80::1%eth0',
      ' ::1',
      '::1 ',
      '1:2:3:4:5:6:7:8::',
    ]) {
      expect(() => ipv6.encode(bad, buf), bad).toThrow(InvalidArgumentError);
    }
    expect([...buf]).toEqual(new Array(16).fill(9));
    expect(() => ipv6.encode(null as unknown as string, buf)).toThrow("ipv6: expected an IPv6 address such as '2001:db8::1', got null");
    expect(() => ipv6.encode('::1', new Uint8Array(15))).toThrow(
      'ipv6: expected a buffer with room for 16 bytes at offset 0, got a Uint8Array of 15 bytes',
    );
    expect(() => ipv6.decode(new Uint8Array(16), 1)).toThrow(InvalidArgumentError);
  });
});

describe('mac', () => {
  it('round-trips to lower case with colons', () => {
    expect([...encodeToBytes(mac, 'aa:bb:cc:dd:ee:ff')]).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    expect(mac.decode(encodeToBytes(mac, '02:00:5E:10:00:01'))).toBe('02:00:5e:10:00:01');
    expect(mac.decode(encodeToBytes(mac, '02-00-5e-10-00-01'))).toBe('02:00:5e:10:00:01');
    const buf = new Uint8Array(8);
    mac.encode('00:00:00:00:00:0a', buf, 2);
    expect(mac.decode(buf, 2)).toBe('00:00:00:00:00:0a');
    expect(mac.size).toBe(6);
  });

  it('rejects malformed addresses', () => {
    for (const bad of [
      'aa:bb:cc:dd:ee',
      'aa:bb:cc:dd:ee:ff:00',
      'aa-bb:cc:dd:ee:ff',
      'a:bb:cc:dd:ee:ff',
      'gg:bb:cc:dd:ee:ff',
      'aabbccddeeff',
      '',
    ]) {
      expect(() => mac.encode(bad, new Uint8Array(6)), bad).toThrow(InvalidArgumentError);
    }
    expect(() => mac.encode(5 as unknown as string, new Uint8Array(6))).toThrow(
      "mac: expected a MAC address such as '02:00:5e:10:00:01', got the number 5",
    );
    expect(() => mac.encode('aa:bb:cc:dd:ee:ff', new Uint8Array(6), 1)).toThrow(
      'mac: expected a buffer with room for 6 bytes at offset 1, got a Uint8Array of 6 bytes',
    );
  });
});
