import fs from 'node:fs';
import path from 'node:path';
import { BtfKind, readObject } from '@bpfkit/elf';
import type { ObjectSpec } from '@bpfkit/elf';
import { BpfError, MapFlags, MapType, NotSupportedError, ProgramType } from '@bpfkit/core';
import type { Collection } from '@bpfkit/core';
import { whenFeature, whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it } from 'vitest';
import { kernelBtfs, vmlinuxBtf } from './kernel/kernel-btf.js';
import { loadCollection } from './collection.js';
import { prepareStructOps } from '@bpfkit/elf';
import { btfWithTypes } from '@bpfkit/elf/testing';

const file = path.resolve(import.meta.dirname, '../../elf/testdata/struct_ops.bpf.o');
const fds = () => fs.readdirSync('/proc/self/fd').length;
const read = (): ObjectSpec => readObject(new Uint8Array(fs.readFileSync(file)));

/** The object loaded by loadCollection, with its struct_ops maps and programs. */
function load(spec: ObjectSpec): Collection {
  return loadCollection(spec);
}

/** Renames a member of the object's struct_ops type (a struct the kernel's lacks that member). */
function renameMember(spec: ObjectSpec, from: string, to: string): ObjectSpec {
  const id = spec.structOps.bpfkit_cc!.typeId;
  const types = spec.btf!.types.slice();
  const t = types[id]!;
  types[id] = { ...t, members: t.members!.map((m) => (m.name === from ? { ...m, name: to } : m)) };
  const functions = spec.structOps.bpfkit_cc!.functions.map((f) => (f.member === from ? { ...f, member: to } : f));
  return { ...spec, btf: btfWithTypes(spec.btf!, types), structOps: { bpfkit_cc: { ...spec.structOps.bpfkit_cc!, functions } } };
}

whenFeature('kernel-btf').describe("struct_ops against this kernel's BTF", () => {
  it("places the members by name into the kernel's tcp_congestion_ops and gives each program its member's kernel index", () => {
    const kernel = vmlinuxBtf();
    const plan = prepareStructOps(read(), kernelBtfs, ['bpfkit_ssthresh', 'bpfkit_cong_avoid', 'bpfkit_undo_cwnd', 'bpfkit_init']);
    const type = kernel.find('tcp_congestion_ops', BtfKind.STRUCT)!;
    const wrapper = kernel.find('bpf_struct_ops_tcp_congestion_ops', BtfKind.STRUCT)!;
    const data = wrapper.members!.find((m) => m.name === 'data')!.bitOffset / 8;
    const kernelOffset = (name: string) => data + type.members!.find((m) => m.name === name)!.bitOffset / 8;
    const kernelIndex = (name: string) => type.members!.findIndex((m) => m.name === name);
    expect(plan.maps).toHaveLength(1);
    const [m] = plan.maps;
    expect(m!.spec).toEqual({
      name: 'bpfkit_cc',
      type: MapType.STRUCT_OPS,
      keySize: 4,
      valueSize: wrapper.sizeOrType,
      maxEntries: 1,
      flags: MapFlags.LINK,
    });
    expect(m).toMatchObject({ module: 'vmlinux', kernelTypeId: type.id, valueTypeId: wrapper.id });
    // name and flags moved from the object's offsets (32, 48) to the kernel's.
    const name = m!.value.subarray(kernelOffset('name'), kernelOffset('name') + 16);
    expect(new TextDecoder().decode(name.subarray(0, name.indexOf(0)))).toBe('bpfkit_cc');
    expect(new DataView(m!.value.buffer).getUint32(kernelOffset('flags'), true)).toBe(1);
    expect(m!.slots.map((s) => [s.member, s.offset])).toEqual(
      ['ssthresh', 'cong_avoid', 'undo_cwnd', 'init'].map((n) => [n, kernelOffset(n)]),
    );
    // Everything but name and flags is zero.
    const rest = m!.value.slice();
    rest.fill(0, kernelOffset('name'), kernelOffset('name') + 16);
    rest.fill(0, kernelOffset('flags'), kernelOffset('flags') + 4);
    expect(rest.every((b) => b === 0)).toBe(true);
    for (const [prog, member] of [
      ['bpfkit_ssthresh', 'ssthresh'],
      ['bpfkit_cong_avoid', 'cong_avoid'],
      ['bpfkit_undo_cwnd', 'undo_cwnd'],
      ['bpfkit_init', 'init'],
    ] as const) {
      expect(plan.programs[prog]).toEqual({ attachBtfId: type.id, expectedAttachType: kernelIndex(member), module: 'vmlinux' });
    }
    // init is not where the object put it: the kernel's index is used.
    expect(kernelIndex('init')).not.toBe(3);
  });

  it("refuses a member the kernel's struct lacks, naming it", () => {
    const spec = renameMember(read(), 'undo_cwnd', 'bpfkit_no_such_op');
    const run = () => prepareStructOps(spec, kernelBtfs, Object.keys(spec.programs));
    expect(run).toThrow(NotSupportedError);
    expect(run).toThrow(
      /member 'bpfkit_no_such_op' of struct_ops map 'bpfkit_cc'.*no member 'bpfkit_no_such_op' for program 'bpfkit_undo_cwnd'/,
    );
  });
});

whenKernel('kernel-btf', 'map:struct_ops', 'struct-ops-link').describe('struct_ops on the kernel', () => {
  it('loads the programs against tcp_congestion_ops and stores the value, which reads back with the program ids', () => {
    const before = fds();
    const coll = load(read());
    try {
      const kernel = vmlinuxBtf();
      const type = kernel.find('tcp_congestion_ops', BtfKind.STRUCT)!;
      const wrapper = kernel.find('bpf_struct_ops_tcp_congestion_ops', BtfKind.STRUCT)!;
      const data = wrapper.members!.find((m) => m.name === 'data')!.bitOffset / 8;
      const offset = (name: string) => data + type.members!.find((m) => m.name === name)!.bitOffset / 8;
      expect(coll.warnings).toEqual([]);
      for (const [prog, member] of [
        ['bpfkit_ssthresh', 'ssthresh'],
        ['bpfkit_cong_avoid', 'cong_avoid'],
        ['bpfkit_undo_cwnd', 'undo_cwnd'],
        ['bpfkit_init', 'init'],
      ] as const) {
        const info = coll.programs[prog]!.info();
        expect(info.type).toBe(ProgramType.STRUCT_OPS);
        expect(info.attachBtfId).toBe(type.id);
        expect(offset(member)).toBeGreaterThanOrEqual(data);
      }
      const map = coll.maps.bpfkit_cc!;
      expect(map.info()).toMatchObject({
        type: MapType.STRUCT_OPS,
        keySize: 4,
        valueSize: wrapper.sizeOrType,
        maxEntries: 1,
        flags: MapFlags.LINK,
      });
      const value = map.lookup(new Uint8Array(4)) as Uint8Array;
      const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
      // The kernel reports each program's id in its slot …
      for (const [prog, member] of [
        ['bpfkit_ssthresh', 'ssthresh'],
        ['bpfkit_cong_avoid', 'cong_avoid'],
        ['bpfkit_undo_cwnd', 'undo_cwnd'],
        ['bpfkit_init', 'init'],
      ] as const) {
        expect(view.getBigUint64(offset(member), true)).toBe(BigInt(coll.programs[prog]!.info().id));
      }
      // … the members the object set …
      const name = value.subarray(offset('name'), offset('name') + 16);
      expect(new TextDecoder().decode(name.subarray(0, name.indexOf(0)))).toBe('bpfkit_cc');
      expect(view.getUint32(offset('flags'), true)).toBe(1);
      expect(view.getBigUint64(offset('set_state'), true)).toBe(0n);
      // … and the state: READY (stored, waiting for a link; nothing registered).
      const state = kernel
        .find('bpf_struct_ops_state', BtfKind.ENUM)!
        .enumerators!.find((e) => e.name === 'BPF_STRUCT_OPS_STATE_READY')!.value;
      const common = wrapper.members!.find((m) => m.name === 'common')!;
      const stateMember = kernel
        .type(kernel.find('bpf_struct_ops_common_value', BtfKind.STRUCT)!.id)!
        .members!.find((m) => m.name === 'state')!;
      expect(BigInt(view.getUint32(common.bitOffset / 8 + stateMember.bitOffset / 8, true))).toBe(state);
      // The congestion control was not registered: the kernel does not list it.
      const available = fs.readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8');
      expect(available.split(/\s+/)).not.toContain('bpfkit_cc');
    } finally {
      coll.close();
    }
    expect(fds()).toBe(before);
  });

  it('leaves a map empty with a warning when its programs are not all loaded', () => {
    const spec = read();
    const { bpfkit_init: _left, ...programs } = spec.programs;
    const partial = { ...spec, programs };
    const before = fds();
    const coll = load(partial);
    try {
      expect(coll.warnings).toEqual(["struct_ops map 'bpfkit_cc' was left empty: its program 'bpfkit_init' was not loaded"]);
      const value = coll.maps.bpfkit_cc!.lookup(new Uint8Array(4)) as Uint8Array;
      expect(value.every((b) => b === 0)).toBe(true);
    } finally {
      coll.close();
    }
    expect(fds()).toBe(before);
  });

  it('says why the kernel refuses the value, and closes what it created', () => {
    // The object's ssthresh program offered as the kernel's set_state: it loads, but tcp_congestion_ops without ssthresh is refused.
    const broken = renameMember(read(), 'ssthresh', 'set_state');
    const before = fds();
    let error: unknown;
    try {
      load(broken).close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).code).toBe('EINVAL');
    expect((error as Error).message).toMatch(
      /struct_ops map 'bpfkit_cc'.*BPF_MAP_UPDATE_ELEM.*struct tcp_congestion_ops value: a member it requires is unset/,
    );
    expect(fds()).toBe(before);
  });
});
