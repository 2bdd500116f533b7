import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import {
  encodeMapBatchAttr,
  encodeMapCreateAttr,
  encodeMapElemAttr,
  encodeMapFreezeAttr,
  encodeMapGetNextKeyAttr,
  mapBatchLayout,
} from './map.js';
import { HOST_LITTLE_ENDIAN } from './layout.js';
import { buf, ptrAt, rd32, rd64, rds32, str } from '../test-support/bytes.js';

// Offsets below are written from include/uapi/linux/bpf.h (Linux 6.18), not from the layout tables.

describe('BPF_MAP_CREATE attr', () => {
  it('puts every field at its uapi offset, size 92', () => {
    const hash = buf(32, 7);
    const enc = encodeMapCreateAttr({
      mapType: 1,
      keySize: 2,
      valueSize: 3,
      maxEntries: 4,
      mapFlags: 5,
      innerMapFd: 6,
      numaNode: 7,
      mapName: 'name_15_bytes__',
      mapIfindex: 8,
      btfFd: 9,
      btfKeyTypeId: 10,
      btfValueTypeId: 11,
      btfVmlinuxValueTypeId: 12,
      mapExtra: 0x1122334455667788n,
      valueTypeBtfObjFd: -13,
      mapTokenFd: 14,
      exclProgHash: hash,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(92);
    expect(rd32(a, 0)).toBe(1);
    expect(rd32(a, 4)).toBe(2);
    expect(rd32(a, 8)).toBe(3);
    expect(rd32(a, 12)).toBe(4);
    expect(rd32(a, 16)).toBe(5);
    expect(rd32(a, 20)).toBe(6);
    expect(rd32(a, 24)).toBe(7);
    expect(str(a, 28, 16)).toBe('name_15_bytes__');
    expect(a[43]).toBe(0);
    expect(rd32(a, 44)).toBe(8);
    expect(rd32(a, 48)).toBe(9);
    expect(rd32(a, 52)).toBe(10);
    expect(rd32(a, 56)).toBe(11);
    expect(rd32(a, 60)).toBe(12);
    expect(rd64(a, 64)).toBe(0x1122334455667788n);
    expect(rds32(a, 72)).toBe(-13);
    expect(rds32(a, 76)).toBe(14);
    expect(ptrAt(enc, 80)).toBe(hash);
    expect(rd64(a, 80)).toBe(0n); // patched by the native side
    expect(rd32(a, 88)).toBe(32); // excl_prog_hash_size defaults to the hash length
    expect(enc.ptrOffsets).toEqual([80]);
  });

  it('leaves unset fields zero and reports no pointers', () => {
    const enc = encodeMapCreateAttr({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(enc.ptrOffsets).toEqual([]);
    expect(enc.ptrBuffers).toEqual([]);
    expect([...enc.attr.subarray(16)].every((b) => b === 0)).toBe(true);
  });

  it('rejects a name longer than 15 bytes and out-of-range numbers', () => {
    expect(() => encodeMapCreateAttr({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'x'.repeat(16) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeMapCreateAttr({ mapType: 1, keySize: -1, valueSize: 4, maxEntries: 1 })).toThrow(/keySize/);
    expect(() => encodeMapCreateAttr({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2 ** 32 })).toThrow(/maxEntries/);
    expect(() => encodeMapCreateAttr({ mapType: 1.5, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/mapType/);
  });
});

describe('BPF_MAP_*_ELEM attr', () => {
  it('lookup/update/delete: map_fd 0, key 8, value 16, flags 24, size 32', () => {
    const key = buf(4, 1);
    const value = buf(8, 2);
    const enc = encodeMapElemAttr({ mapFd: 42, key, value, flags: 0x1_0000_0002n });
    expect(enc.attr.byteLength).toBe(32);
    expect(rd32(enc.attr, 0)).toBe(42);
    expect(rd32(enc.attr, 4)).toBe(0);
    expect(ptrAt(enc, 8)).toBe(key);
    expect(ptrAt(enc, 16)).toBe(value);
    expect(rd64(enc.attr, 24)).toBe(0x1_0000_0002n);
  });

  it('a null key writes NULL and is not reported', () => {
    const value = buf(8);
    const enc = encodeMapElemAttr({ mapFd: 3, key: null, value });
    expect(enc.ptrOffsets).toEqual([16]);
    expect(rd64(enc.attr, 8)).toBe(0n);
  });

  it('a bigint pointer is written as a raw address', () => {
    const enc = encodeMapElemAttr({ mapFd: 3, key: 0xdead_beefn, value: buf(4) });
    expect(rd64(enc.attr, 8)).toBe(0xdead_beefn);
    expect(enc.ptrOffsets).toEqual([16]);
  });

  it('get next key: next_key shares offset 16 with value', () => {
    const key = buf(4);
    const nextKey = buf(4);
    const enc = encodeMapGetNextKeyAttr({ mapFd: 5, key, nextKey });
    expect(enc.attr.byteLength).toBe(24);
    expect(rd32(enc.attr, 0)).toBe(5);
    expect(ptrAt(enc, 8)).toBe(key);
    expect(ptrAt(enc, 16)).toBe(nextKey);
  });

  it('freeze: map_fd only, size 4', () => {
    const enc = encodeMapFreezeAttr({ mapFd: 77 });
    expect(enc.attr.byteLength).toBe(4);
    expect(rd32(enc.attr, 0)).toBe(77);
  });
});

describe('BPF_MAP_*_BATCH attr', () => {
  it('puts every field of bpf_attr.batch at its offset, size 56', () => {
    const [inB, outB, keys, values] = [buf(4), buf(4), buf(16), buf(32)];
    const enc = encodeMapBatchAttr({
      inBatch: inB,
      outBatch: outB,
      keys,
      values,
      count: 4,
      mapFd: 9,
      elemFlags: 4,
      flags: 0xabcdn,
    });
    expect(enc.attr.byteLength).toBe(56);
    expect(ptrAt(enc, 0)).toBe(inB);
    expect(ptrAt(enc, 8)).toBe(outB);
    expect(ptrAt(enc, 16)).toBe(keys);
    expect(ptrAt(enc, 24)).toBe(values);
    expect(rd32(enc.attr, 32)).toBe(4);
    expect(rd32(enc.attr, 36)).toBe(9);
    expect(rd64(enc.attr, 40)).toBe(4n);
    expect(rd64(enc.attr, 48)).toBe(0xabcdn);
  });

  it('reads back the count the kernel writes', () => {
    const enc = encodeMapBatchAttr({ mapFd: 1, count: 10 });
    new DataView(enc.attr.buffer).setUint32(32, 3, HOST_LITTLE_ENDIAN);
    expect(mapBatchLayout.read(enc.attr, 'count')).toBe(3);
  });
});
