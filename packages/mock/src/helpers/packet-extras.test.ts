import { Errno, Helper, ProgramType } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { MockSystem } from '../mock-system.js';
import { VmFault } from '../vm/index.js';
import { formatBpf, FormatError } from './format.js';

// An XDP program calling bpf_fib_lookup with a struct bpf_fib_lookup on its stack (family `family`,
// `plen` bytes): it returns the helper's answer, or with BPF_FIB_LKUP_RET_SUCCESS the ifindex the
// lookup wrote (offset 8) plus 1000.
function fib(system: MockSystem, family: number, plen = 64) {
  return system.loadProgram({
    name: 'fib',
    type: ProgramType.XDP,
    license: 'GPL',
    instructions: assemble(`mov %r6, %r1
      mov %r2, 0
      ${Array.from({ length: 8 }, (_, i) => `stxdw [%r10-${64 - i * 8}], %r2`).join('\n')}
      mov %r2, ${family}
      stxb [%r10-64], %r2
      mov %r1, %r6
      mov %r2, %r10
      add %r2, -64
      mov %r3, ${plen}
      mov %r4, 0
      call ${Helper.fib_lookup}
      jne %r0, 0, +3
      ldxw %r0, [%r10-56]
      add %r0, 1000
      exit
      exit`),
  });
}

describe('bpf_fib_lookup', () => {
  it('answers as the environment says: no route by default, a route the test fills in', () => {
    using system = new MockSystem();
    using prog = fib(system, 2);
    const run = () => prog.testRun({ data: new Uint8Array(64) }).returnValue;
    expect(run()).toBe(4); // BPF_FIB_LKUP_RET_NOT_FWDED
    const seen: number[] = [];
    system.environment.fibLookup = (params, flags) => {
      seen.push(params[0]!, flags);
      new DataView(params.buffer, params.byteOffset).setUint32(8, 7, true);
      return 0;
    };
    expect(run()).toBe(1007);
    expect(seen).toEqual([2, 0]);
  });

  it('refuses a short struct (-EINVAL) and a family other than AF_INET/AF_INET6 (-EAFNOSUPPORT)', () => {
    using system = new MockSystem();
    using short = fib(system, 2, 32);
    using other = fib(system, 99);
    expect(short.testRun({ data: new Uint8Array(64) }).returnValue).toBe(-Errno.EINVAL >>> 0);
    expect(other.testRun({ data: new Uint8Array(64) }).returnValue).toBe(-Errno.EAFNOSUPPORT >>> 0);
  });
});

describe('bpf_spin_lock', () => {
  const lock = (system: MockSystem, calls: number[]) =>
    system.loadProgram({
      name: 'lock',
      type: ProgramType.XDP,
      license: 'GPL',
      instructions: assemble(`mov %r2, 0
        stxdw [%r10-8], %r2
        ${calls.map((c) => `mov %r1, %r10\nadd %r1, -8\ncall ${c}`).join('\n')}
        ldxw %r0, [%r10-8]
        exit`),
    });

  it('holds the lock word while taken; taking it twice or releasing it unheld faults, naming the mistake', () => {
    using system = new MockSystem();
    using held = lock(system, [Helper.spin_lock]);
    expect(held.testRun({ data: new Uint8Array(64) }).returnValue).toBe(1);
    using paired = lock(system, [Helper.spin_lock, Helper.spin_unlock]);
    expect(paired.testRun({ data: new Uint8Array(64) }).returnValue).toBe(0);
    using twice = lock(system, [Helper.spin_lock, Helper.spin_lock]);
    expect(() => twice.testRun({ data: new Uint8Array(64) })).toThrow(VmFault);
    expect(() => twice.testRun({ data: new Uint8Array(64) })).toThrow(/already held/);
    using unheld = lock(system, [Helper.spin_unlock]);
    expect(() => unheld.testRun({ data: new Uint8Array(64) })).toThrow(/not held/);
  });
});

describe('the format language of bpf_trace_printk and bpf_snprintf', () => {
  const none = { string: () => undefined, bytes: () => undefined };
  it('takes flags, width and precision, 32-bit conversions unless l/ll, and %%', () => {
    expect(formatBpf('%d|%5d|%-5d|%05d|%+d|% d', [BigInt.asUintN(64, -3n), 42n, 42n, 42n, 7n, 7n], none)).toBe(
      '-3|   42|42   |00042|+7| 7',
    );
    expect(formatBpf('%u %lu %x %#X %.3u %%', [0x1_0000_0001n, 0x1_0000_0001n, 255n, 255n, 5n], none)).toBe('1 4294967297 ff 0XFF 005 %');
    expect(formatBpf('%c%c', [0x68n, 0x69n], none)).toBe('hi');
    expect(formatBpf('%.2s|%6s', [1n, 2n], { string: (p) => (p === 1n ? 'abcdef' : 'xy'), bytes: () => undefined })).toBe('ab|    xy');
  });

  it('prints pointers and the addresses they point to', () => {
    const mem = {
      string: () => 'str',
      bytes: (_p: bigint, n: number) => (n === 4 ? Uint8Array.of(192, 168, 0, 7) : Uint8Array.from({ length: 16 }, (_, i) => i)),
    };
    expect(formatBpf('%px', [0xdeadn], mem)).toBe('000000000000dead');
    expect(formatBpf('%pI4 %pi4', [1n, 1n], mem)).toBe('192.168.0.7 192.168.000.007');
    expect(formatBpf('%pI6', [1n], mem)).toBe('0001:0203:0405:0607:0809:0a0b:0c0d:0e0f');
    expect(formatBpf('%pks', [1n], mem)).toBe('str');
  });

  it('refuses what the kernel refuses: unknown conversions and missing arguments', () => {
    expect(() => formatBpf('%f', [1n], none)).toThrow(FormatError);
    expect(() => formatBpf('%d %d', [1n], none)).toThrow(/more conversions than the 1 argument/);
    expect(() => formatBpf('%', [], none)).toThrow(FormatError);
  });
});
