/**
 * `struct perf_event_attr` (include/uapi/linux/perf_event.h, Linux 6.18) and
 * the perf constants a BPF library needs.
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';
import {
  StructLayout,
  bits,
  cstr,
  flag,
  s32,
  u16,
  u32,
  u64,
  type CStringPointer,
  type Decoded,
  type EncodedStruct,
} from '../attr/layout.js';

// ---------------------------------------------------------------------------
// Sizes

/** Size of the first published `struct perf_event_attr`. */
export const PERF_ATTR_SIZE_VER0 = 64;
/** Adds config2. */
export const PERF_ATTR_SIZE_VER1 = 72;
/** Adds branch_sample_type. */
export const PERF_ATTR_SIZE_VER2 = 80;
/** Adds sample_regs_user, sample_stack_user (and clockid). */
export const PERF_ATTR_SIZE_VER3 = 96;
/** Adds sample_regs_intr. */
export const PERF_ATTR_SIZE_VER4 = 104;
/** Adds aux_watermark (and sample_max_stack). */
export const PERF_ATTR_SIZE_VER5 = 112;
/** Adds aux_sample_size (and aux_action). */
export const PERF_ATTR_SIZE_VER6 = 120;
/** Adds sig_data. */
export const PERF_ATTR_SIZE_VER7 = 128;
/** Adds config3 (6.3): the newest size as of Linux 6.18. */
export const PERF_ATTR_SIZE_VER8 = 136;

// ---------------------------------------------------------------------------
// Constants

/** `enum perf_type_id`. */
export const PerfType = {
  PERF_TYPE_HARDWARE: 0,
  PERF_TYPE_SOFTWARE: 1,
  PERF_TYPE_TRACEPOINT: 2,
  PERF_TYPE_HW_CACHE: 3,
  PERF_TYPE_RAW: 4,
  PERF_TYPE_BREAKPOINT: 5,
} as const;

/** `enum perf_hw_id`: `config` values for PERF_TYPE_HARDWARE. */
export const PerfCountHw = {
  PERF_COUNT_HW_CPU_CYCLES: 0,
  PERF_COUNT_HW_INSTRUCTIONS: 1,
  PERF_COUNT_HW_CACHE_REFERENCES: 2,
  PERF_COUNT_HW_CACHE_MISSES: 3,
  PERF_COUNT_HW_BRANCH_INSTRUCTIONS: 4,
  PERF_COUNT_HW_BRANCH_MISSES: 5,
  PERF_COUNT_HW_BUS_CYCLES: 6,
  PERF_COUNT_HW_STALLED_CYCLES_FRONTEND: 7,
  PERF_COUNT_HW_STALLED_CYCLES_BACKEND: 8,
  PERF_COUNT_HW_REF_CPU_CYCLES: 9,
} as const;

/** `enum perf_sw_ids`: `config` values for PERF_TYPE_SOFTWARE. */
export const PerfCountSw = {
  PERF_COUNT_SW_CPU_CLOCK: 0,
  PERF_COUNT_SW_TASK_CLOCK: 1,
  PERF_COUNT_SW_PAGE_FAULTS: 2,
  PERF_COUNT_SW_CONTEXT_SWITCHES: 3,
  PERF_COUNT_SW_CPU_MIGRATIONS: 4,
  PERF_COUNT_SW_PAGE_FAULTS_MIN: 5,
  PERF_COUNT_SW_PAGE_FAULTS_MAJ: 6,
  PERF_COUNT_SW_ALIGNMENT_FAULTS: 7,
  PERF_COUNT_SW_EMULATION_FAULTS: 8,
  PERF_COUNT_SW_DUMMY: 9,
  /** The event behind BPF_MAP_TYPE_PERF_EVENT_ARRAY outputs. */
  PERF_COUNT_SW_BPF_OUTPUT: 10,
  PERF_COUNT_SW_CGROUP_SWITCHES: 11,
} as const;

/** `enum perf_event_sample_format`: `sample_type` bits. */
export const PerfSample = {
  PERF_SAMPLE_IP: 1 << 0,
  PERF_SAMPLE_TID: 1 << 1,
  PERF_SAMPLE_TIME: 1 << 2,
  PERF_SAMPLE_ADDR: 1 << 3,
  PERF_SAMPLE_READ: 1 << 4,
  PERF_SAMPLE_CALLCHAIN: 1 << 5,
  PERF_SAMPLE_ID: 1 << 6,
  PERF_SAMPLE_CPU: 1 << 7,
  PERF_SAMPLE_PERIOD: 1 << 8,
  PERF_SAMPLE_STREAM_ID: 1 << 9,
  PERF_SAMPLE_RAW: 1 << 10,
  PERF_SAMPLE_BRANCH_STACK: 1 << 11,
  PERF_SAMPLE_REGS_USER: 1 << 12,
  PERF_SAMPLE_STACK_USER: 1 << 13,
  PERF_SAMPLE_WEIGHT: 1 << 14,
  PERF_SAMPLE_DATA_SRC: 1 << 15,
  PERF_SAMPLE_IDENTIFIER: 1 << 16,
  PERF_SAMPLE_TRANSACTION: 1 << 17,
  PERF_SAMPLE_REGS_INTR: 1 << 18,
  PERF_SAMPLE_PHYS_ADDR: 1 << 19,
  PERF_SAMPLE_AUX: 1 << 20,
  PERF_SAMPLE_CGROUP: 1 << 21,
  PERF_SAMPLE_DATA_PAGE_SIZE: 1 << 22,
  PERF_SAMPLE_CODE_PAGE_SIZE: 1 << 23,
  PERF_SAMPLE_WEIGHT_STRUCT: 1 << 24,
} as const;

/** `PERF_SAMPLE_RAW`: the sample type of BPF perf event array outputs. */
export const PERF_SAMPLE_RAW = PerfSample.PERF_SAMPLE_RAW;

/** `enum perf_event_read_format`: `read_format` bits. */
export const PerfFormat = {
  PERF_FORMAT_TOTAL_TIME_ENABLED: 1 << 0,
  PERF_FORMAT_TOTAL_TIME_RUNNING: 1 << 1,
  PERF_FORMAT_ID: 1 << 2,
  PERF_FORMAT_GROUP: 1 << 3,
  PERF_FORMAT_LOST: 1 << 4,
} as const;

/** `enum perf_event_type`: `perf_event_header.type` of ring records. */
export const PerfRecord = {
  PERF_RECORD_MMAP: 1,
  PERF_RECORD_LOST: 2,
  PERF_RECORD_COMM: 3,
  PERF_RECORD_EXIT: 4,
  PERF_RECORD_THROTTLE: 5,
  PERF_RECORD_UNTHROTTLE: 6,
  PERF_RECORD_FORK: 7,
  PERF_RECORD_READ: 8,
  PERF_RECORD_SAMPLE: 9,
  PERF_RECORD_MMAP2: 10,
  PERF_RECORD_AUX: 11,
  PERF_RECORD_ITRACE_START: 12,
  PERF_RECORD_LOST_SAMPLES: 13,
  PERF_RECORD_SWITCH: 14,
  PERF_RECORD_SWITCH_CPU_WIDE: 15,
  PERF_RECORD_NAMESPACES: 16,
  PERF_RECORD_KSYMBOL: 17,
  PERF_RECORD_BPF_EVENT: 18,
  PERF_RECORD_CGROUP: 19,
  PERF_RECORD_TEXT_POKE: 20,
  PERF_RECORD_AUX_OUTPUT_HW_ID: 21,
} as const;

/** `PERF_RECORD_SAMPLE`: a sample (for BPF outputs: u32 size + raw data). */
export const PERF_RECORD_SAMPLE = PerfRecord.PERF_RECORD_SAMPLE;
/** `PERF_RECORD_LOST`: records were dropped (u64 id, u64 lost). */
export const PERF_RECORD_LOST = PerfRecord.PERF_RECORD_LOST;

/** `perf_event_open()` flags. */
export const PERF_FLAG_FD_NO_GROUP = 1 << 0;
/** `perf_event_open()` flags. */
export const PERF_FLAG_FD_OUTPUT = 1 << 1;
/** `perf_event_open()` flags: pid is a cgroup fd (per-CPU mode only). */
export const PERF_FLAG_PID_CGROUP = 1 << 2;
/** `perf_event_open()` flags: O_CLOEXEC on the new fd. */
export const PERF_FLAG_FD_CLOEXEC = 1 << 3;

/** `_IOC()` with the generic encoding (x86-64, arm64, riscv64…: dir in bits 30-31, size in 16-29). */
function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) >>> 0) + (size << 16) + (type << 8) + nr;
}
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;
const PERF_IOC_MAGIC = 0x24; // '$'

/**
 * perf event ioctl request numbers (generic `_IOC` encoding, 64-bit pointers;
 * powerpc, mips, sparc and alpha encode differently and are not covered).
 */
export const PerfEventIoc = {
  /** `_IO('$', 0)`. */
  PERF_EVENT_IOC_ENABLE: ioc(IOC_NONE, PERF_IOC_MAGIC, 0, 0),
  /** `_IO('$', 1)`. */
  PERF_EVENT_IOC_DISABLE: ioc(IOC_NONE, PERF_IOC_MAGIC, 1, 0),
  /** `_IO('$', 2)`. */
  PERF_EVENT_IOC_REFRESH: ioc(IOC_NONE, PERF_IOC_MAGIC, 2, 0),
  /** `_IO('$', 3)`. */
  PERF_EVENT_IOC_RESET: ioc(IOC_NONE, PERF_IOC_MAGIC, 3, 0),
  /** `_IOW('$', 4, __u64)`. */
  PERF_EVENT_IOC_PERIOD: ioc(IOC_WRITE, PERF_IOC_MAGIC, 4, 8),
  /** `_IO('$', 5)`. */
  PERF_EVENT_IOC_SET_OUTPUT: ioc(IOC_NONE, PERF_IOC_MAGIC, 5, 0),
  /** `_IOW('$', 6, char *)`. */
  PERF_EVENT_IOC_SET_FILTER: ioc(IOC_WRITE, PERF_IOC_MAGIC, 6, 8),
  /** `_IOR('$', 7, __u64 *)`. */
  PERF_EVENT_IOC_ID: ioc(IOC_READ, PERF_IOC_MAGIC, 7, 8),
  /** `_IOW('$', 8, __u32)`: attach a BPF program (argument: program fd). */
  PERF_EVENT_IOC_SET_BPF: ioc(IOC_WRITE, PERF_IOC_MAGIC, 8, 4),
  /** `_IOW('$', 9, __u32)`: pause (1) / resume (0) ring buffer output. */
  PERF_EVENT_IOC_PAUSE_OUTPUT: ioc(IOC_WRITE, PERF_IOC_MAGIC, 9, 4),
  /** `_IOWR('$', 10, struct perf_event_query_bpf *)`. */
  PERF_EVENT_IOC_QUERY_BPF: ioc(IOC_READ | IOC_WRITE, PERF_IOC_MAGIC, 10, 8),
  /** `_IOW('$', 11, struct perf_event_attr *)`. */
  PERF_EVENT_IOC_MODIFY_ATTRIBUTES: ioc(IOC_WRITE, PERF_IOC_MAGIC, 11, 8),
} as const;

/** `PERF_EVENT_IOC_ENABLE`. */
export const PERF_EVENT_IOC_ENABLE = PerfEventIoc.PERF_EVENT_IOC_ENABLE;
/** `PERF_EVENT_IOC_DISABLE`. */
export const PERF_EVENT_IOC_DISABLE = PerfEventIoc.PERF_EVENT_IOC_DISABLE;
/** `PERF_EVENT_IOC_SET_BPF`. */
export const PERF_EVENT_IOC_SET_BPF = PerfEventIoc.PERF_EVENT_IOC_SET_BPF;
/** `PERF_EVENT_IOC_PAUSE_OUTPUT`. */
export const PERF_EVENT_IOC_PAUSE_OUTPUT = PerfEventIoc.PERF_EVENT_IOC_PAUSE_OUTPUT;

/** Offsets of the fields of `struct perf_event_mmap_page` a ring reader uses. */
export const PerfEventMmapPage = {
  /** `version` (u32). */
  version: 0,
  /** `data_head` (u64): written by the kernel; read with acquire semantics. */
  dataHead: 1024,
  /** `data_tail` (u64): written by user space after consuming. */
  dataTail: 1032,
  /** `data_offset` (u64): where the data area starts in the mapping. */
  dataOffset: 1040,
  /** `data_size` (u64): size of the data area. */
  dataSize: 1048,
} as const;

/** Size of `struct perf_event_header` (u32 type, u16 misc, u16 size). */
export const PERF_EVENT_HEADER_SIZE = 8;

// ---------------------------------------------------------------------------
// struct perf_event_attr

/** The fields of `struct perf_event_attr` (as of Linux 6.18). */
export interface PerfEventAttrFields {
  /** `type`: one of {@link PerfType}, or a dynamic PMU type (kprobe, uprobe from sysfs). */
  type: number;
  /** `size`: defaults to the size being encoded (PERF_ATTR_SIZE_VER8 = 136). */
  size?: number;
  /** `config`: e.g. a {@link PerfCountSw} value, or a tracepoint id. */
  config?: number | bigint;
  /** `sample_period`; shares a union with sampleFreq. */
  samplePeriod?: number | bigint;
  /** `sample_freq`, with `freq`. */
  sampleFreq?: number | bigint;
  /** `sample_type`: {@link PerfSample} bits. */
  sampleType?: number | bigint;
  /** `read_format`: {@link PerfFormat} bits. */
  readFormat?: number | bigint;
  /** `disabled`: off by default. */
  disabled?: boolean;
  /** `inherit`: children inherit it. */
  inherit?: boolean;
  /** `pinned`: must always be on PMU. */
  pinned?: boolean;
  /** `exclusive`: only group on PMU. */
  exclusive?: boolean;
  /** `exclude_user`. */
  excludeUser?: boolean;
  /** `exclude_kernel`. */
  excludeKernel?: boolean;
  /** `exclude_hv`. */
  excludeHv?: boolean;
  /** `exclude_idle`. */
  excludeIdle?: boolean;
  /** `mmap`: include mmap data. */
  mmap?: boolean;
  /** `comm`: include comm data. */
  comm?: boolean;
  /** `freq`: use sample_freq, not sample_period. */
  freq?: boolean;
  /** `inherit_stat`: per task counts. */
  inheritStat?: boolean;
  /** `enable_on_exec`. */
  enableOnExec?: boolean;
  /** `task`: trace fork/exit. */
  task?: boolean;
  /** `watermark`: wake up at wakeup_watermark bytes instead of wakeup_events events. */
  watermark?: boolean;
  /** `precise_ip:2`: skid constraint, 0..3. */
  preciseIp?: number;
  /** `mmap_data`: non-exec mmap data. */
  mmapData?: boolean;
  /** `sample_id_all`. */
  sampleIdAll?: boolean;
  /** `exclude_host`. */
  excludeHost?: boolean;
  /** `exclude_guest`. */
  excludeGuest?: boolean;
  /** `exclude_callchain_kernel`. */
  excludeCallchainKernel?: boolean;
  /** `exclude_callchain_user`. */
  excludeCallchainUser?: boolean;
  /** `mmap2`. */
  mmap2?: boolean;
  /** `comm_exec`. */
  commExec?: boolean;
  /** `use_clockid`. */
  useClockid?: boolean;
  /** `context_switch`. */
  contextSwitch?: boolean;
  /** `write_backward`: write the ring buffer from end to beginning (overwritable rings). */
  writeBackward?: boolean;
  /** `namespaces`. */
  namespaces?: boolean;
  /** `ksymbol`. */
  ksymbol?: boolean;
  /** `bpf_event`. */
  bpfEvent?: boolean;
  /** `aux_output`. */
  auxOutput?: boolean;
  /** `cgroup`. */
  cgroup?: boolean;
  /** `text_poke`. */
  textPoke?: boolean;
  /** `build_id`. */
  buildId?: boolean;
  /** `inherit_thread`. */
  inheritThread?: boolean;
  /** `remove_on_exec`. */
  removeOnExec?: boolean;
  /** `sigtrap`. */
  sigtrap?: boolean;
  /** `wakeup_events`; shares a union with wakeupWatermark. */
  wakeupEvents?: number;
  /** `wakeup_watermark`, with `watermark`. */
  wakeupWatermark?: number;
  /** `bp_type`: breakpoint type. */
  bpType?: number;
  /** `bp_addr`; the union also holds kprobeFunc, uprobePath, config1. */
  bpAddr?: number | bigint;
  /** `kprobe_func`: pointer to the function name, for the kprobe PMU. */
  kprobeFunc?: CStringPointer;
  /** `uprobe_path`: pointer to the binary path, for the uprobe PMU. */
  uprobePath?: CStringPointer;
  /** `config1`. */
  config1?: number | bigint;
  /** `bp_len`; the union also holds kprobeAddr, probeOffset, config2. */
  bpLen?: number | bigint;
  /** `kprobe_addr`, when kprobe_func is NULL. */
  kprobeAddr?: number | bigint;
  /** `probe_offset`, for the kprobe / uprobe PMUs. */
  probeOffset?: number | bigint;
  /** `config2`. */
  config2?: number | bigint;
  /** `branch_sample_type` (VER2). */
  branchSampleType?: number | bigint;
  /** `sample_regs_user` (VER3). */
  sampleRegsUser?: number | bigint;
  /** `sample_stack_user` (VER3). */
  sampleStackUser?: number;
  /** `clockid` (VER3 area). */
  clockid?: number;
  /** `sample_regs_intr` (VER4). */
  sampleRegsIntr?: number | bigint;
  /** `aux_watermark` (VER5). */
  auxWatermark?: number;
  /** `sample_max_stack` (VER5 area). */
  sampleMaxStack?: number;
  /** `aux_sample_size` (VER6). */
  auxSampleSize?: number;
  /** `aux_action` (6.13); shares its word with the aux_* bits below. */
  auxAction?: number;
  /** `aux_start_paused:1` (6.13). */
  auxStartPaused?: boolean;
  /** `aux_pause:1` (6.13). */
  auxPause?: boolean;
  /** `aux_resume:1` (6.13). */
  auxResume?: boolean;
  /** `sig_data` (VER7). */
  sigData?: number | bigint;
  /** `config3` (VER8). */
  config3?: number | bigint;
}

const FLAGS = 40; // the __u64 bitfield word after read_format

/** Layout of `struct perf_event_attr` (PERF_ATTR_SIZE_VER8 = 136 bytes). */
export const perfEventAttrLayout = new StructLayout<PerfEventAttrFields>('perf_event_attr', PERF_ATTR_SIZE_VER8, {
  type: u32(0, 'type'),
  size: u32(4, 'size'),
  config: u64(8, 'config'),
  samplePeriod: u64(16, 'sample_period'),
  sampleFreq: u64(16, 'sample_freq'),
  sampleType: u64(24, 'sample_type'),
  readFormat: u64(32, 'read_format'),
  disabled: flag(FLAGS, 0, 'disabled'),
  inherit: flag(FLAGS, 1, 'inherit'),
  pinned: flag(FLAGS, 2, 'pinned'),
  exclusive: flag(FLAGS, 3, 'exclusive'),
  excludeUser: flag(FLAGS, 4, 'exclude_user'),
  excludeKernel: flag(FLAGS, 5, 'exclude_kernel'),
  excludeHv: flag(FLAGS, 6, 'exclude_hv'),
  excludeIdle: flag(FLAGS, 7, 'exclude_idle'),
  mmap: flag(FLAGS, 8, 'mmap'),
  comm: flag(FLAGS, 9, 'comm'),
  freq: flag(FLAGS, 10, 'freq'),
  inheritStat: flag(FLAGS, 11, 'inherit_stat'),
  enableOnExec: flag(FLAGS, 12, 'enable_on_exec'),
  task: flag(FLAGS, 13, 'task'),
  watermark: flag(FLAGS, 14, 'watermark'),
  preciseIp: bits(FLAGS, 15, 2, 'precise_ip'),
  mmapData: flag(FLAGS, 17, 'mmap_data'),
  sampleIdAll: flag(FLAGS, 18, 'sample_id_all'),
  excludeHost: flag(FLAGS, 19, 'exclude_host'),
  excludeGuest: flag(FLAGS, 20, 'exclude_guest'),
  excludeCallchainKernel: flag(FLAGS, 21, 'exclude_callchain_kernel'),
  excludeCallchainUser: flag(FLAGS, 22, 'exclude_callchain_user'),
  mmap2: flag(FLAGS, 23, 'mmap2'),
  commExec: flag(FLAGS, 24, 'comm_exec'),
  useClockid: flag(FLAGS, 25, 'use_clockid'),
  contextSwitch: flag(FLAGS, 26, 'context_switch'),
  writeBackward: flag(FLAGS, 27, 'write_backward'),
  namespaces: flag(FLAGS, 28, 'namespaces'),
  ksymbol: flag(FLAGS, 29, 'ksymbol'),
  bpfEvent: flag(FLAGS, 30, 'bpf_event'),
  auxOutput: flag(FLAGS, 31, 'aux_output'),
  cgroup: flag(FLAGS, 32, 'cgroup'),
  textPoke: flag(FLAGS, 33, 'text_poke'),
  buildId: flag(FLAGS, 34, 'build_id'),
  inheritThread: flag(FLAGS, 35, 'inherit_thread'),
  removeOnExec: flag(FLAGS, 36, 'remove_on_exec'),
  sigtrap: flag(FLAGS, 37, 'sigtrap'),
  wakeupEvents: u32(48, 'wakeup_events'),
  wakeupWatermark: u32(48, 'wakeup_watermark'),
  bpType: u32(52, 'bp_type'),
  bpAddr: u64(56, 'bp_addr'),
  kprobeFunc: cstr(56, 'kprobe_func'),
  uprobePath: cstr(56, 'uprobe_path'),
  config1: u64(56, 'config1'),
  bpLen: u64(64, 'bp_len'),
  kprobeAddr: u64(64, 'kprobe_addr'),
  probeOffset: u64(64, 'probe_offset'),
  config2: u64(64, 'config2'),
  branchSampleType: u64(72, 'branch_sample_type'),
  sampleRegsUser: u64(80, 'sample_regs_user'),
  sampleStackUser: u32(88, 'sample_stack_user'),
  clockid: s32(92, 'clockid'),
  sampleRegsIntr: u64(96, 'sample_regs_intr'),
  auxWatermark: u32(104, 'aux_watermark'),
  sampleMaxStack: u16(108, 'sample_max_stack'),
  auxSampleSize: u32(112, 'aux_sample_size'),
  auxAction: u32(116, 'aux_action'),
  auxStartPaused: flag(116, 0, 'aux_start_paused', 4),
  auxPause: flag(116, 1, 'aux_pause', 4),
  auxResume: flag(116, 2, 'aux_resume', 4),
  sigData: u64(120, 'sig_data'),
  config3: u64(128, 'config3'),
});

/** A decoded `struct perf_event_attr`: 64-bit fields and pointers are bigints. */
export type PerfEventAttr = Decoded<PerfEventAttrFields>;

const VALID_SIZES: readonly number[] = [
  PERF_ATTR_SIZE_VER0,
  PERF_ATTR_SIZE_VER1,
  PERF_ATTR_SIZE_VER2,
  PERF_ATTR_SIZE_VER3,
  PERF_ATTR_SIZE_VER4,
  PERF_ATTR_SIZE_VER5,
  PERF_ATTR_SIZE_VER6,
  PERF_ATTR_SIZE_VER7,
  PERF_ATTR_SIZE_VER8,
];

/**
 * Encodes a `struct perf_event_attr` of `size` bytes (one of
 * PERF_ATTR_SIZE_VER0..VER8; default VER8 = 136). The `size` field defaults
 * to the encoded size. Setting a field that lies beyond `size` throws.
 * `kprobeFunc` / `uprobePath` given as strings or buffers are reported in
 * `ptrOffsets` / `ptrBuffers` for the native side to patch.
 *
 * @example
 * const { bytes } = encodePerfEventAttr({
 *   type: PerfType.PERF_TYPE_SOFTWARE, config: PerfCountSw.PERF_COUNT_SW_BPF_OUTPUT,
 *   sampleType: PERF_SAMPLE_RAW, samplePeriod: 1, wakeupEvents: 1,
 * });
 * bytes.byteLength; // 136
 */
export function encodePerfEventAttr(fields: PerfEventAttrFields, size: number = PERF_ATTR_SIZE_VER8): EncodedStruct {
  if (!VALID_SIZES.includes(size)) {
    throw new InvalidArgumentError('size', `one of PERF_ATTR_SIZE_VER0..VER8 (${VALID_SIZES.join(', ')})`, size);
  }
  const full = perfEventAttrLayout.encode({ ...fields, size: fields.size ?? size });
  const values = fields as unknown as Record<string, unknown>;
  for (const [key, f] of perfEventAttrLayout.ordered) {
    if (values[key] !== undefined && f.offset >= size) {
      throw new InvalidArgumentError(
        key,
        `to be left out with a ${size}-byte perf_event_attr (${f.uapi} is at offset ${f.offset})`,
        values[key],
      );
    }
  }
  return { bytes: full.bytes.slice(0, size), ptrOffsets: full.ptrOffsets, ptrBuffers: full.ptrBuffers };
}

/**
 * Decodes a `struct perf_event_attr` (shorter versions are zero-extended).
 *
 * @example
 * const { bytes } = encodePerfEventAttr({ type: PerfType.PERF_TYPE_SOFTWARE, config: PerfCountSw.PERF_COUNT_SW_BPF_OUTPUT, sampleType: PERF_SAMPLE_RAW });
 * decodePerfEventAttr(bytes).sampleType; // 1024n
 */
export function decodePerfEventAttr(bytes: Uint8Array): PerfEventAttr {
  if (bytes.byteLength >= PERF_ATTR_SIZE_VER8) return perfEventAttrLayout.decode(bytes);
  const out = new Uint8Array(PERF_ATTR_SIZE_VER8);
  out.set(bytes);
  return perfEventAttrLayout.decode(out);
}
