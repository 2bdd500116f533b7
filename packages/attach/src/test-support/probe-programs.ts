/**
 * A counting kprobe program for the kprobe and uprobe tests: `array[slot] += 1`
 * on every hit, where the slot is 0 or the attach cookie, optionally only
 * for one process (so that other processes calling the same kernel
 * function cannot disturb an exact count). Test-only.
 */
import { ProgramType } from '@bpfkit/core';
import { loadKernelProgram } from '../program.js';
import type { KernelProgram } from '../program.js';
import { assemble, counters, I } from './packet-programs.js';
import type { Item } from './packet-programs.js';

const BPF_FUNC_map_lookup_elem = 1;
const BPF_FUNC_get_current_pid_tgid = 14;
const BPF_FUNC_get_attach_cookie = 174;

/** What {@link probeCounter} counts. */
export interface ProbeCounterOptions {
  /** Count only hits in this process (bpf_get_current_pid_tgid() >> 32). */
  tgid?: number;
  /** Count into slot bpf_get_attach_cookie() (hits with a cookie past the last slot are dropped) instead of slot 0. */
  byCookie?: boolean;
  /** Slots of the counter array (default 4). */
  slots?: number;
  /** The program's expected attach type (AttachType.TRACE_KPROBE_MULTI, TRACE_UPROBE_MULTI). */
  expectedAttachType?: number;
  /** The program type (default KPROBE). */
  type?: number;
}

/** A loaded counting program and its counter array; `read(slot)` reads one slot. */
export interface ProbeCounter extends Disposable {
  readonly prog: KernelProgram;
  read(slot?: number): bigint;
}

/** Loads a counting kprobe program (see {@link ProbeCounterOptions}) and its array map; dispose closes both. */
export function probeCounter(options: ProbeCounterOptions = {}): ProbeCounter {
  const slots = options.slots ?? 4;
  const hits = counters(slots, 'probe_hits');
  const map = hits.fd;
  const items: (Item | string)[] = [I(0xbf, { dst: 6, src: 1 })]; // r6 = ctx
  if (options.tgid !== undefined) {
    items.push(
      I(0x85, { imm: BPF_FUNC_get_current_pid_tgid }),
      I(0x77, { dst: 0, imm: 32 }), // r0 >>= 32: the tgid
      I(0x55, { dst: 0, imm: options.tgid }, 'out'), // if r0 != tgid goto out
    );
  }
  if (options.byCookie) {
    items.push(
      I(0xbf, { dst: 1, src: 6 }), // r1 = ctx
      I(0x85, { imm: BPF_FUNC_get_attach_cookie }),
      I(0x25, { dst: 0, imm: slots - 1 }, 'out'), // if r0 > last slot goto out
      I(0xbf, { dst: 7, src: 0 }), // r7 = cookie
    );
  } else {
    items.push(I(0xb7, { dst: 7, imm: 0 })); // r7 = 0
  }
  items.push(
    I(0x63, { dst: 10, src: 7, offset: -4 }), // *(u32 *)(r10 - 4) = r7
    I(0x18, { dst: 1, src: 1, imm: map }), // r1 = map
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -4 }),
    I(0x85, { imm: BPF_FUNC_map_lookup_elem }),
    I(0x15, { dst: 0 }, 'out'), // if r0 == 0 goto out
    I(0xb7, { dst: 1, imm: 1 }),
    I(0xdb, { dst: 0, src: 1 }), // lock *(u64 *)(r0 + 0) += 1
    'out',
    I(0xb7, { dst: 0, imm: 0 }),
    I(0x95),
  );
  let prog: KernelProgram;
  try {
    prog = loadKernelProgram({
      name: 'count_probe',
      type: options.type ?? ProgramType.KPROBE,
      instructions: assemble(items),
      license: 'GPL',
      ...(options.expectedAttachType !== undefined ? { expectedAttachType: options.expectedAttachType } : {}),
    });
  } catch (err) {
    hits[Symbol.dispose]();
    throw err;
  }
  return {
    prog,
    read: (slot = 0) => hits.read(slot),
    [Symbol.dispose]() {
      prog.close();
      hits[Symbol.dispose]();
    },
  };
}
