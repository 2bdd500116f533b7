export { RingBufferReader } from './reader.js';
export type { InPlaceRecordCallback } from './reader.js';
export { UserRingBuffer } from './user-ringbuf.js';
export { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ } from './shared.js';
export type { RingBufferMapRef } from './shared.js';
