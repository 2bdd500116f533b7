export { PerfRing } from './perf-ring.js';
export type { PerfRingOptions } from './perf-ring.js';
export { walkPerfRecords } from './records.js';
export { EventReaderBase } from './reader-base.js';
export type { InPlaceCallback, RawRecordCallback } from './reader-base.js';
export { RingBufferReader, UserRingBuffer, BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ } from './ringbuf/index.js';
export type { InPlaceRecordCallback, RingBufferMapRef } from './ringbuf/index.js';
export { PerfEventArrayReader } from './perf-array/index.js';
export type { PerfEventArrayMap, PerfEventArrayStats } from './perf-array/index.js';
