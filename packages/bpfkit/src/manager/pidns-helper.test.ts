import { Errno, Helper, ProgramType } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { MockSystem } from '@bpfkit/mock';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { NativeSystem } from '../native-system.js';
import { pidNamespaceOf } from './pid-filter.js';

// bpf_get_ns_current_pid_tgid, which the PID filter's C side (testdata/pid_filter.h) relies on: the
// mock's answers against the kernel's, from raw tracepoint programs' test runs (current: this
// thread). One program returns the helper's result, the other the tgid it wrote (0 when it failed).

const own = pidNamespaceOf(process.pid);

/** The helper's result, or (`give: 'tgid'`) the tgid it wrote, for one namespace and output size. */
function run(system: System, dev: bigint, ino: bigint, size: number, give: 'result' | 'tgid'): number {
  const asm = `mov %r6, -1
    stxdw [%r10-8], %r6
    lddw %r1, ${dev}
    lddw %r2, ${ino}
    mov %r3, %r10
    add %r3, -8
    mov %r4, ${size}
    call ${Helper.get_ns_current_pid_tgid}
    ${give === 'tgid' ? 'ldxw %r0, [%r10-4]' : ''}
    exit`;
  using prog = system.loadProgram({ name: 'pidns', type: ProgramType.RAW_TRACEPOINT, license: 'GPL', instructions: assemble(asm) });
  return prog.testRun({}).returnValue | 0;
}

/** [result, tgid] for the own namespace, another inode, another device, a wrong size, a device beyond 32 bits. */
function answers(system: System): [number, number][] {
  const cases: [bigint, bigint, number][] = [
    [own.dev, own.ino, 8],
    [own.dev, own.ino + 1n, 8],
    [own.dev + 1n, own.ino, 8],
    [own.dev, own.ino, 4],
    [1n << 33n, own.ino, 8],
  ];
  return cases.map(([dev, ino, size]) => [run(system, dev, ino, size, 'result'), run(system, dev, ino, size, 'tgid')]);
}

describe('bpf_get_ns_current_pid_tgid on the mock', () => {
  it('answers for the namespace of environment.pidNamespace, EINVAL otherwise', () => {
    using system = new MockSystem();
    const failed: [number, number] = [-Errno.EINVAL, 0]; // the output is zeroed
    expect(answers(system)).toEqual([[0, process.pid], failed, failed, [-Errno.EINVAL, -1], failed]);
  });
});

whenKernel('program:raw_tracepoint').it('the mock answers as the kernel does', () => {
  using kernel = new NativeSystem();
  using mock = new MockSystem();
  expect(answers(mock)).toEqual(answers(kernel));
});
