import { it } from 'vitest';
import fs from 'node:fs';
import { BpfError, MapFlags as F, MapType as T } from '@bpfkit/core';
import {
  mapCreate, mapLookupElem, mapUpdateElem, mapDeleteElem, mapGetNextKey, mapLookupAndDeleteElem, mapFreeze,
  mapLookupBatch, mapLookupAndDeleteBatch, mapUpdateBatch, mapDeleteBatch, native, mapInfoByFd, encodeMapBatchAttr, mapBatchLayout, tryBpf, BpfCommand,
} from '@bpfkit/syscalls';

const out: Record<string, unknown> = {};
const code = (f: () => unknown): string => {
  try { const r = f(); return r === undefined ? 'ok' : `ok:${typeof r === 'object' ? JSON.stringify(r) : String(r)}`; } catch (e) { if (e instanceof BpfError) return e.code; throw e; }
};
const fds: number[] = [];
const mk = (mapType: number, keySize: number, valueSize: number, maxEntries: number, mapFlags = 0, extra: Record<string, unknown> = {}) => {
  const fd = mapCreate({ mapType, keySize, valueSize, maxEntries, mapFlags, ...extra });
  fds.push(fd);
  return fd;
};
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64 = (n: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), true); return b; };
const rd32 = (b: Uint8Array, o = 0) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const keysOf = (fd: number, ks: number) => { const r: number[] = []; let k: Uint8Array | null = null; const n = new Uint8Array(ks); while (mapGetNextKey(fd, k, n)) { r.push(rd32(n)); k = n.slice(); } return r; };

it('kernel ground truth 3', () => {
  const C = (name: string, f: () => unknown) => { out[name] = code(f); };
  const once = (f: () => number) => () => { const fd = f(); native.close(fd); };
  C('hash 2^27 noprealloc', once(() => mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 27, mapFlags: F.NO_PREALLOC })));
  C('hash 2^27+1 noprealloc', once(() => mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 27 + 1, mapFlags: F.NO_PREALLOC })));
  C('percpu hash 2^27+1 noprealloc', once(() => mapCreate({ mapType: T.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 27 + 1, mapFlags: F.NO_PREALLOC })));
  C('hash 2^20 prealloc', once(() => mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 20 })));
  C('lru 2^31+1 NO_COMMON', once(() => mapCreate({ mapType: T.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 31 + 1, mapFlags: F.NO_COMMON_LRU })));
  C('queue 2^20', once(() => mapCreate({ mapType: T.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 ** 20 })));
  C('stack 2^30 value 8', once(() => mapCreate({ mapType: T.STACK, keySize: 0, valueSize: 8, maxEntries: 2 ** 30 })));
  C('name bad char', once(() => mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'a-b' })));
  C('aom inner numa', once(() => { const i = mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: F.NUMA_NODE, numaNode: 0 }); const o = mapCreate({ mapType: T.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, innerMapFd: i }); const j = mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 1 }); try { mapUpdateElem(o, u32(0), u32(j)); return 0; } finally { native.close(i); native.close(j); native.close(o); } }));
  C('info flags NUMA', () => { const i = mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: F.NUMA_NODE, numaNode: 0 }); const f = mapInfoByFd(i).mapFlags; native.close(i); return f; });
  C('info flags numa attr without flag', () => { const i = mapCreate({ mapType: T.HASH, keySize: 4, valueSize: 4, maxEntries: 1, numaNode: 3 }); const f = mapInfoByFd(i).mapFlags; native.close(i); return f; });
  // bloom with zero seed: which of 0..9999 are reported present after adding 0..99 (k=3, max 100)
  {
    const b = mk(T.BLOOM_FILTER, 0, 4, 100, F.ZERO_SEED, { mapExtra: 3n });
    for (let i = 0; i < 100; i++) mapUpdateElem(b, null, u32(i * 7));
    const fp: number[] = [];
    for (let i = 100000; i < 110000; i++) if (code(() => mapLookupElem(b, null, u32(i))) === 'ok') fp.push(i);
    out['bloom zero-seed k3 fp'] = fp;
    const b2 = mk(T.BLOOM_FILTER, 0, 6, 50, F.ZERO_SEED);
    for (let i = 0; i < 50; i++) { const v = new Uint8Array(6); new DataView(v.buffer).setUint32(0, i * 13, true); v[5] = 7; mapUpdateElem(b2, null, v); }
    const fp2: number[] = [];
    for (let i = 100000; i < 110000; i++) { const v = new Uint8Array(6); new DataView(v.buffer).setUint32(0, i, true); v[5] = 7; if (code(() => mapLookupElem(b2, null, v)) === 'ok') fp2.push(i); }
    out['bloom zero-seed 6-byte k5 fp'] = fp2;
    const b3 = mk(T.BLOOM_FILTER, 0, 20, 10, F.ZERO_SEED, { mapExtra: 1n });
    for (let i = 0; i < 10; i++) { const v = new Uint8Array(20); new DataView(v.buffer).setUint32(16, i, true); mapUpdateElem(b3, null, v); }
    const fp3: number[] = [];
    for (let i = 1000; i < 3000; i++) { const v = new Uint8Array(20); new DataView(v.buffer).setUint32(16, i, true); if (code(() => mapLookupElem(b3, null, v)) === 'ok') fp3.push(i); }
    out['bloom zero-seed 20-byte k1 fp'] = fp3;
  }
  for (const fd of fds) native.close(fd);
  fs.writeFileSync('/tmp/exp/kernel3.json', JSON.stringify(out));
}, 60000);
