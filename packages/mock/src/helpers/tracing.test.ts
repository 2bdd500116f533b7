import { Errno, Helper, InvalidArgumentError, ProgramFlags, ProgramType } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { MockSystem } from '../mock-system.js';

// Syscall programs run with a context the test builds and read back: the helpers' arguments come from
// it and their results land in it. Layout: [0] an address or flags, [8] a size, [16] the result,
// [24, 88) the destination buffer (prefilled with 0xaa to see what the helper zeroes).
const CTX = 88;
const EFAULT = BigInt.asUintN(64, BigInt(-Errno.EFAULT));
const EINVAL = BigInt.asUintN(64, BigInt(-Errno.EINVAL));

function callHelper(system: MockSystem, helper: number) {
  return system.loadProgram({
    name: `call_${helper}`,
    type: ProgramType.SYSCALL,
    flags: ProgramFlags.SLEEPABLE,
    license: 'GPL',
    instructions: assemble(`mov %r6, %r1
      mov %r1, %r6
      add %r1, 24
      ldxdw %r2, [%r6+8]
      ldxdw %r3, [%r6+0]
      call ${helper}
      stxdw [%r6+16], %r0
      mov %r0, 0
      exit`),
  });
}

function run(system: MockSystem, helper: number, address: bigint, size: number) {
  using prog = callHelper(system, helper);
  const ctx = new Uint8Array(CTX);
  const view = new DataView(ctx.buffer);
  view.setBigUint64(0, address, true);
  view.setBigUint64(8, BigInt(size), true);
  ctx.fill(0xaa, 24);
  const out = prog.testRun({ context: ctx }).context!;
  return { result: new DataView(out.buffer, out.byteOffset).getBigUint64(16, true), buffer: out.subarray(24, 24 + size) };
}

describe('probe reads against memory the test provides', () => {
  it('read kernel and user addresses of their own space; a miss is -EFAULT with the destination zeroed', () => {
    using system = new MockSystem();
    const k = system.probeMemory.provide(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    const u = system.probeMemory.provide(Uint8Array.of(9, 10, 11, 12), { space: 'user' });
    expect(k >> 48n).toBe(0xffffn); // a kernel address
    expect(u >> 47n).toBe(0n); // a user address
    expect(run(system, Helper.probe_read_kernel, k + 2n, 4)).toEqual({ result: 0n, buffer: Uint8Array.of(3, 4, 5, 6) });
    expect(run(system, Helper.probe_read_user, u, 4)).toEqual({ result: 0n, buffer: Uint8Array.of(9, 10, 11, 12) });
    expect(run(system, Helper.probe_read, u, 2)).toEqual({ result: 0n, buffer: Uint8Array.of(9, 10) });
    // The other space, past the end, nowhere: -EFAULT, zeroed.
    expect(run(system, Helper.probe_read_kernel, u, 4)).toEqual({ result: EFAULT, buffer: new Uint8Array(4) });
    expect(run(system, Helper.probe_read_user, k, 4)).toEqual({ result: EFAULT, buffer: new Uint8Array(4) });
    expect(run(system, Helper.probe_read_kernel, k + 6n, 4)).toEqual({ result: EFAULT, buffer: new Uint8Array(4) });
    expect(run(system, Helper.probe_read_kernel, 0x1234n, 4)).toEqual({ result: EFAULT, buffer: new Uint8Array(4) });
    // The bytes are live; released memory is gone.
    system.probeMemory.read(k, 1, 'kernel')![0] = 0x7f;
    expect(run(system, Helper.probe_read_kernel, k, 1).buffer).toEqual(Uint8Array.of(0x7f));
    expect(system.probeMemory.release(k)).toBe(true);
    expect(run(system, Helper.probe_read_kernel, k, 1).result).toBe(EFAULT);
  });

  it('the _str forms copy up to the NUL and return the length with it, cutting at the size', () => {
    using system = new MockSystem();
    const path = system.probeMemory.provide(new TextEncoder().encode('/etc/passwd\0junk'), { space: 'user' });
    const whole = run(system, Helper.probe_read_user_str, path, 32);
    expect(whole.result).toBe(12n);
    expect(new TextDecoder().decode(whole.buffer.subarray(0, 12))).toBe('/etc/passwd\0');
    expect(whole.buffer[12]).toBe(0xaa); // bytes past the NUL are left alone
    const cut = run(system, Helper.probe_read_user_str, path, 5);
    expect(cut).toEqual({ result: 5n, buffer: new TextEncoder().encode('/etc\0') });
    expect(run(system, Helper.probe_read_kernel_str, path, 8)).toEqual({ result: EFAULT, buffer: new Uint8Array(8) });
    expect(run(system, Helper.probe_read_user_str, path, 0).result).toBe(0n);
  });

  it('refuse a block that overlaps another, or an address that is not a bigint', () => {
    using system = new MockSystem();
    const at = system.probeMemory.provide(new Uint8Array(16), { address: 0xffff_8880_1000_0000n });
    expect(at).toBe(0xffff_8880_1000_0000n);
    expect(() => system.probeMemory.provide(new Uint8Array(4), { address: at + 8n })).toThrow(InvalidArgumentError);
    expect(() => system.probeMemory.provide(new Uint8Array(4), { address: 5 as unknown as bigint })).toThrow(InvalidArgumentError);
  });
});

describe('the current task and stacks', () => {
  it('bpf_get_current_task points where environment.task says, and a task_struct provided there is read', () => {
    using system = new MockSystem();
    using current = system.loadProgram({
      name: 'task',
      type: ProgramType.SYSCALL,
      flags: ProgramFlags.SLEEPABLE,
      license: 'GPL',
      instructions: assemble(`call ${Helper.get_current_task}\nexit`),
    });
    expect(current.testRun({ context: new Uint8Array(8) }).returnValue).toBe(Number(system.environment.task & 0xffffffffn));
    system.environment.task = 0xffff_8880_0a00_0000n;
    system.probeMemory.provide(Uint8Array.of(0x39, 0x30, 0, 0), { address: system.environment.task + 0x100n }); // pid 12345 at +0x100
    expect(run(system, Helper.probe_read_kernel, system.environment.task + 0x100n, 4)).toEqual({
      result: 0n,
      buffer: Uint8Array.of(0x39, 0x30, 0, 0),
    });
  });

  it('bpf_get_stack writes environment.stack (kernel or user), skipping frames and zeroing the rest', () => {
    using system = new MockSystem();
    system.environment.stack = { kernel: [0xffffffff81000010n, 0xffffffff81000020n, 0xffffffff81000030n], user: [0x401000n] };
    const stack = (flags: bigint, size: number) => {
      using prog = system.loadProgram({
        name: 'stack',
        type: ProgramType.SYSCALL,
        flags: ProgramFlags.SLEEPABLE,
        license: 'GPL',
        instructions: assemble(`mov %r6, %r1
          mov %r2, %r6
          add %r2, 24
          ldxdw %r3, [%r6+8]
          ldxdw %r4, [%r6+0]
          call ${Helper.get_stack}
          stxdw [%r6+16], %r0
          mov %r0, 0
          exit`),
      });
      const ctx = new Uint8Array(CTX).fill(0xaa, 24);
      const view = new DataView(ctx.buffer);
      view.setBigUint64(0, flags, true);
      view.setBigUint64(8, BigInt(size), true);
      const out = new DataView(prog.testRun({ context: ctx }).context!.buffer);
      return { result: out.getBigUint64(16, true), frames: [0, 1, 2].map((i) => out.getBigUint64(24 + i * 8, true)) };
    };
    expect(stack(0n, 24)).toEqual({ result: 24n, frames: [0xffffffff81000010n, 0xffffffff81000020n, 0xffffffff81000030n] });
    expect(stack(1n, 24)).toEqual({ result: 16n, frames: [0xffffffff81000020n, 0xffffffff81000030n, 0n] });
    expect(stack(1n << 8n, 24)).toEqual({ result: 8n, frames: [0x401000n, 0n, 0n] });
    expect(stack(0n, 12).result).toBe(EINVAL);
  });
});

describe('formatted output', () => {
  // ctx: [0] size, [8] result, [16, 32) two u64 arguments, [32, 96) the format, [96, 160) the output.
  function snprintf(system: MockSystem, fmt: string, args: bigint[], size = 64) {
    using prog = system.loadProgram({
      name: 'fmt',
      type: ProgramType.SYSCALL,
      flags: ProgramFlags.SLEEPABLE,
      license: 'GPL',
      instructions: assemble(`mov %r6, %r1
        mov %r1, %r6
        add %r1, 96
        ldxdw %r2, [%r6+0]
        mov %r3, %r6
        add %r3, 32
        mov %r4, %r6
        add %r4, 16
        mov %r5, ${args.length * 8}
        call ${Helper.snprintf}
        stxdw [%r6+8], %r0
        mov %r0, 0
        exit`),
    });
    const ctx = new Uint8Array(160);
    const view = new DataView(ctx.buffer);
    view.setBigUint64(0, BigInt(size), true);
    args.forEach((a, i) => {
      view.setBigUint64(16 + i * 8, a, true);
    });
    ctx.set(new TextEncoder().encode(`${fmt}\0`), 32);
    const out = prog.testRun({ context: ctx }).context!;
    const result = new DataView(out.buffer).getBigUint64(8, true);
    const text = out.subarray(96, 160);
    return { result, text: new TextDecoder().decode(text.subarray(0, Math.max(0, text.indexOf(0)))) };
  }

  it('bpf_snprintf formats into the program buffer and returns the length with the NUL; it cuts at the size', () => {
    using system = new MockSystem();
    expect(snprintf(system, 'pid=%d hex=%#06x', [BigInt.asUintN(64, -42n), 0xbeefn])).toEqual({ result: 19n, text: 'pid=-42 hex=0xbeef' });
    expect(snprintf(system, '[%5u|%-4s]', [7n, 0n])).toEqual({ result: 13n, text: '[    7|    ]' });
    expect(snprintf(system, '%llx %lld', [0xffffffffffn, BigInt.asUintN(64, -1n)])).toEqual({ result: 14n, text: 'ffffffffff -1' });
    expect(snprintf(system, 'abcdefgh', [], 4)).toEqual({ result: 9n, text: 'abc' });
    // More conversions than arguments, and conversions the kernel does not take: -EINVAL.
    expect(snprintf(system, '%d %d', [1n]).result).toBe(EINVAL);
    expect(snprintf(system, '%f', [1n]).result).toBe(EINVAL);
  });

  it("%s and %pI4 read what the pointer points to: provided memory, or the program's own", () => {
    using system = new MockSystem();
    const comm = system.probeMemory.provide(new TextEncoder().encode('nginx\0'));
    const ip = system.probeMemory.provide(Uint8Array.of(10, 0, 0, 1));
    expect(snprintf(system, '%s@%pI4', [comm, ip])).toEqual({ result: 15n, text: 'nginx@10.0.0.1' });
    expect(snprintf(system, '%s|', [0x10n])).toEqual({ result: 2n, text: '|' }); // unreadable: empty, as the kernel prints it
  });
});
