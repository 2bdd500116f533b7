/**
 * The few kernel operations the feature probes need, in errno form (a probe
 * wants the errno, not an exception). Implemented over @bpfkit/syscalls in
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

/** Encodes eBPF instructions for probes: `{ code, dst, src, off, imm }` each. */
export function encodeInstructions(insns: readonly { code: number; dst?: number; src?: number; off?: number; imm?: number }[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach((insn, i) => {
    const p = i * 8;
    out[p] = insn.code;
    // Register nibbles: dst in the low 4 bits, src in the high 4 bits (on little-endian hosts).
    out[p + 1] = ((insn.src ?? 0) << 4) | (insn.dst ?? 0);
    view.setInt16(p + 2, insn.off ?? 0, true);
    view.setInt32(p + 4, insn.imm ?? 0, true);
  });
  return out;
}

/** `r0 = 0; exit`. */
export const RETURN_ZERO = encodeInstructions([{ code: 0xb7 }, { code: 0x95 }]);

/** `call helper; r0 = 0; exit`. */
export function callHelper(helper: number): Uint8Array {
  return encodeInstructions([{ code: 0x85, imm: helper }, { code: 0xb7 }, { code: 0x95 }]);
}
