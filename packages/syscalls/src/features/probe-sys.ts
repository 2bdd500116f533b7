import os from 'node:os';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';

/**
 * The few kernel operations the feature probes need, in errno form (a probe
 * wants the errno, not an exception). Implemented over the bpf() system call in
 * probe-sys-native.ts; tests may give a fake.
 */
export interface ProbeSys {
  /** BPF_MAP_CREATE: fd, or -errno. */
  mapCreate(attr: ProbeMapAttr): number;
  /** BPF_PROG_LOAD with a log buffer: fd (or -errno) and the verifier log. */
  progLoad(attr: ProbeProgAttr): { fd: number; log: string };
  /** BPF_BTF_LOAD: fd, or -errno. */
  btfLoad(blob: Uint8Array): number;
  /** BPF_MAP_LOOKUP_BATCH of one element from the start: 0 or -errno. */
  mapLookupBatch(fd: number, keySize: number, valueSize: number): number;
  /** BPF_OBJ_PIN of a fresh array map relative to a bad directory fd (`BPF_F_PATH_FD`): -errno. */
  pinRelativeToBadDirectory(): number;
  /** BPF_PROG_STREAM_READ_BY_FD on a bad program fd: -errno. */
  readStreamOfBadFd(): number;
  /**
   * A kprobe_multi link (BPF_TRACE_KPROBE_MULTI) of an empty kprobe program
   * on a function no kernel has: -errno (ESRCH where such links work).
   * Optional: probe systems of tests may leave it out.
   */
  kprobeMultiOnMissingFunction?(): number;
  close(fd: number): void;
}

export interface ProbeMapAttr {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMapFd?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
}

export interface ProbeProgAttr {
  type: number;
  instructions: Uint8Array;
  license: string;
  expectedAttachType?: number;
  attachBtfId?: number;
  kernelVersion?: number;
  /** `BPF_F_*` program flags. */
  flags?: number;
}

/** One instruction of a probe program: opcode and immediate, registers and offset zero. */
function insn(opcode: number, imm = 0): InstructionFields {
  return { opcode, dst: 0, src: 0, offset: 0, imm };
}

/** Probe programs are loaded into this kernel, so they take the host's byte order. */
const HOST_LITTLE_ENDIAN = os.endianness() === 'LE';

/** `r0 = 0; exit`. */
export const RETURN_ZERO = encodeInstructions([insn(0xb7), insn(0x95)], HOST_LITTLE_ENDIAN);

/**
 * `call helper; r0 = 0; exit`: the program a helper probe loads.
 *
 * @example
 * const insns = callHelper(1); // bpf_map_lookup_elem
 */
export function callHelper(helper: number): Uint8Array {
  return encodeInstructions([insn(0x85, helper), insn(0xb7), insn(0x95)], HOST_LITTLE_ENDIAN);
}
