// `struct pt_regs` as x86-64 lays it out: what kprobe, uprobe and
// perf_event programs get as their context (PT_REGS_PARM1..6 are di, si,
// dx, cx, r8, r9; PT_REGS_RC is ax; PT_REGS_IP is ip; PT_REGS_SP is sp).
import { InvalidArgumentError } from '@bpfkit/core';

/**
 * Bytes of x86-64's `struct pt_regs` (21 registers of 8 bytes).
 *
 * @example
 * ptRegs().length === PT_REGS_SIZE; // true
 */
export const PT_REGS_SIZE = 168;

/**
 * Byte offsets of the registers in x86-64's `struct pt_regs`.
 *
 * @example
 * PT_REGS_OFFSETS.di; // 112: the first argument
 */
export const PT_REGS_OFFSETS = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  bp: 32,
  bx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  ax: 80,
  cx: 88,
  dx: 96,
  si: 104,
  di: 112,
  orig_ax: 120,
  ip: 128,
  cs: 136,
  flags: 144,
  sp: 152,
  ss: 160,
} as const;

/**
 * A register of x86-64's `struct pt_regs`.
 *
 * @example
 * const reg: PtRegsRegister = 'di';
 */
export type PtRegsRegister = keyof typeof PT_REGS_OFFSETS;

/** The registers that carry a function's first six arguments, in order. */
const ARG_REGISTERS: readonly PtRegsRegister[] = ['di', 'si', 'dx', 'cx', 'r8', 'r9'];

/**
 * The registers a probe fires with.
 *
 * @example
 * const regs: PtRegsInit = { args: [3n, 0x1000n], ip: 0xffffffff81000000n };
 */
export interface PtRegsInit {
  /** The function's arguments (at most 6), in the registers the x86-64 calling convention puts them: di, si, dx, cx, r8, r9. */
  args?: readonly (bigint | number)[];
  /** The return value (ax): what a kretprobe or uretprobe reads with PT_REGS_RC. */
  ret?: bigint | number;
  /** The instruction pointer. */
  ip?: bigint | number;
  /** The stack pointer. */
  sp?: bigint | number;
  /** Any register by name (applied last). */
  registers?: Partial<Record<PtRegsRegister, bigint | number>>;
}

/**
 * Builds the `struct pt_regs` (x86-64 layout, 168 bytes) a kprobe, uprobe
 * or perf_event program receives, from argument values: give it to
 * {@link MockSystem.fire}. Values are stored as unsigned 64-bit (negative
 * numbers in two's complement).
 *
 * @throws InvalidArgumentError for more than 6 arguments, or a register x86-64's pt_regs lacks
 * @example
 * declare const system: MockSystem;
 * const regs = ptRegs({ args: [1n, 2n], ret: 0n, ip: 0xffffffff81234560n });
 * system.fire({ kind: 'kprobe', symbol: 'do_unlinkat' }, regs);
 */
export function ptRegs(init: PtRegsInit = {}): Uint8Array {
  const bytes = new Uint8Array(PT_REGS_SIZE);
  const view = new DataView(bytes.buffer);
  const set = (reg: PtRegsRegister, value: bigint | number): void => {
    view.setBigUint64(PT_REGS_OFFSETS[reg], BigInt.asUintN(64, BigInt(value)), true);
  };
  const args = init.args ?? [];
  if (args.length > ARG_REGISTERS.length)
    throw new InvalidArgumentError('ptRegs: args', `at most ${ARG_REGISTERS.length} register arguments`, args.length);
  for (const [i, value] of args.entries()) set(ARG_REGISTERS[i] as PtRegsRegister, value);
  if (init.ret !== undefined) set('ax', init.ret);
  if (init.ip !== undefined) set('ip', init.ip);
  if (init.sp !== undefined) set('sp', init.sp);
  for (const [reg, value] of Object.entries(init.registers ?? {})) {
    if (!Object.hasOwn(PT_REGS_OFFSETS, reg))
      throw new InvalidArgumentError(
        `ptRegs: registers.${reg}`,
        `a register of x86-64's struct pt_regs (${Object.keys(PT_REGS_OFFSETS).join(', ')})`,
        reg,
      );
    if (value !== undefined) set(reg as PtRegsRegister, value);
  }
  return bytes;
}
