import fs from 'node:fs';
import { BpfError, MapFlags, MapType, mapTypeName, mapTypeNames, mapTypeFromName } from '@bpfkit/core';
import type { MapSpec, MapTypeName } from '@bpfkit/core';
import { BtfKind, parseBtf } from '@bpfkit/elf';
import { getFdById, native } from '@bpfkit/syscalls';
import { expect, it } from 'vitest';
import { createKernelMap } from './kernel-map.js';
import type { KernelMapOptions } from './kernel-map.js';
import { permanentMapFlags } from '@bpfkit/core';
import { pageSize } from './map-types.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const page = pageSize();
const INNER: MapSpec = { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 };

/** A struct_ops value type from the running kernel's BTF, when there is one. */
function structOpsType(): { id: number; size: number } | string {
  const path = '/sys/kernel/btf/vmlinux';
  if (!fs.existsSync(path)) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  const btf = parseBtf(fs.readFileSync(path));
  for (const name of ['bpf_struct_ops_tcp_congestion_ops', 'bpf_struct_ops_bpf_dummy_ops']) {
    const t = btf.find(name, BtfKind.STRUCT);
    if (t) return { id: t.id, size: t.sizeOrType };
  }
  return 'vmlinux BTF has no bpf_struct_ops_tcp_congestion_ops';
}

/** The smallest sensible spec of every map type of Linux 6.18, with the options it needs. */
function specFor(type: number): { spec: MapSpec; options?: KernelMapOptions } | string {
  const name = `t_${mapTypeName(type)}`.slice(0, 15);
  const base = { name, type, keySize: 4, valueSize: 8, maxEntries: 4 };
  switch (type) {
    case MapType.PROG_ARRAY:
    case MapType.PERF_EVENT_ARRAY:
    case MapType.CGROUP_ARRAY:
    case MapType.DEVMAP:
    case MapType.DEVMAP_HASH:
    case MapType.SOCKMAP:
    case MapType.SOCKHASH:
    case MapType.XSKMAP:
      return { spec: { ...base, valueSize: 4 } };
    case MapType.CPUMAP:
      return { spec: { ...base, valueSize: 4, maxEntries: 1 } };
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS:
      return { spec: { ...base, valueSize: 4, innerMap: INNER } };
    case MapType.STACK_TRACE:
      return { spec: { ...base, valueSize: 8 * 16 } };
    case MapType.LPM_TRIE:
      return { spec: { ...base, keySize: 8, flags: MapFlags.NO_PREALLOC } };
    case MapType.CGROUP_STORAGE:
    case MapType.PERCPU_CGROUP_STORAGE:
      return { spec: { ...base, keySize: 16, maxEntries: 0 } };
    case MapType.QUEUE:
    case MapType.STACK:
      return { spec: { ...base, keySize: 0 } };
    case MapType.BLOOM_FILTER:
      return { spec: { ...base, keySize: 0, maxEntries: 64, mapExtra: 3n } };
    case MapType.SK_STORAGE:
    case MapType.INODE_STORAGE:
    case MapType.TASK_STORAGE:
    case MapType.CGRP_STORAGE:
      return { spec: { ...base, maxEntries: 0, flags: MapFlags.NO_PREALLOC } };
    case MapType.RINGBUF:
    case MapType.USER_RINGBUF:
      return { spec: { ...base, keySize: 0, valueSize: 0, maxEntries: 4 * page } };
    case MapType.ARENA:
      return { spec: { ...base, keySize: 0, valueSize: 0, maxEntries: 4, flags: MapFlags.MMAPABLE } };
    case MapType.STRUCT_OPS: {
      const t = structOpsType();
      if (typeof t === 'string') return t;
      return { spec: { ...base, valueSize: t.size, maxEntries: 1 }, options: { vmlinuxValueTypeId: t.id } };
    }
    default:
      return { spec: base };
  }
}

whenKernel().describe('every map type of Linux 6.18', () => {
  const types = mapTypeNames.map((n) => mapTypeFromName(n)!).filter((t) => t !== MapType.UNSPEC);

  it('knows 33 map types', () => {
    expect(types).toHaveLength(33);
  });

  for (const type of types) {
    const made = specFor(type);
    // Each type runs where the probe says the kernel has it, and fails where the probe disagrees with the kernel.
    const title = `creates ${mapTypeName(type)}${typeof made === 'string' ? ` — skipped: ${made}` : ''}`;
    whenKernel(`map:${mapTypeName(type) as MapTypeName}`).it(title, (ctx) => {
      if (typeof made === 'string') return ctx.skip(made);
      const { spec, options } = made;
      const before = openFds();
      const map = createKernelMap(spec, undefined, options);
      try {
        const info = map.info();
        expect(info).toMatchObject({
          type,
          keySize: spec.keySize,
          valueSize: spec.valueSize,
          maxEntries: spec.maxEntries,
          name: spec.name,
        });
        expect(info.flags).toBe(permanentMapFlags(spec));
        expect(info.id).toBeGreaterThan(0);
        if (spec.mapExtra !== undefined) expect(info.mapExtra).toBe(spec.mapExtra);
      } finally {
        map.close();
      }
      // Temporary inner maps and BTF objects are closed.
      expect(openFds()).toBe(before);
    });
  }
});

const soType = structOpsType();
whenKernel('map:struct_ops', 'kernel-btf').describe('struct_ops maps of module structs', () => {
  const noType = typeof soType === 'string' ? soType : undefined;
  it.skipIf(noType !== undefined)(
    `pass the module BTF fd as value_type_btf_obj_fd (the kernel refuses vmlinux's own there)${noType ? ` — skipped: ${noType}` : ''}`,
    () => {
      const t = soType as { id: number; size: number };
      const spec: MapSpec = {
        name: 'so_module',
        type: MapType.STRUCT_OPS,
        keySize: 4,
        valueSize: t.size,
        maxEntries: 1,
        flags: MapFlags.LINK,
      };
      createKernelMap(spec, undefined, { vmlinuxValueTypeId: t.id }).close();
      // BTF object 1 is vmlinux: naming it as the module holding the struct reaches the kernel, which says EINVAL.
      const vmlinux = getFdById('btf', 1);
      const before = openFds();
      try {
        let error: unknown;
        try {
          createKernelMap(spec, undefined, { vmlinuxValueTypeId: t.id, valueTypeBtfObjFd: vmlinux }).close();
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(BpfError);
        expect((error as BpfError).code).toBe('EINVAL');
        expect(openFds()).toBe(before);
      } finally {
        native.close(vmlinux);
      }
      expect(() => createKernelMap(spec, undefined, { vmlinuxValueTypeId: t.id, valueTypeBtfObjFd: -1 })).toThrow(
        /options\.valueTypeBtfObjFd: expected an integer from 0/,
      );
    },
  );
});
