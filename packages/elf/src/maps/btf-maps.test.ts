import { MapType, MapFlags } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../btf/build.js';
import { parseBtf } from '../btf/parse.js';
import { ParseError } from '../errors.js';
import { btfSizeOf, mapsFromBtf } from './btf-maps.js';

/** The BTF clang writes for `__uint(name, n)`: `int (*name)[n]`. */
function uint(b: BtfBuilder, int: number, n: number): number {
  return b.addPointer(b.addArray(int, int, n));
}

describe('maps from BTF (.maps)', () => {
  it('reads __uint/__type/__array definitions, sizes from types, pinning, inner maps', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const u64 = b.addInt('unsigned long long', 8, false);
    const flow = b.addStruct('flow', 12, [
      ['saddr', int, 0],
      ['daddr', int, 4],
      ['ports', int, 8],
    ]);
    const counts = b.addStruct('', 32, [
      ['type', uint(b, int, MapType.HASH), 0],
      ['key', b.addPointer(flow), 8],
      ['value', b.addPointer(u64), 16],
      ['max_entries', uint(b, int, 10240), 24],
      ['map_flags', uint(b, int, MapFlags.NO_PREALLOC), 32],
      ['pinning', uint(b, int, 1), 40],
    ]);
    const events = b.addStruct('', 16, [
      ['type', uint(b, int, MapType.RINGBUF), 0],
      ['max_entries', uint(b, int, 1 << 18), 8],
    ]);
    const inner = b.addStruct('inner', 24, [
      ['type', uint(b, int, MapType.ARRAY), 0],
      ['key_size', uint(b, int, 4), 8],
      ['value_size', uint(b, int, 8), 16],
      ['max_entries', uint(b, int, 1), 24],
    ]);
    const outer = b.addStruct('', 24, [
      ['type', uint(b, int, MapType.ARRAY_OF_MAPS), 0],
      ['max_entries', uint(b, int, 4), 8],
      ['values', b.addArray(b.addPointer(inner), int, 0), 16],
    ]);
    const vars = [b.addVar('counts', counts), b.addVar('events', events), b.addVar('outer', outer)];
    b.addDatasec(
      '.maps',
      96,
      vars.map((v, i) => [v, i * 32, 32] as [number, number, number]),
    );
    const maps = mapsFromBtf(parseBtf(b.encode()));
    expect(maps.counts).toEqual({
      name: 'counts',
      type: MapType.HASH,
      keySize: 12,
      valueSize: 8,
      maxEntries: 10240,
      flags: MapFlags.NO_PREALLOC,
      pinning: 'by-name',
      btfKeyTypeId: flow,
      btfValueTypeId: u64,
    });
    expect(maps.events).toMatchObject({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 262144 });
    expect(maps.outer).toMatchObject({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, valuesSlots: 0 });
    expect(maps.outer!.innerMap).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
  });

  it('sizes arrays, pointers and structs like sizeof', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const arr = b.addArray(int, int, 16);
    const ptr = b.addPointer(arr);
    const btf = parseBtf(b.encode());
    expect([btfSizeOf(btf, int), btfSizeOf(btf, arr), btfSizeOf(btf, ptr)]).toEqual([4, 64, 8]);
  });

  it('names the map and the field it cannot read', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const def = b.addStruct('', 16, [
      ['type', uint(b, int, 1), 0],
      ['max_entrys', uint(b, int, 1), 8],
    ]);
    b.addDatasec('.maps', 16, [[b.addVar('typo', def), 0, 16]]);
    expect(() => mapsFromBtf(parseBtf(b.encode()))).toThrow(ParseError);
    expect(() => mapsFromBtf(parseBtf(b.encode()))).toThrow(/map 'typo': unknown field 'max_entrys'/);
    const b2 = new BtfBuilder();
    const int2 = b2.addInt('int', 4, true);
    const bad = b2.addStruct('', 8, [['type', int2, 0]]);
    b2.addDatasec('.maps', 8, [[b2.addVar('plain', bad), 0, 8]]);
    expect(() => mapsFromBtf(parseBtf(b2.encode()))).toThrow(/map 'plain': field 'type' is not a __uint\(\)/);
  });
});
