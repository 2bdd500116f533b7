import { describe, expect, it } from 'vitest';
import { allocElemSlot, ELEM_SLOT_MAX_BYTES, elemCall, freeElemSlot, hasElemArena } from './elem-arena.js';
import { native, nativeLoadError } from './native.js';
import { runAddonChild } from './test-support/addon-child.js';
import { whenKernel } from './test-support/kernel-gates.js';

// uapi linux/bpf.h
const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_MAP_GET_NEXT_KEY = 4;
const BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21;
const BPF_MAP_TYPE_HASH = 1;
const EINVAL = 22;
const EFAULT = 14;
const ENOENT = 2;
const ARENA_BYTES = 1 << 20;

function createHash(keySize: number, valueSize: number, maxEntries: number): number {
  const attr = new Uint8Array(72);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_MAP_TYPE_HASH, true);
  v.setUint32(4, keySize, true);
  v.setUint32(8, valueSize, true);
  v.setUint32(12, maxEntries, true);
  return native.bpf(BPF_MAP_CREATE, attr);
}

/** A child Node.js with the raw addon as `addon`, its elemOps still on it (see runAddonChild). */
const runChild = runAddonChild;

describe.skipIf(nativeLoadError !== null)('element arena slots', () => {
  it('exists with the addon, and is taken off the addon exports', () => {
    expect(hasElemArena).toBe(true);
    expect((native as unknown as Record<string, unknown>).elemOps).toBeUndefined();
  });

  it('hands out non-overlapping slots with 8-byte aligned values, and reuses a freed slot of the same size', () => {
    const a = allocElemSlot(4, 8);
    const b = allocElemSlot(5, 3);
    const c = allocElemSlot(4, 8);
    if (!a || !b || !c) throw new Error('no slot');
    try {
      for (const s of [a, b, c]) {
        expect(s.valueOffset % 8).toBe(0);
        expect(s.key.byteOffset).toBe(s.keyOffset);
        expect(s.value.byteOffset).toBe(s.valueOffset);
        expect(s.valueOffset).toBeGreaterThanOrEqual(s.keyOffset + s.key.length);
      }
      expect([a.key.length, a.value.length, b.key.length, b.value.length]).toEqual([4, 8, 5, 3]);
      const ranges = [a, b, c].map((s) => [s.keyOffset, s.valueOffset + s.value.length] as const).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
      freeElemSlot(a);
      freeElemSlot(a); // a second free does nothing
      const again = allocElemSlot(4, 8);
      const another = allocElemSlot(4, 8);
      expect(again?.keyOffset).toBe(a.keyOffset);
      expect(another?.keyOffset).not.toBe(a.keyOffset);
      if (again) freeElemSlot(again);
      if (another) freeElemSlot(another);
    } finally {
      freeElemSlot(b);
      freeElemSlot(c);
    }
  });

  it('answers undefined for sizes it does not take, and when the arena is full', () => {
    expect(allocElemSlot(4, ELEM_SLOT_MAX_BYTES)).toBeUndefined();
    expect(allocElemSlot(0, 8)).toBeUndefined();
    expect(allocElemSlot(4, 1.5)).toBeUndefined();
    const held = [];
    for (;;) {
      const s = allocElemSlot(8, ELEM_SLOT_MAX_BYTES - 8);
      if (s === undefined) break;
      held.push(s);
      if (held.length > ARENA_BYTES / 1024) throw new Error('the arena never filled up');
    }
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(ARENA_BYTES / ELEM_SLOT_MAX_BYTES);
    for (const s of held) freeElemSlot(s);
    expect(allocElemSlot(8, ELEM_SLOT_MAX_BYTES - 8)).toBeDefined();
  });

  it('refuses a command that is not an element command, and offsets outside the arena, without a system call', () => {
    const s = allocElemSlot(4, 8);
    if (!s) throw new Error('no slot');
    try {
      // BPF_MAP_CREATE on the arena would read the key's bytes as a map attr: refused.
      expect(elemCall(BPF_MAP_CREATE, -1, s.keyOffset, s.valueOffset, 0)).toBe(-EINVAL);
      expect(elemCall(BPF_MAP_LOOKUP_ELEM, -1, ARENA_BYTES, s.valueOffset, 0)).toBe(-EINVAL);
      expect(elemCall(BPF_MAP_LOOKUP_ELEM, -1, s.keyOffset, -2, 0)).toBe(-EINVAL);
      expect(() => elemCall('1' as unknown as number, -1, 0, 8, 0)).toThrow(TypeError);
    } finally {
      freeElemSlot(s);
    }
  });
});

whenKernel().describe('element arena against the kernel', () => {
  it('runs every element command on slot bytes', () => {
    const fd = createHash(4, 8, 16);
    expect(fd).toBeGreaterThanOrEqual(0);
    const s = allocElemSlot(4, 8);
    try {
      if (!s) throw new Error('no slot');
      const key = new DataView(s.key.buffer, s.keyOffset, 4);
      const value = new DataView(s.value.buffer, s.valueOffset, 8);
      key.setUint32(0, 7, true);
      value.setBigUint64(0, 0x1122334455667788n, true);
      expect(elemCall(BPF_MAP_UPDATE_ELEM, fd, s.keyOffset, s.valueOffset, 0)).toBe(0);
      expect(elemCall(BPF_MAP_UPDATE_ELEM, fd, s.keyOffset, s.valueOffset, 1)).toBe(-17); // BPF_NOEXIST: EEXIST
      value.setBigUint64(0, 0n, true);
      expect(elemCall(BPF_MAP_LOOKUP_ELEM, fd, s.keyOffset, s.valueOffset, 0)).toBe(0);
      expect(value.getBigUint64(0, true)).toBe(0x1122334455667788n);
      key.setUint32(0, 0, true);
      expect(elemCall(BPF_MAP_GET_NEXT_KEY, fd, -1, s.keyOffset, 0)).toBe(0);
      expect(key.getUint32(0, true)).toBe(7);
      expect(elemCall(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, s.keyOffset, s.valueOffset, 0)).toBe(0);
      expect(elemCall(BPF_MAP_DELETE_ELEM, fd, s.keyOffset, -1, 0)).toBe(-ENOENT);
      expect(elemCall(BPF_MAP_LOOKUP_ELEM, -1, s.keyOffset, s.valueOffset, 0)).toBe(-9); // EBADF
    } finally {
      if (s) freeElemSlot(s);
      native.close(fd);
    }
  });

  it('faults, and writes nothing beyond the arena, when a value runs past its end', () => {
    const fd = createHash(4, 64, 4);
    const s = allocElemSlot(4, 64);
    try {
      if (!s) throw new Error('no slot');
      expect(elemCall(BPF_MAP_UPDATE_ELEM, fd, s.keyOffset, s.valueOffset, 0)).toBe(0);
      // A value 16 bytes before the end: the kernel's copy of 64 bytes reaches the guard page.
      expect(elemCall(BPF_MAP_LOOKUP_ELEM, fd, s.keyOffset, ARENA_BYTES - 16, 0)).toBe(-EFAULT);
    } finally {
      if (s) freeElemSlot(s);
      native.close(fd);
    }
  });

  it('gives each worker thread an arena of its own', () => {
    // Workers writing the same offsets at the same time: one shared arena would mix their keys and values.
    const r = runChild(
      `
      const { Worker } = require('node:worker_threads');
      const body = \`
        const { parentPort } = require('node:worker_threads');
        const addon = require('node-gyp-build')(\${JSON.stringify(process.cwd())});
        const a = new Uint8Array(72); const d = new DataView(a.buffer);
        d.setUint32(0, 1, true); d.setUint32(4, 4, true); d.setUint32(8, 8, true); d.setUint32(12, 4096, true);
        const fd = addon.bpf(0, a);
        const ops = addon.elemOps;
        const key = new DataView(ops.arena, 0, 4), value = new DataView(ops.arena, 8, 8);
        const tag = BigInt(require('node:worker_threads').threadId) << 32n;
        let bad = fd < 0 ? 1 : 0;
        for (let round = 0; round < 20; round++) {
          for (let i = 0; i < 4096; i++) {
            key.setUint32(0, i, true); value.setBigUint64(0, tag + BigInt(i), true);
            if (ops.elem(2, fd, 0, 8, 0) !== 0) bad++;
            value.setBigUint64(0, 0n, true);
            if (ops.elem(1, fd, 0, 8, 0) !== 0 || value.getBigUint64(0, true) !== tag + BigInt(i)) bad++;
          }
        }
        parentPort.postMessage(bad);
      \`;
      const workers = [0, 1, 2].map(() => new Worker(body, { eval: true }));
      Promise.all(workers.map((w) => new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); })))
        .then(async (bad) => { await Promise.all(workers.map((w) => w.terminate())); console.log(bad.every((n) => n === 0) ? 'ok' : 'bad ' + bad); });
      `,
    );
    expect(r.output.trim(), r.output).toBe('ok');
    expect(r.status).toBe(0);
  });

  // The V8 fast call runs only from optimized code: a child optimizes a loop over elem and checks every answer,
  // so a type description that V8 read differently (an argument, the receiver, the result) shows as wrong values.
  for (const mode of ['v8', 'napi'] as const) {
    it(`gives the same answers from optimized code as from the first calls (${mode} entry point)`, () => {
      const r = runChild(
        `
        const check = (cond, what) => { if (!cond) { console.log('FAIL ' + what); process.exit(1); } };
        check(addon.constants.HOT_PATHS_V8 === ${mode === 'v8' ? 1 : 0}, 'entry point');
        const a = new Uint8Array(72); const d = new DataView(a.buffer);
        d.setUint32(0, 1, true); d.setUint32(4, 4, true); d.setUint32(8, 8, true); d.setUint32(12, 4096, true);
        const fd = addon.bpf(0, a);
        check(fd >= 0, 'create');
        const ops = addon.elemOps;
        const key = new DataView(ops.arena, 64, 4), value = new DataView(ops.arena, 72, 8);
        function put(i) { key.setUint32(0, i, true); value.setBigUint64(0, BigInt(i) * 3n + 1n, true); return ops.elem(2, fd, 64, 72, i % 2 ? 1 : 0); }
        function get(i) { key.setUint32(0, i, true); const rc = ops.elem(1, fd, 64, 72, 0); return rc === 0 ? value.getBigUint64(0, true) : rc; }
        function del(i) { key.setUint32(0, i, true); return ops.elem(3, fd, 64, -1, 0); }
        function outside(i) { return ops.elem(1, fd, 64, ${ARENA_BYTES} + i, 0); }
        for (const f of [put, get, del, outside]) %PrepareFunctionForOptimization(f);
        const round = () => {
          for (let i = 0; i < 4096; i++) {
            check(put(i) === 0, 'put ' + i);
            check(put(i) === (i % 2 ? -17 : 0), 'put again ' + i);
            check(get(i) === BigInt(i) * 3n + 1n, 'get ' + i);
            check(outside(i) === -22, 'outside ' + i);
          }
          for (let i = 0; i < 4096; i++) check(del(i) === 0 && del(i) === -2 && get(i) === -2, 'del ' + i);
        };
        round();
        for (const f of [put, get, del, outside]) %OptimizeFunctionOnNextCall(f);
        round();
        round();
        // V8's status bits: 16 is "optimized"; 8 would say it was deoptimized meanwhile.
        for (const f of [put, get, del, outside]) check((%GetOptimizationStatus(f) & 24) === 16, f.name + ' optimized: ' + %GetOptimizationStatus(f));
        ${mode === 'v8' ? "let threw = null; try { ops.elem.call({}, 1, fd, 64, 72, 0); } catch (e) { threw = e; } check(threw instanceof TypeError, 'receiver checked');" : ''}
        console.log('ok');
        `,
        ['--allow-natives-syntax'],
        mode === 'napi' ? { BPFKIT_NATIVE_NAPI_ONLY: '1' } : {},
      );
      expect(r.output.trim(), r.output).toBe('ok');
      expect(r.status).toBe(0);
    });
  }
});
