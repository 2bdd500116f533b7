// The translation of a BPF program into JavaScript. Load-time checks first
// (what the kernel's verifier refuses structurally), then one JavaScript
// function per subprogram: registers are locals, each a pair of signed
// 32-bit halves (l0/h0 .. l10/h10), basic blocks are the cases of one
// `switch (pc)` inside a loop, and straight-line code runs without dispatch.
// Every block charges its instruction count to the run's budget on entry.
import { disassemble } from '@bpfkit/elf';
import { Errno, helperName, InvalidArgumentError, NotSupportedError, VerifierError } from '@bpfkit/core';
import { CODE_HI, STACK_SIZE, state, VmFault, type VmMemory, type VmRegion, type VmTailTarget } from './memory.js';
import * as rt from './runtime.js';

/** Most frames of bpf-to-bpf calls (and callbacks) alive at once, as the kernel's MAX_CALL_FRAMES. */
export const MAX_CALL_FRAMES = 8;

/** Most tail calls in one run, as the kernel's MAX_TAIL_CALL_CNT. */
export const MAX_TAIL_CALLS = 33;

/** Instructions a run may execute unless told otherwise. */
export const DEFAULT_BUDGET = 1_000_000;

/** What a helper sees besides its five arguments. */
export interface VmHelperEnv {
  /** The memory the program runs against (read and write what pointer arguments point to with {@link VmMemory.view}). */
  readonly memory: VmMemory;
  /** The program's name. */
  readonly program: string;
  /** The index of the call instruction. */
  readonly instruction: number;
  /** The call depth of the calling frame (0 = the program's own frame). */
  readonly depth: number;
  /**
   * Runs one of the program's callbacks (a function pointer the program
   * passed, from `lddw rX, func`) with up to five arguments, in a new frame,
   * and returns its r0: what `bpf_loop` and `bpf_for_each_map_elem` do.
   */
  callback(fn: bigint, ...args: bigint[]): bigint;
  /**
   * From the tail-call helper only (see {@link VmProgramSpec.tailCallHelper}):
   * when the helper returns, `target` replaces the running program (the
   * current frame ends; `target` starts with r1 = the helper's r1 and a fresh
   * stack, and its r0 is what the frame returns). `false`, with nothing
   * done, once a run has taken 33 tail calls (the kernel's limit): the helper
   * then fails as `bpf_tail_call` does and the program goes on.
   */
  tailCall(target: VmProgram): boolean;
  /**
   * A {@link VmFault} naming the program and the call instruction, for a
   * helper to throw when its arguments make no sense (what the verifier
   * would have refused): `throw env.fault('R1 is not a map')`.
   */
  fault(message: string): VmFault;
}

/**
 * A helper function: the five argument registers as unsigned 64-bit values,
 * and the result for r0 (a bigint taken modulo 2^64, or a safe integer,
 * negative ones as two's complement).
 */
export type VmHelper = (r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, env: VmHelperEnv) => bigint | number;

/** A `lddw` the VM does not resolve itself (map references, BTF ids). */
export interface VmLddwRef {
  /** The kind, from src_reg: 1 map fd, 2 map value, 3 BTF id, 5 map index, 6 map value by index. */
  kind: 'map_fd' | 'map_value' | 'btf_id' | 'map_idx' | 'map_idx_value';
  /** The first instruction's imm (fd, index or BTF id). */
  imm: number;
  /** The second instruction's imm (the offset into the value for `map_value`). */
  nextImm: number;
  /** The instruction's index. */
  instruction: number;
}

/** What {@link compileProgram} needs. */
export interface VmProgramSpec {
  /** A name for messages. */
  name: string;
  /** The instructions, little-endian `struct bpf_insn`s, linked (bpf-to-bpf calls relative). */
  instructions: Uint8Array;
  /** Helper implementations by id. */
  helpers?: ReadonlyMap<number, VmHelper> | undefined;
  /**
   * Whether the program's type may call helper `id` (the kernel refuses the
   * load otherwise, "unknown func"). Default: the helpers given.
   */
  helperAllowed?: ((id: number) => boolean) | undefined;
  /** A helper's name for messages (default: `bpf_` and the kernel's name from core's helper table, e.g. `bpf_map_lookup_elem`). */
  helperName?: ((id: number) => string | undefined) | undefined;
  /** The 64-bit value of a `lddw` with a map or BTF reference; without it such a program is refused. */
  resolveLddw?: ((ref: VmLddwRef) => bigint) | undefined;
  /**
   * Accept `callx rN` (opcode 0x8d), calling the helper whose id is in the
   * register — an extension some runtimes and the conformance suite have;
   * the kernel refuses it, and so does the VM by default.
   */
  allowCallx?: boolean | undefined;
  /**
   * The packet of a context, for the legacy packet loads (`BPF_LD | BPF_ABS`
   * and `BPF_IND`, which read the packet of the context in r6 in network
   * byte order, and end the program with r0 = 0 when out of bounds). Without
   * it, a program using them is refused with a {@link NotSupportedError}.
   */
  legacyPacket?: ((ctx: bigint) => VmLegacyPacket | undefined) | undefined;
  /**
   * Most instructions translated into one JavaScript function (default 300:
   * V8 stops optimizing much larger functions, so a longer subprogram becomes
   * several functions handing registers over). Small values are for tests.
   */
  functionSize?: number | undefined;
  /**
   * The helper that may replace the running program through
   * {@link VmHelperEnv.tailCall} (default 12, `bpf_tail_call`).
   */
  tailCallHelper?: number | undefined;
}

/** The linear bytes of a context's packet, for legacy packet loads. */
export interface VmLegacyPacket {
  /** The region holding them. */
  region: VmRegion;
  /** Where they start in it. */
  offset: number;
  /** How many there are. */
  length: number;
}

/** Options of one run. */
export interface VmRunOptions {
  /** Most instructions to execute (default 1,000,000) before a {@link VmFault} of kind `'budget'`. */
  budget?: number | undefined;
}

/** The argument registers of a run (unsigned 64-bit; missing ones are 0). */
export interface VmRunArgs {
  r1?: bigint | undefined;
  r2?: bigint | undefined;
  r3?: bigint | undefined;
  r4?: bigint | undefined;
  r5?: bigint | undefined;
}

type SubprogFn = (d: number, ...args: number[]) => number;

interface Decoded {
  op: Uint8Array;
  dst: Uint8Array;
  src: Uint8Array;
  off: Int16Array;
  imm: Int32Array;
}

function decode(bytes: Uint8Array): Decoded {
  const n = bytes.length >>> 3;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d: Decoded = {
    op: new Uint8Array(n),
    dst: new Uint8Array(n),
    src: new Uint8Array(n),
    off: new Int16Array(n),
    imm: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    d.op[i] = bytes[i * 8] as number;
    const regs = bytes[i * 8 + 1] as number;
    d.dst[i] = regs & 0xf;
    d.src[i] = regs >> 4;
    d.off[i] = dv.getInt16(i * 8 + 2, true);
    d.imm[i] = dv.getInt32(i * 8 + 4, true);
  }
  return d;
}

const LD = 0;
const LDX = 1;
const ST = 2;
const STX = 3;
const ALU = 4;
const JMP = 5;
const JMP32 = 6;
const ALU64 = 7;

const LDDW_KINDS = ['imm', 'map_fd', 'map_value', 'btf_id', 'func', 'map_idx', 'map_idx_value'] as const;

/** One instruction's shape, as far as the checks and the translation care. */
interface Shape {
  /** The instruction takes two slots (lddw). */
  wide: boolean;
  /** Jump target (conditional or not), or -1. */
  target: number;
  /** Control never reaches the next instruction (exit, ja). */
  terminal: boolean;
  /** Target of a bpf-to-bpf call or function pointer, or -1. */
  entry: number;
}

function refuse(name: string, bytes: Uint8Array, pc: number, message: string, errno: number = Errno.EINVAL): never {
  let line = `${pc}: (??)`;
  try {
    const lines = disassemble(bytes.subarray(pc * 8, Math.min(bytes.length, pc * 8 + 16)));
    if (lines[0] !== undefined) line = `${pc}:${lines[0].slice(lines[0].indexOf(':') + 1)}`;
  } catch {
    line = `${pc}: (${(bytes[pc * 8] ?? 0).toString(16).padStart(2, '0')})`;
  }
  throw new VerifierError(name, errno, `${line}\n${message}\n`);
}

const SIZE_BYTES = [4, 2, 1, 8] as const;

/**
 * Checks a program and translates it into JavaScript.
 *
 * Refused with a {@link VerifierError} (the kernel's wording where it has
 * one): an unknown opcode or reserved fields in use, a jump or call out of
 * range or into the middle of a `lddw`, a jump out of its subprogram, a
 * subprogram whose last instruction falls through, a write to r10, a helper
 * the program's type may not call, recursion, calls nested deeper than 8
 * frames. A helper the type may call but that has no implementation is a
 * {@link NotSupportedError} naming it and the program.
 *
 * @example
 * import { assemble } from '@bpfkit/elf';
 * import { VmMemory } from './memory.js';
 * const program = compileProgram({ name: 'answer', instructions: assemble('mov %r0, 42\nexit') });
 * program.run(new VmMemory()); // 42n
 */
export function compileProgram(spec: VmProgramSpec): VmProgram {
  const { name, instructions: bytes } = spec;
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('instructions', 'a Uint8Array', bytes);
  if (bytes.length % 8 !== 0) throw new InvalidArgumentError('instructions', 'a multiple of 8 bytes', `${bytes.length} bytes`);
  const n = bytes.length / 8;
  if (n === 0) refuse(name, bytes, 0, 'empty program');
  const d = decode(bytes);
  const helpers = spec.helpers ?? new Map<number, VmHelper>();
  const allowed = spec.helperAllowed ?? ((id: number) => helpers.has(id));
  const helperLabel = (id: number): string => {
    const known = helperName(id);
    return `${spec.helperName?.(id) ?? (known.startsWith('unknown') ? 'unknown' : `bpf_${known}`)}#${id}`;
  };
  const fail = (pc: number, message: string, errno?: number): never => refuse(name, bytes, pc, message, errno);
  const checkTarget = (pc: number, t: number): number => (t < 0 || t >= n ? fail(pc, `jump out of range from insn ${pc} to ${t}`) : t);

  // Pass 1: shapes, opcodes and fields.
  const shapes: Shape[] = [];
  const lddwValue: ({ lo: number; hi: number } | undefined)[] = [];
  const entries = new Set<number>([0]);
  const legacy: number[] = [];
  for (let i = 0; i < n; i++) {
    const op = d.op[i] as number;
    const cls = op & 7;
    const dst = d.dst[i] as number;
    const src = d.src[i] as number;
    const off = d.off[i] as number;
    const imm = d.imm[i] as number;
    const shape: Shape = { wide: false, target: -1, terminal: false, entry: -1 };
    shapes[i] = shape;
    const badReg = (r: number): boolean => r > 10;
    if (badReg(dst)) fail(i, `R${dst} is invalid`);
    if (badReg(src) && !(op === 0x18 || (cls === JMP && (op & 0xf0) === 0x80))) fail(i, `R${src} is invalid`);
    switch (cls) {
      case ALU:
      case ALU64: {
        const code = op & 0xf0;
        const x = (op & 8) !== 0;
        if (code > 0xd0) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
        if (dst === 10) fail(i, 'frame pointer is read only');
        if (code === 0xd0) {
          if (cls === ALU64 && x) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
          if ((imm !== 16 && imm !== 32 && imm !== 64) || src !== 0 || off !== 0) fail(i, 'BPF_END uses reserved fields');
        } else if (code === 0x80) {
          if (x || src !== 0 || off !== 0 || imm !== 0) fail(i, 'BPF_NEG uses reserved fields');
        } else if (code === 0xb0) {
          const okOff = off === 0 || off === 8 || off === 16 || (off === 32 && cls === ALU64);
          if (!okOff || (off !== 0 && !x)) fail(i, 'BPF_MOV uses reserved fields');
          if (x ? imm !== 0 : src !== 0) fail(i, 'BPF_MOV uses reserved fields');
        } else {
          const signed = code === 0x30 || code === 0x90;
          if (x ? imm !== 0 : src !== 0) fail(i, 'BPF_ALU uses reserved fields');
          if (off !== 0 && !(signed && off === 1)) fail(i, 'BPF_ALU uses reserved fields');
        }
        break;
      }
      case JMP:
      case JMP32: {
        const code = op & 0xf0;
        const x = (op & 8) !== 0;
        if (code === 0x80) {
          if (cls !== JMP) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
          if (x) {
            if (!spec.allowCallx) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
            break;
          }
          if (src === 1) {
            const t = i + 1 + imm;
            if (t < 0 || t >= n) fail(i, `call to invalid destination`);
            shape.entry = t;
            entries.add(t);
          } else if (src === 0 && rt.isPoisonedCall(imm)) {
            // Loads like on the kernel (refused only where reached): a runtime fault, see poisonFault.
          } else if (src === 0) {
            if (!allowed(imm)) fail(i, imm < 0 || imm > 0xffff ? `invalid func unknown#${imm}` : `unknown func ${helperLabel(imm)}`);
            if (!helpers.has(imm)) {
              throw new NotSupportedError(
                `helper ${helperLabel(imm)}`,
                undefined,
                `program '${name}' calls it (instruction ${i})`,
                'the mock backend',
              );
            }
          } else if (src === 2) {
            throw new NotSupportedError(
              'kfunc calls',
              undefined,
              `program '${name}' calls kfunc ${imm} (instruction ${i})`,
              'the mock backend',
            );
          } else fail(i, 'BPF_CALL uses reserved fields');
          if (off !== 0 || dst !== 0) fail(i, 'BPF_CALL uses reserved fields');
        } else if (code === 0x90) {
          if (cls !== JMP || x) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
          shape.terminal = true;
        } else if (code === 0x00) {
          if (x) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
          shape.terminal = true;
          shape.target = checkTarget(i, i + 1 + (cls === JMP32 ? imm : off));
          if (cls === JMP ? imm !== 0 : off !== 0) fail(i, 'BPF_JA uses reserved fields');
        } else if (code > 0xd0) {
          fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
        } else {
          if (x ? imm !== 0 : src !== 0) fail(i, 'BPF_JMP/JMP32 uses reserved fields');
          shape.target = checkTarget(i, i + 1 + off);
        }
        break;
      }
      case LD: {
        if (op !== 0x18) {
          const mode = op & 0xe0;
          if ((mode === 0x20 || mode === 0x40) && (op & 0x18) !== 0x18) {
            if (spec.legacyPacket === undefined) {
              throw new NotSupportedError(
                'legacy packet access (BPF_ABS/BPF_IND)',
                undefined,
                `program '${name}' uses it (instruction ${i}) and no legacyPacket was given`,
                'the mock backend',
              );
            }
            if (dst !== 0 || off !== 0 || (mode === 0x20 && src !== 0)) fail(i, 'BPF_LD_[ABS|IND] uses reserved fields');
            legacy.push(i);
            break;
          }
          fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
        }
        if (dst === 10) fail(i, 'frame pointer is read only');
        if (i + 1 >= n || d.op[i + 1] !== 0 || d.dst[i + 1] !== 0 || d.src[i + 1] !== 0 || d.off[i + 1] !== 0 || off !== 0) {
          fail(i, 'invalid BPF_LD_IMM insn');
        }
        shape.wide = true;
        const kind = LDDW_KINDS[src];
        if (kind === undefined) fail(i, 'invalid BPF_LD_IMM insn');
        if (kind === 'imm') {
          lddwValue[i] = { lo: imm, hi: d.imm[i + 1] as number };
        } else if (kind === 'func') {
          const t = i + 1 + imm;
          if (t < 0 || t >= n) fail(i, 'call to invalid destination');
          shape.entry = t;
          entries.add(t);
          lddwValue[i] = { lo: t, hi: CODE_HI };
        } else {
          if (spec.resolveLddw === undefined) {
            throw new NotSupportedError(
              `lddw of a ${kind}`,
              undefined,
              `program '${name}' (instruction ${i}) has no resolver`,
              'the mock backend',
            );
          }
          const v = spec.resolveLddw({ kind, imm, nextImm: d.imm[i + 1] as number, instruction: i });
          lddwValue[i] = { lo: Number(BigInt.asIntN(32, v)), hi: Number(BigInt.asIntN(32, v >> 32n)) };
        }
        i++;
        shapes[i] = { wide: false, target: -1, terminal: false, entry: -1 };
        break;
      }
      case LDX: {
        const mode = op & 0xe0;
        if (mode !== 0x60 && !(mode === 0x80 && (op & 0x18) !== 0x18)) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
        if (dst === 10) fail(i, 'frame pointer is read only');
        if (imm !== 0) fail(i, 'BPF_LDX uses reserved fields');
        break;
      }
      case ST: {
        if ((op & 0xe0) !== 0x60) fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
        if (src !== 0) fail(i, 'BPF_ST uses reserved fields');
        break;
      }
      case STX: {
        const mode = op & 0xe0;
        if (mode === 0x60) {
          if (imm !== 0) fail(i, 'BPF_STX uses reserved fields');
        } else if (mode === 0xc0) {
          const size = op & 0x18;
          if (imm === 0x100 || imm === 0x110) {
            if (imm === 0x100 && dst === 10) fail(i, 'frame pointer is read only');
          } else if (size !== 0x00 && size !== 0x18) {
            fail(i, `invalid atomic operand size`);
          } else if (![0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1].includes(imm)) {
            fail(i, `BPF_ATOMIC uses invalid atomic opcode ${(imm >>> 0).toString(16).padStart(2, '0')}`);
          }
          if ((imm & 1) !== 0 && src === 10) fail(i, 'frame pointer is read only');
        } else fail(i, `unknown opcode ${op.toString(16).padStart(2, '0')}`);
        break;
      }
    }
  }

  // Subprograms, jumps into lddw halves, and each subprogram's end.
  const starts = [...entries].sort((a, b) => a - b);
  if (legacy.length > 0 && starts.length > 1)
    fail(legacy[0] as number, 'BPF_LD_[ABS|IND] instructions cannot be mixed with bpf-to-bpf calls');
  const isSecondHalf = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (shapes[i]?.wide) isSecondHalf[i + 1] = 1;
  const subOf = new Int32Array(n);
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k] as number;
    if (isSecondHalf[s]) fail(s - 1, `jump into the middle of ldimm64 insn ${s - 1}`);
    const e = starts[k + 1] ?? n;
    for (let i = s; i < e; i++) subOf[i] = k;
  }
  for (let i = 0; i < n; i++) {
    const t = shapes[i]?.target ?? -1;
    if (t === -1) continue;
    if (isSecondHalf[t]) fail(i, `jump into the middle of ldimm64 insn ${t - 1}`);
    if (subOf[t] !== subOf[i]) fail(i, `jump out of range from insn ${i} to ${t}`);
  }
  for (let k = 0; k < starts.length; k++) {
    const e = (starts[k + 1] ?? n) - 1;
    let last = e;
    if (isSecondHalf[last]) last--;
    const sh = shapes[last];
    if (!(sh?.terminal && !sh.wide)) fail(last, 'last insn is not an exit or jmp');
  }

  // The call graph: no recursion, at most 8 frames.
  const callees: Set<number>[] = starts.map(() => new Set<number>());
  const firstCall: Map<string, number> = new Map();
  for (let i = 0; i < n; i++) {
    const e = shapes[i]?.entry ?? -1;
    if (e === -1 || d.op[i] === 0x18) continue; // function pointers are callbacks: their depth is checked when called
    const from = subOf[i] as number;
    const to = subOf[e] as number;
    callees[from]?.add(to);
    if (!firstCall.has(`${from}:${to}`)) firstCall.set(`${from}:${to}`, i);
  }
  const depthMemo = new Int32Array(starts.length).fill(-1);
  const onPath = new Uint8Array(starts.length);
  const depthOf = (k: number): number => {
    const memo = depthMemo[k] as number;
    if (memo >= 0) return memo;
    onPath[k] = 1;
    let most = 1;
    for (const c of callees[k] ?? []) {
      if (onPath[c]) {
        const at = firstCall.get(`${k}:${c}`) ?? 0;
        fail(at, `recursive call from insn ${at} to ${starts[c]}`);
      }
      most = Math.max(most, 1 + depthOf(c));
    }
    onPath[k] = 0;
    depthMemo[k] = most;
    return most;
  };
  for (let k = 0; k < starts.length; k++) {
    const depth = depthOf(k);
    if (depth > MAX_CALL_FRAMES) fail(starts[k] as number, `the call stack of ${depth} frames is too deep !`, Errno.E2BIG);
  }

  // The stack: accesses through r10 at constant offsets stay in the frame's
  // 512 bytes, and the frames of a call chain (each rounded up to 32 bytes,
  // as the kernel counts them) fit in 512 together. Pointers derived from
  // r10 and moved around are bounds-checked when they are used.
  const stackDepth = new Int32Array(starts.length);
  for (let i = 0; i < n; i++) {
    const op = d.op[i] as number;
    const cls = op & 7;
    const k = subOf[i] as number;
    if (op === 0x18) {
      i++;
      continue;
    }
    if (cls === LDX || cls === ST || cls === STX) {
      const base = cls === LDX ? (d.src[i] as number) : (d.dst[i] as number);
      if (base !== 10) continue;
      const off = d.off[i] as number;
      const size = SIZE_BYTES[(op >> 3) & 3] as number;
      if (off < -STACK_SIZE || off + size > 0) {
        const load = cls === LDX || (cls === STX && (op & 0xe0) === 0xc0 && d.imm[i] === 0x100);
        fail(i, `invalid ${load ? 'read from' : 'write to'} stack R10 off=${off} size=${size}`, Errno.EACCES);
      }
      stackDepth[k] = Math.max(stackDepth[k] as number, -off);
    } else if (op === 0xbf && d.src[i] === 10 && i + 1 < n && d.op[i + 1] === 0x07 && d.dst[i + 1] === d.dst[i]) {
      // mov rX, r10; add rX, -N: a pointer to the stack, usually for a helper.
      const imm = d.imm[i + 1] as number;
      if (imm < 0 && imm >= -STACK_SIZE) stackDepth[k] = Math.max(stackDepth[k] as number, -imm);
    }
  }
  const frameSize = (k: number): number => Math.ceil(Math.max(stackDepth[k] as number, 1) / 32) * 32;
  const chainMemo: ({ size: number; calls: number } | undefined)[] = [];
  const chainOf = (k: number): { size: number; calls: number } => {
    const memo = chainMemo[k];
    if (memo !== undefined) return memo;
    let best = { size: frameSize(k), calls: 1 };
    for (const c of callees[k] ?? []) {
      const sub = chainOf(c);
      if (frameSize(k) + sub.size > best.size) best = { size: frameSize(k) + sub.size, calls: sub.calls + 1 };
    }
    chainMemo[k] = best;
    return best;
  };
  const chain = chainOf(0);
  if (chain.size > STACK_SIZE) fail(0, `combined stack size of ${chain.calls} calls is ${chain.size}. Too large`, Errno.EACCES);

  const tailId = spec.tailCallHelper ?? 12;
  const functionSize = spec.functionSize ?? DEFAULT_FUNCTION_SIZE;
  if (!(Number.isSafeInteger(functionSize) && functionSize >= 1)) {
    throw new InvalidArgumentError('functionSize', 'a positive integer', functionSize);
  }
  return new VmProgram(
    name,
    n,
    generate(d, shapes, lddwValue, starts, helpers, spec.allowCallx === true, n, tailId, functionSize),
    helpers,
    tailId,
    spec.legacyPacket,
  );
}

/** Most instructions in one generated function (V8 stops optimizing functions much larger). */
const DEFAULT_FUNCTION_SIZE = 300;

/** How the code of one function ends a block: a jump, or leaving with r0. */
interface EmitMode {
  /** Whether the function dispatches on `pc` (jumps need it). */
  switched: boolean;
  /** The statement(s) for control going to instruction `t`. */
  jump(t: number): string;
  /** The statement(s) for the frame returning r0 = lo:hi. */
  ret(lo: string, hi: string): string;
}

function isSecondHalfOf(shapes: Shape[], i: number): boolean {
  return i > 0 && (shapes[i - 1] as Shape).wide;
}

function hexConst(v: number): string {
  return v < 0 ? `(${v})` : `${v}`;
}

/** Emits the JavaScript of every subprogram; returns the source. */
function generate(
  d: Decoded,
  shapes: Shape[],
  lddwValue: ({ lo: number; hi: number } | undefined)[],
  starts: number[],
  helpers: ReadonlyMap<number, VmHelper>,
  callx: boolean,
  n: number,
  tailId: number,
  chunk: number,
): string {
  const out: string[] = [];
  const helperIds = [...helpers.keys()];
  out.push('"use strict";');
  out.push(
    'const {S, ld1, ld2, ld4, ld8, st1, st2, st4, st8, atomic, mulhu, udiv64, umod64, sdiv64, smod64, shl64, shr64, sar64, bswap32, budgetFault, depthFault, poisonFault, stackFor, callHelper, callHelperById, tailCall, ldabs} = RT;',
  );
  helperIds.forEach((_id, k) => {
    out.push(`const HF${k} = HF[${k}];`);
  });
  const helperIndex = new Map(helperIds.map((id, k) => [id, k]));

  for (let k = 0; k < starts.length; k++) {
    const s = starts[k] as number;
    const e = starts[k + 1] ?? n;
    // Leaders: entry, jump targets, after a jump or an exit.
    const labels = new Set<number>([s]);
    const leaders = new Set<number>([s]);
    for (let i = s; i < e; i++) {
      const sh = shapes[i] as Shape;
      if (sh.target !== -1) {
        labels.add(sh.target);
        leaders.add(sh.target);
      }
      if (sh.target !== -1 || sh.terminal) leaders.add(i + 1);
      if (sh.wide) i++;
    }
    // Chunks: V8 optimizes functions up to a size, so a long subprogram is
    // cut into functions of at most CHUNK instructions, which hand the
    // registers over in an Int32Array when control passes between them.
    const chunkStarts = [s];
    for (let i = s, since = 0; i < e; i++, since++) {
      if (since >= chunk && !isSecondHalfOf(shapes, i)) {
        chunkStarts.push(i);
        labels.add(i);
        leaders.add(i);
        since = 0;
      }
    }
    const body = (from: number, to: number, mode: EmitMode): void => {
      for (let i = from; i < to; i++) {
        if (leaders.has(i)) {
          if (mode.switched && labels.has(i)) out.push(`case ${i}:`);
          // Instructions in this block: up to the next leader.
          let j = i;
          let count = 0;
          while (j < e && (j === i || !leaders.has(j))) {
            count++;
            j += (shapes[j] as Shape).wide ? 2 : 1;
          }
          out.push(`if ((S.n -= ${count}) < 0) throw budgetFault(${i});`);
        }
        out.push(emit(d, i, shapes[i] as Shape, lddwValue[i], helperIndex, callx, tailId, mode));
        if ((shapes[i] as Shape).wide) i++;
      }
    };
    if (chunkStarts.length === 1) {
      let switched = false;
      for (let i = s; i < e; i++) if ((shapes[i] as Shape).target !== -1) switched = true;
      out.push(`function F${s}(d, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5) {`);
      out.push('const SR = stackFor(d); const l10 = 512, h10 = SR.hi;');
      out.push('let l0 = 0, h0 = 0, l6 = 0, h6 = 0, l7 = 0, h7 = 0, l8 = 0, h8 = 0, l9 = 0, h9 = 0, t0 = 0, t1 = 0;');
      if (switched) out.push(`let pc = ${s};`, 'for (;;) {', 'switch (pc) {');
      body(s, e, { switched, jump: (t) => `pc = ${t}; continue;`, ret: (lo, hi) => `{ S.h = ${hi}; return ${lo}; }` });
      if (switched) out.push('}', '}');
      out.push('}');
      continue;
    }
    const spill = Array.from({ length: 10 }, (_, r) => `R[${2 * r}] = l${r}; R[${2 * r + 1}] = h${r};`).join(' ');
    for (let c = 0; c < chunkStarts.length; c++) {
      const from = chunkStarts[c] as number;
      const to = chunkStarts[c + 1] ?? e;
      out.push(`function F${s}_${c}(d, R, pc) {`);
      out.push(
        `let ${Array.from({ length: 10 }, (_, r) => `l${r} = R[${2 * r}], h${r} = R[${2 * r + 1}]`).join(', ')}, t0 = 0, t1 = 0;`,
        'const l10 = 512, h10 = R[21];',
        'for (;;) {',
        'switch (pc) {',
      );
      body(from, to, {
        switched: true,
        jump: (t) => (t >= from && t < to ? `pc = ${t}; continue;` : `{ ${spill} return ${t}; }`),
        ret: (lo, hi) => `{ R[0] = ${lo}; R[1] = ${hi}; return -1; }`,
      });
      // Falling off the chunk's end: into the next one.
      if (to < e) out.push(`${spill} return ${to};`);
      out.push('}', '}', '}');
    }
    out.push(`function F${s}(d, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5) {`);
    out.push('const R = new Int32Array(22); R[21] = stackFor(d).hi;');
    out.push('R[2] = l1; R[3] = h1; R[4] = l2; R[5] = h2; R[6] = l3; R[7] = h3; R[8] = l4; R[9] = h4; R[10] = l5; R[11] = h5;');
    out.push(`let pc = ${s};`, 'for (;;) {');
    for (let c = chunkStarts.length - 1; c >= 0; c--) {
      out.push(`${c === chunkStarts.length - 1 ? '' : 'else '}if (pc >= ${chunkStarts[c]}) pc = F${s}_${c}(d, R, pc);`);
    }
    out.push('if (pc < 0) { S.h = R[1]; return R[0]; }', '}', '}');
  }
  out.push(`return { ${starts.map((s) => `${s}: F${s}`).join(', ')} };`);
  return out.join('\n');
}

function emit(
  d: Decoded,
  i: number,
  shape: Shape,
  lddw: { lo: number; hi: number } | undefined,
  helperIndex: Map<number, number>,
  callx: boolean,
  tailId: number,
  mode: EmitMode,
): string {
  const op = d.op[i] as number;
  const cls = op & 7;
  const dst = d.dst[i] as number;
  const src = d.src[i] as number;
  const off = d.off[i] as number;
  const imm = d.imm[i] as number;
  const x = (op & 8) !== 0;
  const L = `l${dst}`;
  const H = `h${dst}`;
  // The second operand: a register or the sign-extended immediate.
  const bl = x ? `l${src}` : hexConst(imm);
  const bh = x ? `h${src}` : hexConst(imm >> 31);
  const blu = x ? `(l${src} >>> 0)` : `${imm >>> 0}`;
  const bhu = x ? `(h${src} >>> 0)` : `${(imm >> 31) >>> 0}`;
  const jump = (cond: string): string => `if (${cond}) { ${mode.jump(shape.target)} }`;

  switch (cls) {
    case ALU64: {
      const code = op & 0xf0;
      switch (code) {
        case 0x00:
          return `t0 = (${L} >>> 0) + ${blu}; ${H} = (${H} + ${bh} + (t0 > 4294967295 ? 1 : 0)) | 0; ${L} = t0 | 0;`;
        case 0x10:
          return `t0 = (${L} >>> 0) - ${blu}; ${H} = (${H} - ${bh} - (t0 < 0 ? 1 : 0)) | 0; ${L} = t0 | 0;`;
        case 0x20:
          return `t0 = ${L}; t1 = ${bl}; ${H} = (mulhu(t0, t1) + Math.imul(t0, ${bh}) + Math.imul(${H}, t1)) | 0; ${L} = Math.imul(t0, t1);`;
        case 0x30:
          return `${L} = ${off === 1 ? 'sdiv64' : 'udiv64'}(${L}, ${H}, ${bl}, ${bh}); ${H} = S.h;`;
        case 0x90:
          return `${L} = ${off === 1 ? 'smod64' : 'umod64'}(${L}, ${H}, ${bl}, ${bh}); ${H} = S.h;`;
        case 0x40:
          return `${L} |= ${bl}; ${H} |= ${bh};`;
        case 0x50:
          return `${L} &= ${bl}; ${H} &= ${bh};`;
        case 0xa0:
          return `${L} ^= ${bl}; ${H} ^= ${bh};`;
        case 0x60:
        case 0x70:
        case 0xc0: {
          if (x) {
            const fn = code === 0x60 ? 'shl64' : code === 0x70 ? 'shr64' : 'sar64';
            return `${L} = ${fn}(${L}, ${H}, l${src}); ${H} = S.h;`;
          }
          const s = imm & 63;
          if (s === 0) return '';
          if (code === 0x60) {
            return s < 32 ? `${H} = (${H} << ${s}) | (${L} >>> ${32 - s}); ${L} <<= ${s};` : `${H} = ${L} << ${s - 32}; ${L} = 0;`;
          }
          if (code === 0x70) {
            return s < 32
              ? `${L} = (${L} >>> ${s}) | (${H} << ${32 - s}); ${H} = ${H} >>> ${s};`
              : `${L} = (${H} >>> ${s - 32}) | 0; ${H} = 0;`;
          }
          return s < 32 ? `${L} = (${L} >>> ${s}) | (${H} << ${32 - s}); ${H} >>= ${s};` : `${L} = ${H} >> ${s - 32}; ${H} >>= 31;`;
        }
        case 0x80:
          return `${H} = (~${H} + (${L} === 0 ? 1 : 0)) | 0; ${L} = (-${L}) | 0;`;
        case 0xb0:
          if (off === 8) return `${L} = (l${src} << 24) >> 24; ${H} = ${L} >> 31;`;
          if (off === 16) return `${L} = (l${src} << 16) >> 16; ${H} = ${L} >> 31;`;
          if (off === 32) return `${L} = l${src}; ${H} = ${L} >> 31;`;
          return `${L} = ${bl}; ${H} = ${bh};`;
        case 0xd0:
          return bswap(L, H, imm);
      }
      break;
    }
    case ALU: {
      const code = op & 0xf0;
      const b = x ? `l${src}` : hexConst(imm);
      const set = (expr: string): string => `${L} = ${expr}; ${H} = 0;`;
      switch (code) {
        case 0x00:
          return set(`(${L} + ${b}) | 0`);
        case 0x10:
          return set(`(${L} - ${b}) | 0`);
        case 0x20:
          return set(`Math.imul(${L}, ${b})`);
        case 0x30:
          return off === 1
            ? `t1 = ${b}; ${L} = t1 === 0 ? 0 : (${L} / t1) | 0; ${H} = 0;`
            : `t1 = ${b} >>> 0; ${L} = t1 === 0 ? 0 : ((${L} >>> 0) / t1) | 0; ${H} = 0;`;
        case 0x90:
          return off === 1
            ? `t1 = ${b}; if (t1 !== 0) ${L} = ${L} % t1 | 0; ${H} = 0;`
            : `t1 = ${b} >>> 0; if (t1 !== 0) ${L} = (${L} >>> 0) % t1 | 0; ${H} = 0;`;
        case 0x40:
          return set(`${L} | ${b}`);
        case 0x50:
          return set(`${L} & ${b}`);
        case 0xa0:
          return set(`${L} ^ ${b}`);
        case 0x60:
          return set(x ? `${L} << (${b} & 31)` : `${L} << ${imm & 31}`);
        case 0x70:
          return set(x ? `(${L} >>> (${b} & 31)) | 0` : `(${L} >>> ${imm & 31}) | 0`);
        case 0xc0:
          return set(x ? `${L} >> (${b} & 31)` : `${L} >> ${imm & 31}`);
        case 0x80:
          return set(`(-${L}) | 0`);
        case 0xb0:
          if (off === 8) return set(`(l${src} << 24) >> 24`);
          if (off === 16) return set(`(l${src} << 16) >> 16`);
          return set(b);
        case 0xd0:
          if (x) return bswap(L, H, imm);
          // To little-endian on a little-endian machine: truncation.
          if (imm === 16) return set(`${L} & 0xffff`);
          if (imm === 32) return `${H} = 0;`;
          return '';
      }
      break;
    }
    case JMP:
    case JMP32: {
      const code = op & 0xf0;
      if (code === 0x00) return mode.jump(shape.target);
      if (code === 0x90) return mode.ret('l0', 'h0');
      if (code === 0x80) {
        if (x) {
          if (!callx) break;
          return `l0 = callHelperById(l${dst}, ${i}, d, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5); h0 = S.h;`;
        }
        if (src === 1) {
          return `if (d >= ${MAX_CALL_FRAMES - 1}) throw depthFault(${i}, d + 1); l0 = F${shape.entry}(d + 1, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5); h0 = S.h;`;
        }
        if (src === 0 && rt.isPoisonedCall(imm)) return `throw poisonFault(${i}, ${imm});`;
        const call = `l0 = callHelper(HF${helperIndex.get(imm)}, ${imm}, ${i}, d, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5); h0 = S.h;`;
        return imm === tailId ? `${call} if (S.tail !== null) { t0 = tailCall(d, l1, h1); ${mode.ret('t0', 'S.h')} }` : call;
      }
      if (cls === JMP32) {
        const b = x ? `l${src}` : hexConst(imm);
        const bu = x ? `(l${src} >>> 0)` : `${imm >>> 0}`;
        const au = `(${L} >>> 0)`;
        switch (code) {
          case 0x10:
            return jump(`${L} === ${b}`);
          case 0x50:
            return jump(`${L} !== ${b}`);
          case 0x20:
            return jump(`${au} > ${bu}`);
          case 0x30:
            return jump(`${au} >= ${bu}`);
          case 0xa0:
            return jump(`${au} < ${bu}`);
          case 0xb0:
            return jump(`${au} <= ${bu}`);
          case 0x60:
            return jump(`${L} > ${b}`);
          case 0x70:
            return jump(`${L} >= ${b}`);
          case 0xc0:
            return jump(`${L} < ${b}`);
          case 0xd0:
            return jump(`${L} <= ${b}`);
          case 0x40:
            return jump(`(${L} & ${b}) !== 0`);
        }
        break;
      }
      const au = `(${L} >>> 0)`;
      const ahu = `(${H} >>> 0)`;
      const lt = (hiA: string, hiB: string, strict: boolean): string =>
        `${hiA} < ${hiB} || (${H} === ${bh} && ${au} ${strict ? '<' : '<='} ${blu})`;
      const gt = (hiA: string, hiB: string, strict: boolean): string =>
        `${hiA} > ${hiB} || (${H} === ${bh} && ${au} ${strict ? '>' : '>='} ${blu})`;
      switch (code) {
        case 0x10:
          return jump(`${L} === ${bl} && ${H} === ${bh}`);
        case 0x50:
          return jump(`${L} !== ${bl} || ${H} !== ${bh}`);
        case 0x20:
          return jump(gt(ahu, bhu, true));
        case 0x30:
          return jump(gt(ahu, bhu, false));
        case 0xa0:
          return jump(lt(ahu, bhu, true));
        case 0xb0:
          return jump(lt(ahu, bhu, false));
        case 0x60:
          return jump(gt(H, bh, true));
        case 0x70:
          return jump(gt(H, bh, false));
        case 0xc0:
          return jump(lt(H, bh, true));
        case 0xd0:
          return jump(lt(H, bh, false));
        case 0x40:
          return jump(`(${L} & ${bl}) !== 0 || (${H} & ${bh}) !== 0`);
      }
      break;
    }
    case LD: {
      if (op !== 0x18) {
        const size = SIZE_BYTES[(op >> 3) & 3] as number;
        const x = (op & 0xe0) === 0x40 ? `l${src}` : '0';
        return `t0 = ldabs(${size}, l6, h6, ${x}, ${imm}, ${i}); if (S.h === -1) ${mode.ret('0', '0')} l0 = t0; h0 = 0;`;
      }
      const v = lddw as { lo: number; hi: number };
      return `${L} = ${hexConst(v.lo)}; ${H} = ${hexConst(v.hi)};`;
    }
    case LDX: {
      const size = SIZE_BYTES[(op >> 3) & 3] as number;
      const load = `ld${size}(h${src}, l${src}, ${off}, ${i})`;
      if ((op & 0xe0) === 0x80) {
        if (size === 1) return `${L} = (${load} << 24) >> 24; ${H} = ${L} >> 31;`;
        if (size === 2) return `${L} = (${load} << 16) >> 16; ${H} = ${L} >> 31;`;
        return `${L} = ${load}; ${H} = ${L} >> 31;`;
      }
      // S.h: 0 for memory, the high half when a region's load hook answers (a context field holding a pointer).
      return `${L} = ${load}; ${H} = S.h;`;
    }
    case ST: {
      const size = SIZE_BYTES[(op >> 3) & 3] as number;
      return `st${size}(${H}, ${L}, ${off}, ${i}, ${hexConst(imm)}, ${hexConst(imm >> 31)});`;
    }
    case STX: {
      const size = SIZE_BYTES[(op >> 3) & 3] as 1 | 2 | 4 | 8;
      if ((op & 0xe0) === 0x60) return `st${size}(${H}, ${L}, ${off}, ${i}, l${src}, h${src});`;
      if (imm === 0x100) return `${L} = ld${size}(h${src}, l${src}, ${off}, ${i}); ${H} = ${size === 8 ? 'S.h' : '0'};`;
      if (imm === 0x110) return `st${size}(${H}, ${L}, ${off}, ${i}, l${src}, h${src});`;
      const call = `atomic(${size}, ${imm}, ${H}, ${L}, ${off}, ${i}, l${src}, h${src}, l0, h0)`;
      const hiOut = size === 8 ? 'S.h' : '0';
      if (imm === 0xf1) return `l0 = ${call}; h0 = ${hiOut};`;
      if ((imm & 1) !== 0) return `l${src} = ${call}; h${src} = ${hiOut};`;
      return `${call};`;
    }
  }
  throw new Error(`vm: no translation for opcode ${op.toString(16)} at ${i}`);
}

function bswap(L: string, H: string, bits: number): string {
  if (bits === 16) return `${L} = ((${L} & 0xff) << 8) | ((${L} >>> 8) & 0xff); ${H} = 0;`;
  if (bits === 32) return `${L} = bswap32(${L}); ${H} = 0;`;
  return `t0 = bswap32(${L}); ${L} = bswap32(${H}); ${H} = t0;`;
}

/** The environment a helper call sees. */
class HelperEnv implements VmHelperEnv {
  constructor(
    readonly memory: VmMemory,
    readonly program: string,
    readonly instruction: number,
    readonly depth: number,
    private readonly entries: Readonly<Record<number, SubprogFn>>,
    private readonly mayTailCall: boolean,
  ) {}

  fault(message: string): VmFault {
    return new VmFault('helper', this.program, this.instruction, message);
  }

  tailCall(target: VmProgram): boolean {
    if (!this.mayTailCall) {
      throw new VmFault('tail-call', this.program, this.instruction, 'tailCall() is for the tail-call helper only');
    }
    if (!(target instanceof VmProgram)) throw new InvalidArgumentError('target', 'a VmProgram', target);
    if (state.tails >= MAX_TAIL_CALLS) return false;
    state.tail = target;
    return true;
  }

  callback(fn: bigint, ...args: bigint[]): bigint {
    const v = BigInt.asUintN(64, fn);
    const hi = Number(v >> 32n) | 0;
    const pc = Number(v & 0xffffffffn);
    const f = hi === CODE_HI ? this.entries[pc] : undefined;
    if (f === undefined) {
      throw new VmFault('callback', this.program, this.instruction, `callback 0x${v.toString(16)} is not a function of the program`);
    }
    if (this.depth + 1 >= MAX_CALL_FRAMES) throw rt.depthFault(this.instruction, this.depth + 1);
    const halves: number[] = [];
    for (let k = 0; k < 5; k++) {
      const a = args[k] ?? 0n;
      halves.push(Number(BigInt.asIntN(32, a)), Number(BigInt.asIntN(32, a >> 32n)));
    }
    const savedPc = state.pc;
    const lo = f(this.depth + 1, ...halves);
    state.pc = savedPc;
    return rt.big(lo, state.h);
  }
}

/**
 * A program translated for the VM: {@link VmProgram.run} runs it against a
 * {@link VmMemory}. Made by {@link compileProgram}.
 *
 * @example
 * import { assemble } from '@bpfkit/elf';
 * import { VmMemory } from './memory.js';
 * const program = compileProgram({ name: 'double', instructions: assemble('mov %r0, %r1\nlsh %r0, 1\nexit') });
 * program.run(new VmMemory(), { r1: 21n }); // 42n
 */
export class VmProgram implements VmTailTarget {
  /** The generated JavaScript (for debugging). */
  readonly source: string;
  /** Instructions executed by the last run (those charged to its budget). */
  lastInstructions = 0;
  private readonly entries: Readonly<Record<number, SubprogFn>>;
  private readonly main: SubprogFn;
  private readonly tailId: number;
  private memory: VmMemory | null = null;

  /** @internal Use {@link compileProgram}. */
  constructor(
    readonly name: string,
    readonly instructionCount: number,
    source: string,
    helpers: ReadonlyMap<number, VmHelper>,
    tailId = 12,
    legacyPacket?: (ctx: bigint) => VmLegacyPacket | undefined,
  ) {
    this.source = source;
    this.tailId = tailId;
    const helperFns = [...helpers.values()];
    const runtime = {
      S: state,
      ...rt,
      stackFor: (depth: number) => {
        const m = this.memory as VmMemory;
        const r = m.stack(depth);
        r.bytes.fill(0);
        return r;
      },
      callHelper: (
        fn: VmHelper,
        id: number,
        pc: number,
        depth: number,
        l1: number,
        h1: number,
        l2: number,
        h2: number,
        l3: number,
        h3: number,
        l4: number,
        h4: number,
        l5: number,
        h5: number,
      ): number => this.callHelper(fn, id, pc, depth, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5),
      ldabs: (size: 1 | 2 | 4, l6: number, h6: number, x: number, imm: number, pc: number): number => {
        const p = legacyPacket?.(rt.big(l6, h6));
        if (p === undefined) throw new VmFault('read', state.program, pc, 'legacy packet load: r6 is not a context with a packet');
        const off = (x + imm) | 0;
        // Out of the packet (negative offsets included: the kernel's SKF_* ancillary areas are not modelled): the program ends with 0.
        if (off < 0 || off + size > p.length) {
          state.h = -1;
          return 0;
        }
        const dv = p.region.view;
        const a = p.offset + off;
        if (a < p.region.start || a + size > p.region.end) throw rt.memoryFaultAt(p.region, a, size, pc);
        state.h = 0;
        return size === 1 ? (dv.getUint8(a) as number) : size === 2 ? dv.getUint16(a, false) : dv.getInt32(a, false);
      },
      tailCall: (depth: number, l1: number, h1: number): number => {
        const target = state.tail as VmTailTarget;
        state.tail = null;
        state.tails++;
        const saved = state.program;
        try {
          return target.enterTail(depth, l1, h1);
        } finally {
          state.program = saved;
        }
      },
      callHelperById: (
        id: number,
        pc: number,
        depth: number,
        l1: number,
        h1: number,
        l2: number,
        h2: number,
        l3: number,
        h3: number,
        l4: number,
        h4: number,
        l5: number,
        h5: number,
      ): number => {
        const fn = helpers.get(id);
        if (fn === undefined) throw new VmFault('helper', state.program, pc, `callx to helper #${id}, which the program may not call`);
        return this.callHelper(fn, id, pc, depth, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5);
      },
    };
    const factory = new Function('RT', 'HF', source) as (rt: unknown, hf: VmHelper[]) => Record<number, SubprogFn>;
    this.entries = factory(runtime, helperFns);
    this.main = this.entries[0] as SubprogFn;
  }

  private callHelper(
    fn: VmHelper,
    id: number,
    pc: number,
    depth: number,
    l1: number,
    h1: number,
    l2: number,
    h2: number,
    l3: number,
    h3: number,
    l4: number,
    h4: number,
    l5: number,
    h5: number,
  ): number {
    const env = new HelperEnv(this.memory as VmMemory, this.name, pc, depth, this.entries, id === this.tailId);
    state.pc = pc;
    const r = fn(rt.big(l1, h1), rt.big(l2, h2), rt.big(l3, h3), rt.big(l4, h4), rt.big(l5, h5), env);
    return rt.splitResult(r, pc, `helper #${id}`);
  }

  /** @internal The entry of a tail call (see {@link VmHelperEnv.tailCall}), in the running memory. */
  enterTail(depth: number, l1: number, h1: number): number {
    const saved = this.memory;
    this.memory = state.mem;
    state.program = this.name;
    try {
      return this.main(depth, l1, h1, 0, 0, 0, 0, 0, 0, 0, 0);
    } finally {
      this.memory = saved;
    }
  }

  /**
   * Runs the program with r1..r5 from `args` (r10 points to the top of a
   * fresh, zeroed 512-byte stack) and returns r0 as an unsigned 64-bit value.
   * Raises a {@link VmFault} for a memory access outside the regions of
   * `memory`, an exhausted budget or calls nested too deep.
   *
   * @example
   * import { assemble } from '@bpfkit/elf';
   * import { VmMemory } from './memory.js';
   * const program = compileProgram({ name: 'len', instructions: assemble('mov %r0, %r2\nexit') });
   * program.run(new VmMemory(), { r2: 64n }, { budget: 100 }); // 64n
   */
  run(memory: VmMemory, args: VmRunArgs = {}, options: VmRunOptions = {}): bigint {
    return this.runAt(this.main, memory, args, options);
  }

  /**
   * Runs one of the program's callbacks (the function pointer a program
   * handed a helper, from `lddw rX, func`) on its own, in a run of its own:
   * what a timer firing after the program ended does (`bpf_timer_set_callback`).
   *
   * @example
   * import { VmMemory } from './memory.js';
   * declare const program: VmProgram, timerCallback: bigint;
   * program.runFunction(new VmMemory(), timerCallback, { r1: 0n });
   */
  runFunction(memory: VmMemory, fn: bigint, args: VmRunArgs = {}, options: VmRunOptions = {}): bigint {
    const v = BigInt.asUintN(64, fn);
    const isCode = (Number(v >> 32n) | 0) === CODE_HI;
    const f = isCode ? this.entries[Number(v & 0xffffffffn)] : undefined;
    if (f === undefined) throw new InvalidArgumentError('fn', `a function pointer of program '${this.name}'`, `0x${v.toString(16)}`);
    return this.runAt(f, memory, args, options);
  }

  private runAt(entry: SubprogFn, memory: VmMemory, args: VmRunArgs, options: VmRunOptions): bigint {
    const budget = options.budget ?? DEFAULT_BUDGET;
    if (!(Number.isSafeInteger(budget) && budget > 0)) throw new InvalidArgumentError('budget', 'a positive safe integer', budget);
    const { rg, mem, program, n, tail, tails, pc, h } = state;
    const savedMemory = this.memory;
    this.memory = memory;
    state.rg = memory.regions;
    state.mem = memory;
    state.program = this.name;
    state.n = budget;
    state.tail = null;
    state.tails = 0;
    const a = args;
    try {
      const lo = entry(
        0,
        lowHalf(a.r1),
        highHalf(a.r1),
        lowHalf(a.r2),
        highHalf(a.r2),
        lowHalf(a.r3),
        highHalf(a.r3),
        lowHalf(a.r4),
        highHalf(a.r4),
        lowHalf(a.r5),
        highHalf(a.r5),
      );
      return rt.big(lo, state.h);
    } finally {
      this.lastInstructions = budget - state.n;
      this.memory = savedMemory;
      state.rg = rg;
      state.mem = mem;
      state.program = program;
      state.n = n;
      state.tail = tail;
      state.tails = tails;
      state.pc = pc;
      state.h = h;
    }
  }
}

function lowHalf(v: bigint | undefined): number {
  if (v === undefined) return 0;
  if (v >= 0n && v <= 0xffffffffn) return Number(v) | 0;
  return Number(BigInt.asIntN(32, v));
}

function highHalf(v: bigint | undefined): number {
  if (v === undefined || (v >= 0n && v <= 0xffffffffn)) return 0;
  return Number(BigInt.asIntN(32, v >> 32n));
}

/** Stack size of each frame (bytes). */
export const VM_STACK_SIZE = STACK_SIZE;
