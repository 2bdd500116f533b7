import fs from 'node:fs';
import path from 'node:path';
import { readObject } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { compileProgram, type VmHelper, VmMemory, type VmRegion } from './index.js';

// clang's code, not hand-written assembly: the loader's test object with
// callbacks (bpf_loop with a static callback, bpf_map_lookup_elem, an
// atomic add into a map value), linked by @bpfkit/elf, run on the VM with a
// minimal array map and the two helpers it calls.
const OBJECT = path.resolve(import.meta.dirname, '../../../bpfkit/testdata/callbacks.bpf.o');

describe('VM on a clang-compiled object', () => {
  it('runs callbacks.bpf.o "loops": bpf_loop sums 0..9 into results[0]', () => {
    const spec = readObject(new Uint8Array(fs.readFileSync(OBJECT)));
    const prog = spec.programs.loops;
    expect(prog).toBeDefined();
    if (prog === undefined) return;
    const memory = new VmMemory();
    // The maps: array maps of u64 values, one region each; an lddw of a map
    // gives a handle (its index, tagged) that the helpers understand.
    const maps = new Map<string, { handle: bigint; values: VmRegion[] }>();
    const handles = new Map<bigint, VmRegion[]>();
    for (const [name, m] of Object.entries(spec.maps)) {
      const values = Array.from({ length: m.maxEntries }, (_, k) => memory.map(new Uint8Array(m.valueSize), { name: `${name}[${k}]` }));
      const handle = 0x4d41500000000000n + BigInt(maps.size);
      maps.set(name, { handle, values });
      handles.set(handle, values);
    }
    const refs = new Map(prog.references.map((r) => [r.index, r]));
    const helpers = new Map<number, VmHelper>([
      [
        1, // bpf_map_lookup_elem
        (map, key, _r3, _r4, _r5, env) => {
          const values = handles.get(map);
          if (values === undefined) throw new Error(`not a map: ${map}`);
          const index = new DataView(env.memory.view(key, 4).slice().buffer).getUint32(0, true);
          const region = values[index];
          return region === undefined ? 0n : env.memory.pointer(region);
        },
      ],
      [
        181, // bpf_loop
        (n, fn, ctx, _flags, _r5, env) => {
          let i = 0n;
          for (; i < n; i++) if (env.callback(fn, i, ctx) !== 0n) return i + 1n;
          return i;
        },
      ],
    ]);
    const program = compileProgram({
      name: 'loops',
      instructions: prog.instructions,
      helpers,
      resolveLddw: (ref) => {
        const r = refs.get(ref.instruction);
        const map = r === undefined ? undefined : maps.get(r.target);
        if (r?.kind !== 'map' || map === undefined) throw new Error(`unexpected lddw at ${ref.instruction}`);
        return map.handle;
      },
    });
    const ctx = memory.map(new Uint8Array(24), { name: 'xdp_md', writable: false });
    expect(program.run(memory, { r1: memory.pointer(ctx) })).toBe(2n); // XDP_PASS
    const results = maps.get('results')?.values[0];
    expect(results?.view.getBigUint64(0, true)).toBe(45n);
    expect(program.run(memory, { r1: memory.pointer(ctx) })).toBe(2n);
    expect(results?.view.getBigUint64(0, true)).toBe(90n);
  });
});
