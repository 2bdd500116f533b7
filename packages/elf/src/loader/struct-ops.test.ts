import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapFlags, MapType, NotSupportedError } from '@bpfkit/core';
import type { Map, Program } from '@bpfkit/core';
import { BtfBuilder } from '../btf/build.js';
import { parseBtf } from '../btf/parse.js';
import type { Btf } from '../btf/parse.js';
import { ParseError } from '../errors.js';
import { readObject } from '../object.js';
import type { ObjectSpec } from '../object.js';
import { describe, expect, it } from 'vitest';
import type { KernelBtf } from './kernel-btf.js';
import { fillStructOpsMaps, findKernelStructOps, prepareStructOps, structOpsLoadExtras } from './struct-ops.js';

const testdata = path.resolve(import.meta.dirname, '../../testdata');
const read = (file = 'struct_ops.bpf.o'): ObjectSpec => readObject(new Uint8Array(fs.readFileSync(path.join(testdata, file))));
const ALL = ['bpfkit_ssthresh', 'bpfkit_cong_avoid', 'bpfkit_undo_cwnd', 'bpfkit_init'];

interface Shape {
  /** Size of the kernel's `flags` (the object's is 4), or 0 for no such member. */
  flags?: number;
  /** Whether the kernel has `init`, and as what. */
  init?: 'func' | 'none' | 'int' | 'int pointer';
  /** Put the struct_ops types in a module's split BTF instead of vmlinux. */
  module?: boolean;
  /** Leave out the `bpf_struct_ops_` wrapper. */
  noWrapper?: boolean;
}

/**
 * A kernel whose tcp_congestion_ops orders its members differently from the
 * object's: set_state@0 ssthresh@8 cong_avoid@16 undo_cwnd@24 name@32
 * flags@48 key@56 init@64 (size 72), held at offset 8 of
 * bpf_struct_ops_tcp_congestion_ops (size 80).
 */
function kernel(shape: Shape = {}): KernelBtf[] {
  const base = new BtfBuilder();
  const u32 = base.addInt('unsigned int', 4, false);
  const u64 = base.addInt('long long unsigned int', 8, false);
  const char = base.addInt('char', 1, true);
  const sock = base.addStruct('sock', 8, []);
  const sockPtr = base.addPointer(sock);
  const proto = base.addPointer(base.addFuncProto(u32, [['sk', sockPtr]]));
  const vmlinux = parseBtf(base.encode());
  const b = shape.module ? BtfBuilder.splitOf(vmlinux) : base;
  const name = b.addArray(char, u32, 16);
  const flags = shape.flags === 8 ? u64 : u32;
  const init = { func: proto, int: u64, 'int pointer': b.addPointer(u64), none: 0 }[shape.init ?? 'func'];
  const members: [string, number, number][] = [
    ['set_state', proto, 0],
    ['ssthresh', proto, 8],
    ['cong_avoid', proto, 16],
    ['undo_cwnd', proto, 24],
    ['name', name, 32],
    ...(shape.flags === 0 ? [] : [['flags', flags, 48] as [string, number, number]]),
    ['key', u32, 56],
    ...(init ? [['init', init, 64] as [string, number, number]] : []),
  ];
  const type = b.addStruct('tcp_congestion_ops', 72, members);
  const common = b.addStruct('bpf_struct_ops_common_value', 8, [
    ['refcnt', u32, 0],
    ['state', u32, 4],
  ]);
  if (!shape.noWrapper)
    b.addStruct('bpf_struct_ops_tcp_congestion_ops', 80, [
      ['common', common, 0],
      ['data', type, 8],
    ]);
  if (!shape.module) return [{ name: 'vmlinux', btf: parseBtf(b.encode()) }];
  return [
    { name: 'vmlinux', btf: vmlinux },
    { name: 'tcp_bpfkit', btf: parseBtf(b.encode(), vmlinux) },
  ];
}

const u32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const u64At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, b.indexOf(0)));

describe('prepareStructOps', () => {
  it("moves the object's members into the kernel's layout by name and gives each program the kernel's member index", () => {
    const k = kernel();
    const plan = prepareStructOps(read(), () => k, ALL);
    const btf: Btf = k[0]!.btf;
    const type = btf.find('tcp_congestion_ops')!;
    const wrapper = btf.find('bpf_struct_ops_tcp_congestion_ops')!;
    expect(plan.maps).toHaveLength(1);
    const m = plan.maps[0]!;
    expect(m).toMatchObject({
      name: 'bpfkit_cc',
      kernelTypeName: 'tcp_congestion_ops',
      module: 'vmlinux',
      kernelTypeId: type.id,
      valueTypeId: wrapper.id,
    });
    expect(m.spec).toEqual({ name: 'bpfkit_cc', type: MapType.STRUCT_OPS, keySize: 4, valueSize: 80, maxEntries: 1, flags: MapFlags.LINK });
    expect(m.value.byteLength).toBe(80);
    expect(text(m.value.subarray(8 + 32, 8 + 48))).toBe('bpfkit_cc');
    expect(u32At(m.value, 8 + 48)).toBe(1);
    const rest = m.value.slice();
    rest.fill(0, 8 + 32, 8 + 52); // name and flags
    expect(rest.every((x) => x === 0)).toBe(true);
    expect(m.slots).toEqual([
      { member: 'ssthresh', program: 'bpfkit_ssthresh', offset: 8 + 8 },
      { member: 'cong_avoid', program: 'bpfkit_cong_avoid', offset: 8 + 16 },
      { member: 'undo_cwnd', program: 'bpfkit_undo_cwnd', offset: 8 + 24 },
      { member: 'init', program: 'bpfkit_init', offset: 8 + 64 },
    ]);
    expect(plan.programs).toEqual({
      bpfkit_ssthresh: { attachBtfId: type.id, expectedAttachType: 1, module: 'vmlinux' },
      bpfkit_cong_avoid: { attachBtfId: type.id, expectedAttachType: 2, module: 'vmlinux' },
      bpfkit_undo_cwnd: { attachBtfId: type.id, expectedAttachType: 3, module: 'vmlinux' },
      bpfkit_init: { attachBtfId: type.id, expectedAttachType: 7, module: 'vmlinux' },
    });
    expect(plan.skipped).toEqual([]);
    expect(
      structOpsLoadExtras(plan, 'bpfkit_init', () => {
        throw new Error('vmlinux needs no module fd');
      }),
    ).toEqual({ expectedAttachType: 7, attachBtfId: type.id, attachBtfObjFd: 0 });
    expect(structOpsLoadExtras(plan, 'nope', () => 0)).toBeUndefined();
  });

  it("finds a module's struct_ops type in its split BTF, and its programs load with the module's BTF fd", () => {
    const k = kernel({ module: true });
    const plan = prepareStructOps(read(), () => k, ALL);
    const mod = k[1]!.btf;
    expect(plan.maps[0]).toMatchObject({
      module: 'tcp_bpfkit',
      kernelTypeId: mod.find('tcp_congestion_ops')!.id,
      valueTypeId: mod.find('bpf_struct_ops_tcp_congestion_ops')!.id,
    });
    expect(plan.maps[0]!.valueTypeId).toBeGreaterThanOrEqual(mod.firstTypeId);
    expect(plan.programs.bpfkit_ssthresh!.module).toBe('tcp_bpfkit');
    expect(structOpsLoadExtras(plan, 'bpfkit_ssthresh', (m) => (m === 'tcp_bpfkit' ? 42 : -1))).toMatchObject({
      attachBtfObjFd: 42,
      expectedAttachType: 1,
    });
    expect(findKernelStructOps('tcp_congestion_ops', k)).toMatchObject({ module: 'tcp_bpfkit', dataOffset: 8 });
  });

  it("refuses what the kernel's struct cannot hold, naming the member", () => {
    const refuses = (shape: Shape, message: RegExp, spec = read()) => {
      expect(() => prepareStructOps(spec, () => kernel(shape), ALL)).toThrow(NotSupportedError);
      expect(() => prepareStructOps(spec, () => kernel(shape), ALL)).toThrow(message);
    };
    refuses(
      { init: 'none' },
      /member 'init' of struct_ops map 'bpfkit_cc' \(struct tcp_congestion_ops\).*has no member 'init' for program 'bpfkit_init'/,
    );
    refuses({ flags: 0 }, /member 'flags' .*has no member 'flags'/);
    refuses({ flags: 8 }, /member 'flags' .*it has 4 bytes in the object and 8 in the kernel/);
    refuses({ init: 'int' }, /member 'init' .*its type \(ptr\) is not of the kernel's kind \(int\)/);
    refuses(
      { init: 'int pointer' },
      /member 'init' .*the kernel's member is not a function pointer, so program 'bpfkit_init' cannot implement it/,
    );
    refuses({ noWrapper: true }, /struct_ops map 'bpfkit_cc'.*has no struct bpf_struct_ops_tcp_congestion_ops/);
  });

  it('skips a member the kernel lacks when the object leaves it unset, as libbpf does', () => {
    const spec = read();
    const m = spec.structOps.bpfkit_cc!;
    const data = m.data.slice();
    data.fill(0, 48, 52); // flags = 0
    const plan = prepareStructOps({ ...spec, structOps: { bpfkit_cc: { ...m, data } } }, () => kernel({ flags: 0 }), ALL);
    expect(u32At(plan.maps[0]!.value, 8 + 48)).toBe(0);
    expect(text(plan.maps[0]!.value.subarray(40))).toBe('bpfkit_cc');
  });

  it("reads the kernel's BTF only for an object with struct_ops maps", () => {
    const spec = read('basics.bpf.o');
    expect(
      prepareStructOps(
        spec,
        () => {
          throw new Error('read the kernel BTF');
        },
        Object.keys(spec.programs),
      ),
    ).toEqual({ maps: [], programs: {}, skipped: [] });
  });

  it('refuses a struct_ops program no map points to, and skips those of optional maps', () => {
    const spec = read();
    expect(() => prepareStructOps({ ...spec, structOps: {} }, () => kernel(), ['bpfkit_init'])).toThrow(InvalidArgumentError);
    expect(() => prepareStructOps({ ...spec, structOps: {} }, () => kernel(), ['bpfkit_init'])).toThrow(
      /program 'bpfkit_init' \(section struct_ops\/bpfkit_init\).*one no struct_ops map points to/,
    );
    const optional = { ...spec, structOps: { bpfkit_cc: { ...spec.structOps.bpfkit_cc!, optional: true } } };
    expect(
      prepareStructOps(
        optional,
        () => {
          throw new Error('read the kernel BTF');
        },
        ALL,
      ),
    ).toEqual({ maps: [], programs: {}, skipped: ALL });
  });

  it('refuses a program serving two different members, and names clashing with other maps', () => {
    const spec = read();
    const m = spec.structOps.bpfkit_cc!;
    // A second map whose ssthresh is the undo_cwnd program.
    const other = {
      ...m,
      name: 'other',
      functions: m.functions.map((f) => (f.member === 'ssthresh' ? { ...f, program: 'bpfkit_undo_cwnd' } : f)),
    };
    const run = () => prepareStructOps({ ...spec, structOps: { bpfkit_cc: m, other } }, () => kernel(), ALL);
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(
      /program 'bpfkit_undo_cwnd': expected one struct_ops member per program \(it implements member 3 of map 'bpfkit_cc'\), got .*member 'ssthresh' \(1\) of map 'other'/,
    );
    // The same program for the same member of two maps is fine (libbpf allows the reuse).
    const twin = { ...m, name: 'twin' };
    expect(prepareStructOps({ ...spec, structOps: { bpfkit_cc: m, twin } }, () => kernel(), ALL).maps.map((x) => x.name)).toEqual([
      'bpfkit_cc',
      'twin',
    ]);
    const clash = { ...spec, maps: { bpfkit_cc: { name: 'bpfkit_cc', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 } } };
    expect(() => prepareStructOps(clash, () => kernel(), ALL)).toThrow(ParseError);
  });
});

describe('fillStructOpsMaps', () => {
  const fakeMap = () => {
    const updates: [Uint8Array, Uint8Array][] = [];
    return { updates, map: { update: (k: Uint8Array, v: Uint8Array) => updates.push([k.slice(), v.slice()]) } as unknown as Map };
  };
  const prog = (fd: number) => ({ fd }) as unknown as Program;

  it("stores the value with each program's fd in its 8-byte slot", () => {
    const plan = prepareStructOps(read(), () => kernel(), ALL);
    const { updates, map } = fakeMap();
    const warnings = fillStructOpsMaps(
      plan,
      { bpfkit_cc: map },
      { bpfkit_ssthresh: prog(11), bpfkit_cong_avoid: prog(12), bpfkit_undo_cwnd: prog(13), bpfkit_init: prog(14) },
    );
    expect(warnings).toEqual([]);
    expect(updates).toHaveLength(1);
    const [key, value] = updates[0]!;
    expect(key).toEqual(new Uint8Array(4));
    expect([16, 24, 32, 72].map((o) => u64At(value, o))).toEqual([11n, 12n, 13n, 14n]);
    expect(u64At(value, 8)).toBe(0n); // set_state: not set
    expect(text(value.subarray(40))).toBe('bpfkit_cc');
    // The plan's value is not changed: a second load starts from it again.
    expect(u64At(plan.maps[0]!.value, 16)).toBe(0n);
  });

  it('leaves a map whose programs were not all loaded empty, with a warning', () => {
    const plan = prepareStructOps(read(), () => kernel(), ALL);
    const { updates, map } = fakeMap();
    const warnings = fillStructOpsMaps(plan, { bpfkit_cc: map }, { bpfkit_ssthresh: prog(11), bpfkit_cong_avoid: prog(12) });
    expect(updates).toEqual([]);
    expect(warnings).toEqual(["struct_ops map 'bpfkit_cc' was left empty: its programs 'bpfkit_undo_cwnd', 'bpfkit_init' were not loaded"]);
    expect(() => fillStructOpsMaps(plan, {}, {})).toThrow(InvalidArgumentError);
  });
});
