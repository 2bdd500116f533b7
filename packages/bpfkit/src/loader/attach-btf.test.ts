import { AttachType, ProgramType } from '@bpfkit/core';
import { BtfBuilder, BtfKind, parseBtf } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { kernelBtfs } from '../kernel/kernel-btf.js';
import { attachBtfName, resolveAttachBtf } from '@bpfkit/elf';
import { whenFeature } from '@bpfkit/syscalls/testing';

const spec = (type: number, expectedAttachType: number | undefined, attachTo: string) => ({
  name: 'p',
  type,
  ...(expectedAttachType === undefined ? {} : { expectedAttachType }),
  attachTo,
  instructions: new Uint8Array(8),
  license: 'GPL',
});

describe('attach points in kernel BTF', () => {
  it('names the BTF type each tracing kind attaches to', () => {
    expect(attachBtfName(spec(ProgramType.TRACING, AttachType.TRACE_RAW_TP, 'sched_switch'))).toEqual({
      name: 'btf_trace_sched_switch',
      kind: BtfKind.TYPEDEF,
    });
    expect(attachBtfName(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'do_unlinkat'))).toEqual({
      name: 'do_unlinkat',
      kind: BtfKind.FUNC,
    });
    expect(attachBtfName(spec(ProgramType.TRACING, AttachType.TRACE_FEXIT, 'do_unlinkat'))).toEqual({
      name: 'do_unlinkat',
      kind: BtfKind.FUNC,
    });
    expect(attachBtfName(spec(ProgramType.TRACING, AttachType.MODIFY_RETURN, 'x'))).toEqual({ name: 'x', kind: BtfKind.FUNC });
    expect(attachBtfName(spec(ProgramType.TRACING, AttachType.TRACE_ITER, 'task'))).toEqual({ name: 'bpf_iter_task', kind: BtfKind.FUNC });
    expect(attachBtfName(spec(ProgramType.LSM, AttachType.LSM_MAC, 'file_open'))).toEqual({
      name: 'bpf_lsm_file_open',
      kind: BtfKind.FUNC,
    });
    expect(attachBtfName(spec(ProgramType.XDP, AttachType.XDP, 'eth0'))).toBeUndefined();
  });

  it('finds a target in vmlinux first, and a module:function target only in that module', () => {
    const base = new BtfBuilder();
    const int = base.addInt('int', 4, true);
    base.addFunc('shared', base.addFuncProto(int, []), 0);
    const vmlinux = parseBtf(base.encode());
    // A module's split BTF: vmlinux's types (ids 1-3), then its own: a static `shared` of its own (4), `only_in_mod` (5).
    const modBuilder = BtfBuilder.splitOf(vmlinux);
    const proto = vmlinux.find('shared')!.sizeOrType;
    modBuilder.addFunc('shared', proto, 0);
    modBuilder.addFunc('only_in_mod', proto, 0);
    const mod = parseBtf(modBuilder.encode(), vmlinux);
    const sources = [
      { name: 'vmlinux', btf: vmlinux },
      { name: 'mymod', btf: mod },
    ];
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'shared'), sources)).toMatchObject({ module: 'vmlinux' });
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'only_in_mod'), sources)).toMatchObject({
      module: 'mymod',
      id: 5,
    });
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'mymod:shared'), sources)).toMatchObject({
      module: 'mymod',
      id: 4,
      typeName: 'shared',
    });
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'nowhere'), sources)).toBeUndefined();
  });

  whenFeature('kernel-btf').it('finds tp_btf and fentry targets in this kernel', () => {
    const k = kernelBtfs();
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_RAW_TP, 'sched_switch'), k)).toMatchObject({
      module: 'vmlinux',
      typeName: 'btf_trace_sched_switch',
    });
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'do_unlinkat'), k)).toMatchObject({ module: 'vmlinux' });
    expect(resolveAttachBtf(spec(ProgramType.TRACING, AttachType.TRACE_FENTRY, 'dummy_file_read'), k)).toBeUndefined();
  });
});
