import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import { BtfBuilder } from '../btf/build.js';
import { parseBtf } from '../btf/parse.js';
import { encodeKconfigValue, parseKernelConfig } from './kconfig.js';

describe('kernel config', () => {
  it('reads set values, strings and "is not set" lines', () => {
    const config = parseKernelConfig(
      '#\n# Automatically generated\nCONFIG_BPF=y\nCONFIG_HZ=250\nCONFIG_LOCALVERSION="-fc"\n# CONFIG_KPROBES is not set\nCONFIG_NF=m\n',
    );
    expect([...config]).toEqual([
      ['CONFIG_BPF', 'y'],
      ['CONFIG_HZ', '250'],
      ['CONFIG_LOCALVERSION', '"-fc"'],
      ['CONFIG_KPROBES', 'n'],
      ['CONFIG_NF', 'm'],
    ]);
  });
});

describe('encodeKconfigValue', () => {
  const b = new BtfBuilder();
  const bool = b.addInt('_Bool', 1, false);
  const char = b.addInt('char', 1, true);
  const u32 = b.addInt('unsigned int', 4, false);
  const s16 = b.addInt('short', 2, true);
  const u64 = b.addInt('unsigned long long', 8, false);
  const tri = b.addEnum('libbpf_tristate', [
    ['TRI_NO', 0],
    ['TRI_YES', 1],
    ['TRI_MODULE', 2],
  ]);
  const str = b.addArray(char, u32, 8);
  const ptr = b.addPointer(u32);
  const btf = parseBtf(b.encode());
  // BtfBuilder writes INT encoding 0/1 only; mark _Bool as BTF_INT_BOOL (4) and char as BTF_INT_CHAR (2) the way clang does.
  btf.type(bool)!.int!.encoding = 4;
  btf.type(char)!.int!.encoding = 2;

  it('writes bools, tristates and chars from y/n/m', () => {
    expect(encodeKconfigValue(btf, bool, 'CONFIG_A', 'y', true)).toEqual(Uint8Array.of(1));
    expect(encodeKconfigValue(btf, bool, 'CONFIG_A', 'n', true)).toEqual(Uint8Array.of(0));
    expect(encodeKconfigValue(btf, tri, 'CONFIG_A', 'm', true)).toEqual(Uint8Array.of(2, 0, 0, 0));
    expect(encodeKconfigValue(btf, tri, 'CONFIG_A', 'm', false)).toEqual(Uint8Array.of(0, 0, 0, 2));
    expect(encodeKconfigValue(btf, char, 'CONFIG_A', 'm', true)).toEqual(Uint8Array.of(0x6d));
  });

  it('writes integers in decimal, hex and octal, in either byte order, within range', () => {
    expect(encodeKconfigValue(btf, u32, 'CONFIG_HZ', '250', true)).toEqual(Uint8Array.of(250, 0, 0, 0));
    expect(encodeKconfigValue(btf, u32, 'CONFIG_X', '0x1000', false)).toEqual(Uint8Array.of(0, 0, 0x10, 0));
    expect(encodeKconfigValue(btf, s16, 'CONFIG_X', '-2', true)).toEqual(Uint8Array.of(0xfe, 0xff));
    expect(encodeKconfigValue(btf, u32, 'CONFIG_X', '010', true)).toEqual(Uint8Array.of(8, 0, 0, 0));
    expect(encodeKconfigValue(btf, u64, 'CONFIG_X', '0xffffffffffffffff', true)).toEqual(new Uint8Array(8).fill(0xff));
    expect(() => encodeKconfigValue(btf, s16, 'CONFIG_X', '40000', true)).toThrow(/from -32768 to 32767/);
    expect(() => encodeKconfigValue(btf, u32, 'CONFIG_X', 'y', true)).toThrow(/bool, char or enum libbpf_tristate/);
    expect(() => encodeKconfigValue(btf, u32, 'CONFIG_X', '"text"', true)).toThrow(/a number/);
  });

  it('writes strings NUL-terminated, truncated to the array', () => {
    expect(encodeKconfigValue(btf, str, 'CONFIG_S', '"-fc"', true)).toEqual(Uint8Array.of(0x2d, 0x66, 0x63, 0, 0, 0, 0, 0));
    expect(encodeKconfigValue(btf, str, 'CONFIG_S', '"0123456789"', true)).toEqual(new TextEncoder().encode('0123456\0'));
    expect(() => encodeKconfigValue(btf, str, 'CONFIG_S', 'y', true)).toThrow(/quoted string/);
  });

  it('refuses a bool set to m and types that cannot hold a config value', () => {
    expect(() => encodeKconfigValue(btf, bool, 'CONFIG_NF', 'm', true)).toThrow(/libbpf_tristate/);
    expect(() => encodeKconfigValue(btf, ptr, 'CONFIG_P', 'y', true)).toThrow(InvalidArgumentError);
  });
});
