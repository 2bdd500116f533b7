import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapFlags, MapType, ProgramType } from '@bpfkit/core';
import { readObject } from '@bpfkit/elf';
import { createKernelMap } from '@bpfkit/maps';
import { mountPrivateBpffs, possibleCpus } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/main.js';
import { loadCollection } from '../collection.js';

// testdata/goebpf.bpf.c: goebpf's layout (seed 003), built as its Makefiles build (no BTF).
const file = path.resolve(import.meta.dirname, '../../testdata/goebpf.bpf.o');
const original = () => new Uint8Array(fs.readFileSync(file));
const PLACEHOLDER = '/sys/fs/bpf/bpfkit_goebpf_counters_placeholder_long_enough_for_a_private_bpffs_path';
const packet = new Uint8Array(64);
const key = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);
const u64 = (b: Uint8Array | undefined) => (b ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : undefined);

/** The object's bytes with every `from` (a NUL-terminated string) replaced by `to` (no longer), NUL-terminated. */
function patched(bytes: Uint8Array, replacements: [string, string][]): Uint8Array {
  const out = bytes.slice();
  for (const [from, to] of replacements) {
    if (to.length > from.length) throw new Error(`'${to}' is longer than '${from}'`);
    const needle = Buffer.from(`${from}\0`);
    let at = Buffer.from(out.buffer, out.byteOffset, out.byteLength).indexOf(needle);
    if (at < 0) throw new Error(`no '${from}' in the object`);
    for (; at >= 0; at = Buffer.from(out.buffer, out.byteOffset, out.byteLength).indexOf(needle, at + 1)) {
      out.set(Buffer.from(`${to}\0`), at);
    }
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-goebpf-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("reading goebpf's layout", () => {
  it('reads its map definitions: inner map template, persistent path, perf and LPM maps, and its section names', () => {
    const spec = readObject(original());
    expect(spec.btf).toBeUndefined();
    expect(spec.warnings).toEqual([]);
    expect(spec.maps.outer).toMatchObject({
      type: MapType.ARRAY_OF_MAPS,
      innerMap: { name: 'inner_template', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 },
    });
    expect(spec.maps.counters!.persistentPath).toBe(PLACEHOLDER);
    expect(spec.maps.perf_events).toMatchObject({ type: MapType.PERF_EVENT_ARRAY, keySize: 0, valueSize: 0, maxEntries: 0 });
    expect(Object.fromEntries(Object.values(spec.programs).map((p) => [p.name, [p.section, p.type]]))).toEqual({
      xdp_prog: ['xdp', ProgramType.XDP],
      socket_prog: ['socket_filter', ProgramType.SOCKET_FILTER],
      tc_cls_prog: ['tc_cls', ProgramType.SCHED_CLS],
      tc_act_prog: ['tc_act', ProgramType.SCHED_ACT],
    });
  });

  it('never drops code silently: sections of no known program type are warnings, and obj load fails with none', async () => {
    const unknown = patched(original(), [
      ['xdp', 'xdq'],
      ['socket_filter', 'socket_filtex'],
      ['tc_cls', 'tc_clx'],
      ['tc_act', 'tc_acx'],
    ]);
    const spec = readObject(unknown);
    expect(Object.keys(spec.programs)).toEqual([]);
    expect(spec.warnings).toHaveLength(4);
    expect(spec.warnings[0]).toMatch(/section 'xdq' holds code of no program type bpfkit knows \('xdp_prog'\): not loaded/);
    const objectFile = path.join(dir, 'unknown.bpf.o');
    fs.writeFileSync(objectFile, unknown);
    const err: string[] = [];
    const code = await runCli(['obj', 'load', objectFile], { out: () => {}, err: (s) => err.push(s) });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/warning: section 'tc_acx' holds code of no program type/);
    expect(err.join('\n')).toMatch(/the object holds no program bpfkit can load/);
  });
});

whenKernel('program:xdp', 'map:lpm_trie', 'map:array_of_maps').describe("goebpf's layout on the kernel", () => {
  it('creates its maps as goebpf does, pins at the persistent path and reuses the pin, and loads every program', () => {
    using bpffs = mountPrivateBpffs();
    const pin = `${bpffs.dir}/counters`;
    const bytes = patched(original(), [[PLACEHOLDER, pin]]);
    let firstId: number;
    {
      using coll = loadCollection(bytes);
      expect(coll.warnings).toEqual([]);
      expect(coll.maps.perf_events!.info()).toMatchObject({ keySize: 4, valueSize: 4, maxEntries: possibleCpus() });
      expect(coll.maps.jump_table!.info()).toMatchObject({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      expect(coll.maps.blocklist!.info().flags & MapFlags.NO_PREALLOC).toBe(MapFlags.NO_PREALLOC);
      // The outer map takes maps shaped like its template.
      using inner = createKernelMap({ name: 'inner', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
      coll.maps.outer!.update(key(0), new Uint8Array(new Uint32Array([inner.fd]).buffer));
      const counters = coll.maps.counters!;
      firstId = counters.info().id;
      expect(fs.existsSync(pin)).toBe(true);
      coll.programs.xdp_prog!.testRun({ data: packet });
      coll.programs.socket_prog!.testRun({ data: packet });
      coll.programs.tc_cls_prog!.testRun({ data: packet });
      coll.programs.tc_act_prog!.testRun({ data: packet });
      expect([0, 1, 2, 3].map((i) => u64(counters.lookup(key(i)) as Uint8Array))).toEqual([1n, 1n, 1n, 1n]);
      expect(u64(inner.lookup(key(0)) as Uint8Array)).toBe(1n);
    }
    // Loaded again: the pinned map is reused, counts and all.
    using again = loadCollection(bytes);
    expect(again.maps.counters!.info().id).toBe(firstId);
    expect(u64(again.maps.counters!.lookup(key(0)) as Uint8Array)).toBe(1n);
    fs.rmSync(pin);
  });
});
