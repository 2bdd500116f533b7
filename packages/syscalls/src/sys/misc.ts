/**
 * Typed wrappers for BPF_ENABLE_STATS and BPF_TOKEN_CREATE.
 *
 * @module
 */
import { BpfCommand } from '../commands.js';
import { encodeEnableStatsAttr } from '../attr/enable-stats.js';
import { encodeTokenCreateAttr } from '../attr/token.js';
import { callBpf, type BpfCallContext } from './call.js';

/**
 * BPF_ENABLE_STATS (5.8): turns on run-time statistics (run_time_ns,
 * run_cnt in `bpf_prog_info`) while the returned fd stays open.
 *
 * @example
 * const statsFd = enableStats(BpfStatsType.BPF_STATS_RUN_TIME);
 */
export function enableStats(type: number, ctx?: BpfCallContext): number {
  return callBpf(BpfCommand.BPF_ENABLE_STATS, encodeEnableStatsAttr({ type }), ctx);
}

/**
 * BPF_TOKEN_CREATE (6.9): creates a BPF token from a bpffs mounted with
 * delegation options; returns the token fd.
 *
 * @example
 * const bpffsFd = fs.openSync('/sys/fs/bpf', 'r'); // a bpffs mounted with delegation options
 * const tokenFd = tokenCreate(bpffsFd);
 */
export function tokenCreate(bpffsFd: number, flags = 0, ctx?: BpfCallContext): number {
  return callBpf(BpfCommand.BPF_TOKEN_CREATE, encodeTokenCreateAttr({ bpffsFd, flags }), ctx);
}
