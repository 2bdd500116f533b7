/**
 * Typed wrapper for BPF_BTF_LOAD.
 *
 * @module
 */
import { BpfError, MapFlags } from '@bpfkit/core';
import { BpfCommand, bpfCommandName } from '../commands.js';
import { readCString } from '../attr/layout.js';
import { encodeBtfLoadAttr } from '../attr/btf.js';
import { tryBpf, type BpfCallContext } from './call.js';

/** Options of {@link btfLoad}. */
export interface BtfLoadOptions {
  /** A buffer for the BTF verifier log (level 1), or a buffer and a level. */
  log?: Uint8Array | { buffer: Uint8Array; level?: number };
  /** `btf_flags` (BPF_F_TOKEN_FD is added when tokenFd is given). */
  flags?: number;
  /** BPF token fd (6.9). */
  tokenFd?: number;
}

/**
 * The error of a rejected BTF load: a `BpfError` with the BTF
 * verifier's log when one was requested.
 */
export class BtfLoadError extends BpfError {
  override readonly name: string = 'BtfLoadError';
  /** The BTF verifier log ('' when none was requested). */
  readonly log: string;
  constructor(errno: number, log: string, ctx: BpfCallContext) {
    const last = log
      .trim()
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .pop();
    super(errno, {
      syscall: 'bpf',
      command: bpfCommandName(BpfCommand.BPF_BTF_LOAD),
      subject: ctx.subject,
      hint: ctx.hint ?? (last ? `BTF verifier: ${last.trim()}` : undefined),
    });
    this.log = log;
  }
}

/**
 * BPF_BTF_LOAD: loads raw BTF; returns the BTF object fd.
 *
 * @throws BtfLoadError with the BTF verifier log when it rejects the data
 * @example
 * declare const rawBtf: Uint8Array; // encoded BTF: a header, types and strings
 * const btfFd = btfLoad(rawBtf, { log: new Uint8Array(65536) });
 */
export function btfLoad(btf: Uint8Array, opts: BtfLoadOptions = {}, ctx: BpfCallContext = {}): number {
  const log = opts.log instanceof Uint8Array ? { buffer: opts.log } : opts.log;
  const flags = opts.tokenFd === undefined ? opts.flags : (opts.flags ?? 0) | MapFlags.TOKEN_FD;
  const enc = encodeBtfLoadAttr({
    btf,
    btfLogBuf: log?.buffer,
    btfLogLevel: log ? (log.level ?? 1) : undefined,
    btfFlags: flags,
    btfTokenFd: opts.tokenFd,
  });
  const r = tryBpf(BpfCommand.BPF_BTF_LOAD, enc);
  if (r >= 0) return r;
  throw new BtfLoadError(-r, log ? readCString(log.buffer) : '', ctx);
}
