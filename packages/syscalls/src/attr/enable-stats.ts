/**
 * The `bpf_attr.enable_stats` member of BPF_ENABLE_STATS.
 *
 * @module
 */
import { StructLayout, u32, type EncodedAttr } from './layout.js';

/** The `bpf_attr.enable_stats` member of `BPF_ENABLE_STATS` (5.8). */
export interface EnableStatsAttr {
  /** `enable_stats.type`: one of {@link BpfStatsType} (BPF_STATS_RUN_TIME). */
  type: number;
}

/** Layout of the enable_stats member; size 4. */
export const enableStatsLayout = new StructLayout<EnableStatsAttr>('bpf_attr (BPF_ENABLE_STATS)', 4, {
  type: u32(0, 'enable_stats.type'),
});

/**
 * Encodes the `bpf_attr` of BPF_ENABLE_STATS.
 *
 * @example
 * encodeEnableStatsAttr({ type: BpfStatsType.BPF_STATS_RUN_TIME });
 */
export function encodeEnableStatsAttr(fields: EnableStatsAttr): EncodedAttr {
  return enableStatsLayout.encodeAttr(fields);
}
