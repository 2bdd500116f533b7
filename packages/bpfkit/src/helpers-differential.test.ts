import { Helper, ProgramType } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { MockSystem } from '@bpfkit/mock';
import { seededRandom } from '@bpfkit/mock/testing';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { NativeSystem } from './native-system.js';

// The mock's checksum helpers against the kernel's: a TC program calls bpf_l3_csum_replace on the
// packet's IPv4 checksum field, bpf_l4_csum_replace on another, and bpf_csum_diff on two stack
// buffers, with seeded random values, sizes and flags (valid and not), and stores the three results
// in the packet; the packet out must be the same on both, byte for byte.
const CASES = 60;
const L4_FLAGS = [0, 2, 4, 4 | 0x10, 4 | 0x20, 2 | 0x20 | 0x40, 0 | 0x20, 4 | 0x80, 0x100, 3];
const L3_FLAGS = [0, 2, 4, 1, 0x10];
const DIFF_SIZES: [number, number][] = [
  [0, 0],
  [4, 0],
  [0, 8],
  [8, 8],
  [4, 8],
  [2, 4],
];

function program(random: () => number, i: number): { asm: string; packet: Uint8Array } {
  const u32 = () => Math.floor(random() * 0x100000000);
  const from = i % 7 === 0 ? 0 : u32();
  const to = u32();
  const l3 = L3_FLAGS[i % L3_FLAGS.length]!;
  const l4 = L4_FLAGS[i % L4_FLAGS.length]!;
  const [fromSize, toSize] = DIFF_SIZES[i % DIFF_SIZES.length]!;
  const packet = new Uint8Array(96);
  for (let k = 0; k < packet.length; k++) packet[k] = Math.floor(random() * 256);
  packet.set([0x08, 0x00], 12); // IPv4 (the kernel's test run reads the protocol)
  if (i % 5 === 0) packet.set([0, 0], 40); // a zero L4 checksum: BPF_F_MARK_MANGLED_0 leaves it, or writes 0xffff
  const asm = `mov %r6, %r1
    mov %r1, %r6
    mov %r2, 24
    lddw %r3, ${from}
    lddw %r4, ${to}
    mov %r5, ${l3}
    call ${Helper.l3_csum_replace}
    stxdw [%r10-24], %r0
    mov %r1, %r6
    mov %r2, 40
    lddw %r3, ${from}
    lddw %r4, ${to}
    mov %r5, ${l4}
    call ${Helper.l4_csum_replace}
    stxdw [%r10-32], %r0
    lddw %r1, ${u32()}
    stxw [%r10-8], %r1
    lddw %r1, ${u32()}
    stxw [%r10-4], %r1
    lddw %r1, ${u32()}
    stxw [%r10-16], %r1
    lddw %r1, ${u32()}
    stxw [%r10-12], %r1
    mov %r1, %r10
    add %r1, -8
    mov %r2, ${fromSize}
    mov %r3, %r10
    add %r3, -16
    mov %r4, ${toSize}
    lddw %r5, ${u32()}
    call ${Helper.csum_diff}
    stxdw [%r10-40], %r0
    mov %r1, %r6
    mov %r2, 64
    mov %r3, %r10
    add %r3, -40
    mov %r4, 24
    mov %r5, 0
    call ${Helper.skb_store_bytes}
    mov %r0, 0
    exit`;
  return { asm, packet };
}

function run(system: System, asm: string, packet: Uint8Array): string {
  using prog = system.loadProgram({ name: 'csum', type: ProgramType.SCHED_CLS, license: 'GPL', instructions: assemble(asm) });
  const r = prog.testRun({ data: packet });
  return `${r.returnValue} ${Buffer.from(r.data).toString('hex')}`;
}

whenKernel('program:sched_cls').it(`${CASES} checksum helper calls give the same packet on the mock as on the kernel`, () => {
  using kernel = new NativeSystem();
  using mock = new MockSystem();
  const random = seededRandom(2026);
  const differences: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const { asm, packet } = program(random, i);
    const onKernel = run(kernel, asm, packet);
    const onMock = run(mock, asm, packet);
    if (onKernel !== onMock) differences.push(`case ${i}:\n  kernel ${onKernel}\n  mock   ${onMock}`);
  }
  expect(differences).toEqual([]);
});

// XDP metadata: bpf_xdp_adjust_meta by various offsets (valid, misaligned, too long, past data),
// optionally after bpf_xdp_adjust_head (which moves the metadata along), a write through data_meta
// when it is room, on packets with and without metadata in (xdp_md.data = its length); the verdict,
// the data out (from the metadata on) and the xdp_md out must be the kernel's.
const META_OFFSETS = [-8, -4, -3, -36, -32, 4, 0, 8];
whenKernel('program:xdp').it('bpf_xdp_adjust_meta and data_meta behave on the mock as on the kernel', () => {
  using kernel = new NativeSystem();
  using mock = new MockSystem();
  const differences: string[] = [];
  let cases = 0;
  for (const offset of META_OFFSETS) {
    for (const head of [0, -16, 8]) {
      for (const metaIn of [0, 8]) {
        const asm = `mov %r6, %r1
          mov %r1, %r6
          mov %r2, ${head}
          call ${Helper.xdp_adjust_head}
          mov %r8, %r0
          mov %r1, %r6
          mov %r2, ${offset}
          call ${Helper.xdp_adjust_meta}
          mov %r7, %r0
          ldxw %r2, [%r6+8]
          ldxw %r3, [%r6+0]
          mov %r4, %r2
          add %r4, 8
          jgt %r4, %r3, +3
          lddw %r5, 0x1122334455667788
          stxdw [%r2+0], %r5
          lsh %r8, 8
          add %r7, %r8
          mov %r0, %r7
          exit`;
        const packet = Uint8Array.from({ length: 64 }, (_, i) => i);
        const context = new Uint8Array(24);
        new DataView(context.buffer).setUint32(0, metaIn, true);
        new DataView(context.buffer).setUint32(4, packet.length, true);
        const run = (system: System) => {
          using prog = system.loadProgram({ name: 'meta', type: ProgramType.XDP, license: 'GPL', instructions: assemble(asm) });
          const r = prog.testRun({ data: packet, context });
          return `${r.returnValue} ${Buffer.from(r.data).toString('hex')} ${Buffer.from(r.context ?? []).toString('hex')}`;
        };
        const onKernel = run(kernel);
        const onMock = run(mock);
        cases++;
        if (onKernel !== onMock)
          differences.push(`meta ${offset}, head ${head}, metadata in ${metaIn}:\n  kernel ${onKernel}\n  mock   ${onMock}`);
      }
    }
  }
  expect(differences).toEqual([]);
  expect(cases).toBe(META_OFFSETS.length * 6);
});
