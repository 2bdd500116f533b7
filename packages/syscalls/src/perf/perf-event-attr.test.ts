import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import {
  PERF_ATTR_SIZE_VER0,
  PERF_ATTR_SIZE_VER5,
  PERF_ATTR_SIZE_VER8,
  PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_ENABLE,
  PERF_EVENT_IOC_PAUSE_OUTPUT,
  PERF_EVENT_IOC_SET_BPF,
  PERF_FLAG_FD_CLOEXEC,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PERF_SAMPLE_RAW,
  PerfCountSw,
  PerfEventIoc,
  PerfType,
  decodePerfEventAttr,
  encodePerfEventAttr,
} from './perf-event-attr.js';
import { HOST_LITTLE_ENDIAN } from '../attr/layout.js';
import { cstrAt, rd16, rd32, rd64, rds32 } from '../test-support/bytes.js';

// Offsets below are written from include/uapi/linux/perf_event.h (Linux 6.18).

describe('struct perf_event_attr', () => {
  it('puts every field at its uapi offset, 136 bytes for VER8', () => {
    const enc = encodePerfEventAttr({
      type: 1,
      config: 2,
      samplePeriod: 3,
      sampleType: 4,
      readFormat: 5,
      wakeupEvents: 6,
      bpType: 7,
      config1: 8,
      config2: 9,
      branchSampleType: 10,
      sampleRegsUser: 11,
      sampleStackUser: 12,
      clockid: -13,
      sampleRegsIntr: 14,
      auxWatermark: 15,
      sampleMaxStack: 16,
      auxSampleSize: 17,
      auxAction: 18,
      sigData: 19,
      config3: 20,
    });
    const a = enc.bytes;
    expect(a.byteLength).toBe(136);
    expect(rd32(a, 0)).toBe(1);
    expect(rd32(a, 4)).toBe(136);
    expect(rd64(a, 8)).toBe(2n);
    expect(rd64(a, 16)).toBe(3n);
    expect(rd64(a, 24)).toBe(4n);
    expect(rd64(a, 32)).toBe(5n);
    expect(rd64(a, 40)).toBe(0n);
    expect(rd32(a, 48)).toBe(6);
    expect(rd32(a, 52)).toBe(7);
    expect(rd64(a, 56)).toBe(8n);
    expect(rd64(a, 64)).toBe(9n);
    expect(rd64(a, 72)).toBe(10n);
    expect(rd64(a, 80)).toBe(11n);
    expect(rd32(a, 88)).toBe(12);
    expect(rds32(a, 92)).toBe(-13);
    expect(rd64(a, 96)).toBe(14n);
    expect(rd32(a, 104)).toBe(15);
    expect(rd16(a, 108)).toBe(16);
    expect(rd16(a, 110)).toBe(0);
    expect(rd32(a, 112)).toBe(17);
    expect(rd32(a, 116)).toBe(18);
    expect(rd64(a, 120)).toBe(19n);
    expect(rd64(a, 128)).toBe(20n);
  });

  const bitNames = [
    'disabled',
    'inherit',
    'pinned',
    'exclusive',
    'excludeUser',
    'excludeKernel',
    'excludeHv',
    'excludeIdle',
    'mmap',
    'comm',
    'freq',
    'inheritStat',
    'enableOnExec',
    'task',
    'watermark',
    null,
    null,
    'mmapData',
    'sampleIdAll',
    'excludeHost',
    'excludeGuest',
    'excludeCallchainKernel',
    'excludeCallchainUser',
    'mmap2',
    'commExec',
    'useClockid',
    'contextSwitch',
    'writeBackward',
    'namespaces',
    'ksymbol',
    'bpfEvent',
    'auxOutput',
    'cgroup',
    'textPoke',
    'buildId',
    'inheritThread',
    'removeOnExec',
    'sigtrap',
  ] as const;
  const bitOf = (n: number, width = 1): bigint => (HOST_LITTLE_ENDIAN ? 1n << BigInt(n) : 1n << BigInt(64 - n - width));

  it('puts each flag bit of the word at 40 in declaration order', () => {
    bitNames.forEach((name, n) => {
      if (name === null) return;
      const a = encodePerfEventAttr({ type: 1, [name]: true }).bytes;
      expect(rd64(a, 40), name).toBe(bitOf(n));
    });
  });

  it('precise_ip is the 2-bit field at bits 15-16', () => {
    const a = encodePerfEventAttr({ type: 0, preciseIp: 3 }).bytes;
    expect(rd64(a, 40)).toBe(HOST_LITTLE_ENDIAN ? 3n << 15n : 3n << 47n);
    expect(() => encodePerfEventAttr({ type: 0, preciseIp: 4 })).toThrow(/preciseIp/);
  });

  it('aux_start_paused / aux_pause / aux_resume are bits 0-2 of aux_action at 116', () => {
    const a = encodePerfEventAttr({ type: 0, auxStartPaused: true, auxResume: true }).bytes;
    expect(rd32(a, 116)).toBe(HOST_LITTLE_ENDIAN ? 0b101 : 0xa000_0000);
  });

  it('unions: sample_freq at 16, wakeup_watermark at 48, kprobe_func / uprobe_path pointers at 56, probe_offset at 64', () => {
    const a = encodePerfEventAttr({ type: 6, sampleFreq: 99, freq: true, wakeupWatermark: 4096, watermark: true }).bytes;
    expect(rd64(a, 16)).toBe(99n);
    expect(rd32(a, 48)).toBe(4096);
    const k = encodePerfEventAttr({ type: 6, kprobeFunc: 'do_sys_open', probeOffset: 4 });
    expect(cstrAt(k, 56)).toBe('do_sys_open');
    expect(rd64(k.bytes, 64)).toBe(4n);
    expect(() => encodePerfEventAttr({ type: 6, kprobeFunc: 'x', config1: 1 })).toThrow(/share a union/);
  });

  it('encodes older sizes and refuses fields beyond them', () => {
    const a = encodePerfEventAttr({ type: 1, config: 1 }, PERF_ATTR_SIZE_VER0).bytes;
    expect(a.byteLength).toBe(64);
    expect(rd32(a, 4)).toBe(64);
    expect(encodePerfEventAttr({ type: 1, auxWatermark: 1 }, PERF_ATTR_SIZE_VER5).bytes.byteLength).toBe(112);
    expect(() => encodePerfEventAttr({ type: 1, config3: 1 }, PERF_ATTR_SIZE_VER5)).toThrow(InvalidArgumentError);
    expect(() => encodePerfEventAttr({ type: 1 }, 100)).toThrow(/PERF_ATTR_SIZE_VER0/);
  });

  it('decodes what it encodes', () => {
    const fields = {
      type: PerfType.PERF_TYPE_SOFTWARE,
      config: PerfCountSw.PERF_COUNT_SW_BPF_OUTPUT,
      sampleType: PERF_SAMPLE_RAW,
      samplePeriod: 1,
      wakeupEvents: 1,
      writeBackward: true,
    };
    const back = decodePerfEventAttr(encodePerfEventAttr(fields).bytes);
    expect(back).toMatchObject({
      type: 1,
      size: PERF_ATTR_SIZE_VER8,
      config: 10n,
      sampleType: 1024n,
      samplePeriod: 1n,
      wakeupEvents: 1,
      writeBackward: true,
      disabled: false,
    });
    expect(decodePerfEventAttr(encodePerfEventAttr({ type: 2 }, PERF_ATTR_SIZE_VER0).bytes).size).toBe(64);
  });
});

describe('perf constants', () => {
  it('matches the uapi values', () => {
    expect(PerfType).toMatchObject({ PERF_TYPE_HARDWARE: 0, PERF_TYPE_SOFTWARE: 1, PERF_TYPE_TRACEPOINT: 2, PERF_TYPE_BREAKPOINT: 5 });
    expect(PerfCountSw.PERF_COUNT_SW_CPU_CLOCK).toBe(0);
    expect(PerfCountSw.PERF_COUNT_SW_BPF_OUTPUT).toBe(10);
    expect(PERF_SAMPLE_RAW).toBe(0x400);
    expect(PERF_RECORD_SAMPLE).toBe(9);
    expect(PERF_RECORD_LOST).toBe(2);
    expect(PERF_FLAG_FD_CLOEXEC).toBe(8);
  });

  it('has the generic _IOC request numbers', () => {
    expect(PERF_EVENT_IOC_ENABLE).toBe(0x2400);
    expect(PERF_EVENT_IOC_DISABLE).toBe(0x2401);
    expect(PERF_EVENT_IOC_SET_BPF).toBe(0x40042408);
    expect(PERF_EVENT_IOC_PAUSE_OUTPUT).toBe(0x40042409);
    expect(PerfEventIoc.PERF_EVENT_IOC_ID).toBe(0x80082407);
    expect(PerfEventIoc.PERF_EVENT_IOC_QUERY_BPF).toBe(0xc008240a);
    expect(PerfEventIoc.PERF_EVENT_IOC_PERIOD).toBe(0x40082404);
  });
});
