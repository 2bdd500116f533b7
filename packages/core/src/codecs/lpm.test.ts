import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { cidr4, cidr6 } from './lpm.js';
import { perCpu, cpuCountFromList, perCpuSlotSize } from './per-cpu.js';
import { u32 } from './integer.js';

describe('LPM keys', () => {
  it('encodes prefix length in host order and the address in network order, clearing host bits', () => {
    const b = new Uint8Array(8);
    cidr4.encode('10.1.2.3/8', b);
    expect([...b]).toEqual([8, 0, 0, 0, 10, 0, 0, 0]);
    expect(cidr4.decode(b)).toBe('10.0.0.0/8');
    cidr4.encode('192.168.1.77', b);
    expect(cidr4.decode(b)).toBe('192.168.1.77/32');
    const b6 = new Uint8Array(20);
    cidr6.encode('2001:db8:ffff::1/33', b6);
    expect(cidr6.decode(b6)).toBe('2001:db8:8000::/33');
  });

  it('refuses bad prefixes and addresses', () => {
    const b = new Uint8Array(8);
    expect(() => cidr4.encode('10.0.0.0/33', b)).toThrow(InvalidArgumentError);
    expect(() => cidr4.encode('10.0.0.0/x', b)).toThrow(/prefix length from 0 to 32/);
    expect(() => cidr4.encode('10.0.0/8', b)).toThrow(InvalidArgumentError);
    expect(() => cidr6.encode('2001:db8::/129', new Uint8Array(20))).toThrow(/0 to 128/);
  });
});

describe('per-CPU values', () => {
  it('lays values out in 8-byte slots, padding zeroed', () => {
    const c = perCpu(u32, 3);
    expect(c.size).toBe(24);
    const b = new Uint8Array(24).fill(0xff);
    c.encode([1, 2, 3], b);
    expect([...b]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
    expect(c.decode(b)).toEqual([1, 2, 3]);
    expect(() => c.encode([1, 2], b)).toThrow(/an array of 3 values \(one per possible CPU\)/);
    expect(perCpuSlotSize(12)).toBe(16);
  });

  it('counts CPUs from a kernel CPU list', () => {
    expect(cpuCountFromList('0-3\n')).toBe(4);
    expect(cpuCountFromList('0,2-5')).toBe(6);
    expect(cpuCountFromList('0')).toBe(1);
    expect(() => cpuCountFromList('a-b')).toThrow(InvalidArgumentError);
  });
});
