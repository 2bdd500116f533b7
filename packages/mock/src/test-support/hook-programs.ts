// Programs the hook tests load, in assembly (test code: left out of the build with the tests).
import { ProgramType } from '@bpfkit/core';
import type { MockSystem } from '../mock-system.js';
import type { MockProgram } from '../mock-program.js';
import { assembleWithMaps } from './map-asm.js';

export function load(system: MockSystem, name: string, type: number, asm: string): MockProgram {
  return system.loadProgram({ name, type, license: 'GPL', instructions: assembleWithMaps(asm) });
}

/** XDP: the verdict is the packet's first byte (XDP_ABORTED for an empty packet). */
export const XDP_BYTE0 = `
  ldxw %r2, [%r1+0]
  ldxw %r3, [%r1+4]
  mov %r4, %r2
  add %r4, 1
  jgt %r4, %r3, +2
  ldxb %r0, [%r2+0]
  exit
  mov %r0, 0
  exit`;

/** XDP: writes ingress_ifindex and rx_queue_index over the packet's first 8 bytes, passes. */
export const XDP_STAMP = `
  ldxw %r2, [%r1+0]
  ldxw %r3, [%r1+4]
  mov %r4, %r2
  add %r4, 8
  jgt %r4, %r3, +4
  ldxw %r5, [%r1+12]
  stxw [%r2+0], %r5
  ldxw %r5, [%r1+16]
  stxw [%r2+4], %r5
  mov %r0, 2
  exit`;

/** A program that returns `value`. */
export const ret = (value: number): string => `mov %r0, ${value}\nexit`;

/** bpf_redirect(ifindex, flags). */
export const redirect = (ifindex: number, flags = 0): string => `
  mov %r1, ${ifindex}
  mov %r2, ${flags}
  call 23
  exit`;

/**
 * TC: mark = mark << 4 | id, written back to skb->mark and over the
 * packet's first 4 bytes; returns `verdict`.
 */
export const tcStamp = (id: number, verdict: number): string => `
  ldxw %r2, [%r1+8]
  lsh %r2, 4
  or %r2, ${id}
  stxw [%r1+8], %r2
  ldxw %r3, [%r1+76]
  ldxw %r4, [%r1+80]
  mov %r5, %r3
  add %r5, 4
  jgt %r5, %r4, +1
  stxw [%r3+0], %r2
  mov %r0, ${verdict}
  exit`;

export { ProgramType };
