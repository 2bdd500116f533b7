/**
 * The `bpf_attr.test` member of BPF_PROG_TEST_RUN (alias BPF_PROG_RUN).
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';
import { StructLayout, ptr, u32, type EncodedAttr, type Pointer } from './layout.js';

/** The `bpf_attr.test` member of `BPF_PROG_TEST_RUN` (4.12). */
export interface ProgTestRunAttr {
  /** `test.prog_fd`. */
  progFd: number;
  /** `test.retval`: output: the program's return value. */
  retval?: number;
  /** `test.data_size_in`: defaults to `dataIn.byteLength`. */
  dataSizeIn?: number;
  /** `test.data_size_out`: in: capacity of data_out (defaults to its length); out: bytes written (ENOSPC if too small). */
  dataSizeOut?: number;
  /** `test.data_in`: the packet / input data. */
  dataIn?: Pointer;
  /** `test.data_out`: receives the (possibly modified) data. */
  dataOut?: Pointer;
  /** `test.repeat`: run this many times (timing). */
  repeat?: number;
  /** `test.duration`: output: average run time in ns. */
  duration?: number;
  /** `test.ctx_size_in`: defaults to `ctxIn.byteLength` (5.2). */
  ctxSizeIn?: number;
  /** `test.ctx_size_out`: in: capacity of ctx_out (defaults to its length); out: bytes written (5.2). */
  ctxSizeOut?: number;
  /** `test.ctx_in`: the program context, e.g. `struct __sk_buff` (5.2); a syscall program's run writes its context back here. */
  ctxIn?: Pointer;
  /** `test.ctx_out`: receives the context after the run (5.2). */
  ctxOut?: Pointer;
  /** `test.flags`: BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES… (5.10). */
  flags?: number;
  /** `test.cpu`: the CPU to run on, with BPF_F_TEST_RUN_ON_CPU (5.10). */
  cpu?: number;
  /** `test.batch_size`: XDP live frames batch size (5.18). */
  batchSize?: number;
}

/** Layout of the test member; size = offsetofend(test.batch_size) = 76. */
export const progTestRunLayout = new StructLayout<ProgTestRunAttr>('bpf_attr (BPF_PROG_TEST_RUN)', 76, {
  progFd: u32(0, 'test.prog_fd'),
  retval: u32(4, 'test.retval'),
  dataSizeIn: u32(8, 'test.data_size_in'),
  dataSizeOut: u32(12, 'test.data_size_out'),
  dataIn: ptr(16, 'test.data_in'),
  dataOut: ptr(24, 'test.data_out'),
  repeat: u32(32, 'test.repeat'),
  duration: u32(36, 'test.duration'),
  ctxSizeIn: u32(40, 'test.ctx_size_in'),
  ctxSizeOut: u32(44, 'test.ctx_size_out'),
  ctxIn: ptr(48, 'test.ctx_in'),
  ctxOut: ptr(56, 'test.ctx_out'),
  flags: u32(64, 'test.flags'),
  cpu: u32(68, 'test.cpu'),
  batchSize: u32(72, 'test.batch_size'),
});

/**
 * Encodes the `bpf_attr` of BPF_PROG_TEST_RUN; input and output sizes left
 * out are taken from the buffers. Read the results afterwards with
 * `progTestRunLayout.read(attr, 'retval')` etc.
 *
 * A size given next to a buffer may not exceed that buffer: the kernel
 * would read past an input buffer, or write past an output buffer, of this
 * process. A size with no buffer (`dataSizeOut` with `dataOut: null`) is
 * passed as given: the kernel takes `data_size_out` as a hint then.
 *
 * @throws InvalidArgumentError when a size exceeds its buffer
 * @example
 * encodeProgTestRunAttr({ progFd, dataIn: new Uint8Array(64), repeat: 1 });
 */
export function encodeProgTestRunAttr(fields: ProgTestRunAttr): EncodedAttr {
  const size = (p: Pointer | undefined, given: number | undefined, name: keyof ProgTestRunAttr, buffer: string): number | undefined => {
    if (!(p instanceof Uint8Array)) return given;
    if (given === undefined) return p.byteLength;
    if (Number.isInteger(given) && given >= 0 && given > p.byteLength) {
      throw new InvalidArgumentError(`test.${String(name)}`, `at most the ${p.byteLength} bytes of ${buffer}`, given);
    }
    return given;
  };
  return progTestRunLayout.encodeAttr({
    ...fields,
    dataSizeIn: size(fields.dataIn, fields.dataSizeIn, 'dataSizeIn', 'dataIn'),
    dataSizeOut: size(fields.dataOut, fields.dataSizeOut, 'dataSizeOut', 'dataOut'),
    ctxSizeIn: size(fields.ctxIn, fields.ctxSizeIn, 'ctxSizeIn', 'ctxIn'),
    ctxSizeOut: size(fields.ctxOut, fields.ctxSizeOut, 'ctxSizeOut', 'ctxOut'),
  });
}
