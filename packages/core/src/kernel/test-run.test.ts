import { describe, expect, it } from 'vitest';
import { ProgramType } from './program-type.js';
import { TestRunFlag, testRunRule, testRunUnsupported } from './test-run.js';

describe('test run rules', () => {
  it('every program type is either test-run by a rule or known not to be (UNSPEC aside)', () => {
    for (const [name, type] of Object.entries(ProgramType)) {
      if (type === ProgramType.UNSPEC) continue;
      const ruled = testRunRule(type) !== undefined;
      expect(ruled !== testRunUnsupported(type), name).toBe(true);
    }
    // A type newer than the table: neither (passed to the kernel as given).
    expect(testRunRule(999)).toBeUndefined();
    expect(testRunUnsupported(999)).toBe(false);
  });

  it('context-only types take no data and no repeat; packet types take both', () => {
    for (const type of [ProgramType.SYSCALL, ProgramType.RAW_TRACEPOINT]) {
      expect(testRunRule(type)).toMatchObject({ data: 'none', dataOut: 'none', repeat: false, duration: false });
    }
    expect(testRunRule(ProgramType.SYSCALL)?.contextOut).toBe('in-place');
    expect(testRunRule(ProgramType.RAW_TRACEPOINT)).toMatchObject({ flags: TestRunFlag.RUN_ON_CPU, cpu: true, contextOut: 'none' });
    expect(testRunRule(ProgramType.XDP)).toMatchObject({
      data: 'required',
      minDataSize: 14,
      flags: TestRunFlag.XDP_LIVE_FRAMES,
      batchSize: true,
    });
    expect(testRunRule(ProgramType.SCHED_CLS)).toMatchObject({
      dataOut: 'packet',
      contextOut: 'copy',
      flags: TestRunFlag.SKB_CHECKSUM_COMPLETE,
    });
    expect(testRunRule(ProgramType.SK_LOOKUP)).toMatchObject({ data: 'none', context: 'required' });
    expect(testRunRule(ProgramType.NETFILTER)).toMatchObject({ minDataSize: 20, dataOut: 'none', contextOut: 'none' });
    expect(testRunUnsupported(ProgramType.LWT_SEG6LOCAL)).toBe(true);
  });

  it('flag values are the uapi BPF_F_TEST_* bits', () => {
    expect(TestRunFlag).toEqual({ RUN_ON_CPU: 1, XDP_LIVE_FRAMES: 2, SKB_CHECKSUM_COMPLETE: 4 });
  });
});
