import { OwnedHandle } from '@bpfkit/core';
import { BpfStatsType, enableStats, native } from '@bpfkit/syscalls';

/**
 * Run statistics switched on (BPF_ENABLE_STATS, 5.8): while any such handle
 * is open, the kernel counts every program's runs and run time, which
 * `info()` reports as `runCount` and `runTimeNs`. Closing it switches
 * counting off again (unless sysctl kernel.bpf_stats_enabled is set, or
 * another holder keeps it on).
 *
 * @example
 * using stats = enableRunStats();
 * prog.testRun({ data: packet, repeat: 100 });
 * prog.info().runCount; // >= 100n
 */
export class RunStats extends OwnedHandle {
  constructor(fd: number) {
    super('run statistics', () => native.close(fd));
  }
}

/**
 * Switches on program run statistics for as long as the returned handle is open.
 *
 * @example
 * using stats = enableRunStats();
 */
export function enableRunStats(): RunStats {
  return new RunStats(enableStats(BpfStatsType.BPF_STATS_RUN_TIME, { subject: 'program run statistics' }));
}
