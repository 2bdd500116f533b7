import { InvalidArgumentError, NotSupportedError } from '@bpfkit/core';

// The virtual machine's address space: separate regions (each frame's stack,
// the context, the packet, map values, memory a test provides), each at its
// own base in a 64-bit address space. The high 32 bits of a pointer select
// the region (0xffff0000 | id), the low 32 bits are the offset inside it, so
// an access that leaves its region — by offset or by landing on a high half
// no region owns — is a fault, never a read or write of something else.

/** High half of a code pointer (`lddw rX, func` / BPF_PSEUDO_FUNC): region id 0, never a data region. */
export const CODE_HI = 0xffff0000 | 0;

/** The highest region id (ids are 1..MAX_REGION_ID; 0 is code, 0xffff would collide with sign-extended -1). */
export const MAX_REGION_ID = 0xfffe;

/** Size of each frame's stack, as the kernel's MAX_BPF_STACK. */
export const STACK_SIZE = 512;

/** What a fault was doing. */
export type VmFaultKind = 'read' | 'write' | 'budget' | 'call-depth' | 'helper' | 'callback' | 'tail-call';

/**
 * A BPF program running on the mock's virtual machine did something the
 * kernel's verifier would have stopped or that has no meaning outside a
 * kernel: an access outside every memory region or past a region's end, a
 * write to read-only memory, too many instructions (the run's budget), calls
 * nested deeper than 8 frames. Names the program, the instruction and (for
 * memory faults) the address.
 *
 * A `VmFault` is thrown by {@link VmProgram.run}; the machine and its memory
 * stay usable afterwards (the fault happens before the access, so nothing
 * was written).
 *
 * @example
 * import type { VmProgram } from './compile.js';
 * declare const program: VmProgram, memory: VmMemory, ctxPointer: bigint;
 * try {
 *   program.run(memory, { r1: ctxPointer });
 * } catch (err) {
 *   if (err instanceof VmFault) console.log(err.program, err.instruction, err.address);
 * }
 */
export class VmFault extends Error {
  override readonly name: string = 'VmFault';
  /** What the program was doing. */
  readonly kind: VmFaultKind;
  /** The program's name. */
  readonly program: string;
  /** The index of the faulting instruction (in 8-byte slots, as the verifier counts). */
  readonly instruction: number;
  /** For memory faults, the first address accessed. */
  readonly address: bigint | undefined;
  /** For memory faults, the number of bytes accessed. */
  readonly size: number | undefined;

  constructor(kind: VmFaultKind, program: string, instruction: number, detail: string, access?: { address: bigint; size: number }) {
    super(`program '${program}': instruction ${instruction}: ${detail}`);
    this.kind = kind;
    this.program = program;
    this.instruction = instruction;
    this.address = access?.address;
    this.size = access?.size;
  }
}

/** A pointer as a region and an offset in it: what a {@link VmLoadHook} may return instead of a bigint (faster). */
export interface VmPointer {
  readonly region: VmRegion;
  readonly offset: number;
}

/**
 * Reads of a region that are not plain memory (a context whose fields the
 * kernel would rewrite, such as `xdp_md.data` read as 4 bytes but holding a
 * 64-bit pointer): return the 64-bit value the load gives (a bigint, a safe
 * integer, or a {@link VmPointer}), or `undefined` for the bytes in memory.
 */
export type VmLoadHook = (offset: number, size: 1 | 2 | 4 | 8) => bigint | number | VmPointer | undefined;

/** Writes of a region that are not plain memory: return `true` when handled, `false` for a write to memory. */
export type VmStoreHook = (offset: number, size: 1 | 2 | 4 | 8, value: bigint) => boolean;

/** How a region is mapped. */
export interface VmRegionOptions {
  /** A name for fault messages, e.g. `'packet'`, `'map value'`. */
  name: string;
  /** Whether the program may write it (default true). */
  writable?: boolean | undefined;
  /** First accessible offset (default 0): a packet's headroom is mapped but not accessible. */
  start?: number | undefined;
  /** End of the accessible bytes (default `bytes.length`). */
  end?: number | undefined;
  /** Loads that are not plain memory (see {@link VmLoadHook}). */
  load?: VmLoadHook | undefined;
  /** Stores that are not plain memory (see {@link VmStoreHook}). */
  store?: VmStoreHook | undefined;
}

/**
 * One region of the machine's memory. `start` and `end` may be changed while
 * mapped (a helper moving a packet's head or tail).
 */
export interface VmRegion {
  /** The region's id (1..0xfffe). */
  readonly id: number;
  /** The high 32 bits of every pointer into it, as a signed 32-bit number. */
  readonly hi: number;
  /** The bytes. */
  readonly bytes: Uint8Array;
  /** A view of them. */
  readonly view: DataView;
  name: string;
  writable: boolean;
  /** First accessible offset. */
  start: number;
  /** End of the accessible bytes. */
  end: number;
  load: VmLoadHook | null;
  store: VmStoreHook | null;
}

/** The state a running program shares with the machine's runtime (one at a time; runs nest synchronously). */
export interface VmState {
  /** The high half of the last 64-bit value a runtime function returned. */
  h: number;
  /** Instructions left in the run's budget. */
  n: number;
  /** The region table of the running memory. */
  rg: (VmRegion | undefined)[];
  /** The running memory. */
  mem: VmMemory | null;
  /** The running program. */
  program: string;
  /** The instruction a helper was called from (for faults raised through {@link VmMemory} by helpers). */
  pc: number;
  /** A tail call a helper asked for, taken when the helper returns. */
  tail: VmTailTarget | null;
  /** Tail calls taken in this run (at most 33, as the kernel's MAX_TAIL_CALL_CNT). */
  tails: number;
}

/** What a tail call enters (a {@link VmProgram}). */
export interface VmTailTarget {
  /** @internal Runs the program's main function in frame `depth` with r1 = l1:h1; returns r0's low half, the high half in `state.h`. */
  enterTail(depth: number, l1: number, h1: number): number;
}

/** The one state object the runtime and generated code share. */
export const state: VmState = { h: 0, n: 0, rg: [], mem: null, program: '', pc: 0, tail: null, tails: 0 };

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** A 64-bit pointer from its high and low halves. */
export function pointerOf(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Raises the fault for an access of `size` bytes at offset `a` (possibly outside 0..2^32) of the high half `h`. */
export function memoryFault(
  write: boolean,
  h: number,
  a: number,
  size: number,
  pc: number,
  regions: readonly (VmRegion | undefined)[] = state.rg,
): VmFault {
  const address = BigInt.asUintN(64, (BigInt(h >>> 0) << 32n) + BigInt(a));
  const what = `${write ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} at ${hex(address)}`;
  const r = regions[h & 0xffff];
  let why: string;
  if (r === undefined || r.hi !== h) {
    why = (h | 0) === (CODE_HI | 0) ? 'a code pointer is not memory' : 'no memory region there';
  } else if (write && !r.writable && a >= r.start && a + size <= r.end) {
    why = `${r.name} is read-only`;
  } else {
    const base = BigInt(h >>> 0) << 32n;
    why = `outside ${r.name} [${hex(base + BigInt(r.start))}, ${hex(base + BigInt(r.end))})`;
  }
  return new VmFault(write ? 'write' : 'read', state.program, pc, `${what}: ${why}`, { address, size });
}

/**
 * The machine's memory: a table of regions, each at its own base address.
 * A {@link VmProgram} runs against one; the test (or the mock's helpers)
 * maps the context, the packet, map values and probe-readable memory into
 * it and hands the program pointers. Each frame's 512-byte stack is a region
 * of its own, created on first use.
 *
 * @example
 * const memory = new VmMemory();
 * const packet = memory.map(new Uint8Array(64), { name: 'packet' });
 * const data = memory.pointer(packet); // 0xffff0001_00000000 or similar
 * memory.view(data + 12n, 2).set([0x08, 0x00]);
 */
export class VmMemory {
  /** Regions by id; index 0 is never used. */
  readonly regions: (VmRegion | undefined)[] = [undefined];
  private readonly free: number[] = [];
  private readonly stacks: VmRegion[] = [];

  /**
   * Maps `bytes` (not copied: the program reads and writes them in place) as a new region.
   *
   * @example
   * const memory = new VmMemory();
   * const ctx = memory.map(new Uint8Array(24), { name: 'context', writable: false });
   */
  map(bytes: Uint8Array, options: VmRegionOptions): VmRegion {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes', 'a Uint8Array', bytes);
    const start = options.start ?? 0;
    const end = options.end ?? bytes.length;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= bytes.length)) {
      throw new InvalidArgumentError(
        `region '${options.name}' start and end`,
        `0 <= start <= end <= ${bytes.length}`,
        `start ${start}, end ${end}`,
      );
    }
    const id = this.free.pop() ?? this.regions.length;
    if (id > MAX_REGION_ID) {
      throw new NotSupportedError(`more than ${MAX_REGION_ID} memory regions mapped at once`, undefined, undefined, 'the mock backend');
    }
    const region: VmRegion = {
      id,
      hi: 0xffff0000 | id | 0,
      bytes,
      view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      name: options.name,
      writable: options.writable ?? true,
      start,
      end,
      load: options.load ?? null,
      store: options.store ?? null,
    };
    this.regions[id] = region;
    return region;
  }

  /**
   * Removes a region; pointers into it fault from then on (until its id is reused).
   *
   * @example
   * declare const memory: VmMemory, packet: VmRegion;
   * memory.unmap(packet);
   */
  unmap(region: VmRegion): void {
    if (this.regions[region.id] !== region) return;
    this.regions[region.id] = undefined;
    this.free.push(region.id);
  }

  /**
   * The address of `offset` in `region`.
   *
   * @example
   * declare const memory: VmMemory, packet: VmRegion;
   * const data = memory.pointer(packet, 0);
   */
  pointer(region: VmRegion, offset = 0): bigint {
    return pointerOf(region.hi, offset);
  }

  /**
   * The region an address points into and the offset inside it, or undefined.
   *
   * @example
   * declare const memory: VmMemory, ptr: bigint;
   * const at = memory.resolve(ptr); // { region, offset } or undefined
   */
  resolve(address: bigint): { region: VmRegion; offset: number } | undefined {
    const a = BigInt.asUintN(64, address);
    const hi = Number(a >> 32n) | 0;
    const region = this.regions[hi & 0xffff];
    if (region === undefined || region.hi !== hi) return undefined;
    return { region, offset: Number(a & 0xffffffffn) };
  }

  /**
   * The `length` bytes at `address`, as a view of the region's memory (writes
   * through it reach the program's memory). Raises a {@link VmFault} (naming
   * the helper's instruction while a program runs) when they are not all in
   * one region's accessible bytes, or, with `write`, when it is read-only.
   *
   * @example
   * declare const memory: VmMemory, r2: bigint;
   * const key = memory.view(r2, 4); // a helper reading the key a program passed
   */
  view(address: bigint, length: number, write = false): Uint8Array {
    const a = BigInt.asUintN(64, address);
    const hi = Number(a >> 32n) | 0;
    const lo = Number(a & 0xffffffffn);
    const r = this.regions[hi & 0xffff];
    if (r === undefined || r.hi !== hi || !(length >= 0) || lo < r.start || lo + length > r.end || (write && !r.writable)) {
      throw memoryFault(write, hi, lo, length, state.pc, this.regions);
    }
    return r.bytes.subarray(lo, lo + length);
  }

  /**
   * The NUL-terminated string at `address`, at most `max` bytes read (without
   * the NUL), decoded as UTF-8; faults like {@link VmMemory.view} when it runs
   * out of its region before a NUL or `max` bytes.
   *
   * @example
   * declare const memory: VmMemory, fmt: bigint;
   * const format = memory.cString(fmt, 256); // what bpf_trace_printk was given
   */
  cString(address: bigint, max: number): string {
    const at = this.resolve(address);
    const room = at === undefined ? 0 : Math.max(0, Math.min(max, at.region.end - at.offset));
    const bytes = this.view(address, room === 0 ? 1 : room);
    const nul = bytes.indexOf(0);
    if (nul < 0 && room < max) this.view(address, room + 1); // faults: the string runs past its region
    return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }

  /**
   * The stack region of call depth `depth` (0 = the program's frame), created on first use.
   *
   * @example
   * const frame0 = new VmMemory().stack(0);
   */
  stack(depth: number): VmRegion {
    let s = this.stacks[depth];
    if (s === undefined) {
      s = this.map(new Uint8Array(STACK_SIZE), { name: `stack of frame ${depth}` });
      this.stacks[depth] = s;
    }
    return s;
  }
}
