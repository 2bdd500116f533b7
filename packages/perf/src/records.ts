/**
 * Walks the records of a perf ring's data area between `tail` and `head`
 * (byte counters that only grow; the data area is a power of two). A record
 * that wraps past the end of the area is stitched into a contiguous copy;
 * others are handed out as views of the mapping, valid until the tail moves.
 *
 * Each record starts with `struct perf_event_header` { u32 type; u16 misc;
 * u16 size } where size includes the header.
 *
 * @returns the new tail (head, or where a malformed record stopped the walk).
 * @example
 * declare const data: Uint8Array, oldTail: bigint, head: bigint; // the ring's data area, data_tail, data_head
 * const tail = walkPerfRecords(data, oldTail, head, true, (type, misc, rec) => console.log(type, rec.byteLength));
 */
export function walkPerfRecords(
  data: Uint8Array,
  tail: bigint,
  head: bigint,
  littleEndian: boolean,
  onRecord: (type: number, misc: number, record: Uint8Array) => void,
): bigint {
  const size = BigInt(data.byteLength);
  const mask = size - 1n;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = new Uint8Array(8);
  const headerView = new DataView(header.buffer);
  while (tail < head) {
    const start = Number(tail & mask);
    // The 8-byte header itself may wrap (records are 8-byte aligned, so in practice it does not).
    let h: DataView;
    let at: number;
    if (start + 8 <= data.byteLength) {
      h = view;
      at = start;
    } else {
      for (let i = 0; i < 8; i++) header[i] = data[(start + i) % data.byteLength]!;
      h = headerView;
      at = 0;
    }
    const type = h.getUint32(at, littleEndian);
    const misc = h.getUint16(at + 4, littleEndian);
    const recordSize = h.getUint16(at + 6, littleEndian);
    if (recordSize < 8 || BigInt(recordSize) > head - tail) break; // torn or corrupt: stop, keep the rest for later
    let record: Uint8Array;
    if (start + recordSize <= data.byteLength) {
      record = data.subarray(start, start + recordSize);
    } else {
      record = new Uint8Array(recordSize);
      const first = data.byteLength - start;
      record.set(data.subarray(start), 0);
      record.set(data.subarray(0, recordSize - first), first);
    }
    onRecord(type, misc, record);
    tail += BigInt(recordSize);
  }
  return tail;
}
