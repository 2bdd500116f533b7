// Cross-checks every layout table against the running kernel's own BTF
// (/sys/kernel/btf/vmlinux): each field's uapi name must exist at the same
// offset with the same width. Skips when the kernel has no BTF.
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { BtfKind, parseBtf, type Btf, type BtfType } from '@bpfkit/elf';
import { HOST_LITTLE_ENDIAN, StructLayout, fieldWidth, type AnyField } from './attr/layout.js';
import * as attr from './attr/index.js';
import { progInfoLayout } from './info/prog-info.js';
import { mapInfoLayout } from './info/map-info.js';
import { btfInfoLayout } from './info/btf-info.js';
import { linkInfoLayout } from './info/link-info.js';
import { tokenInfoLayout } from './info/token-info.js';
import { perfEventAttrLayout } from './perf/perf-event-attr.js';
import { whenFeature } from './test-support/kernel-gates.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const haveBtf = existsSync(VMLINUX);

interface Member {
  bitOffset: number;
  bitSize: number;
  byteSize: number | undefined;
}

/** Flattens a struct/union into dotted member paths (anonymous members merge into their parent). */
function flatten(btf: Btf, type: BtfType): Map<string, Member[]> {
  const out = new Map<string, Member[]>();
  const resolve = (id: number): BtfType => {
    let t = btf.types[id]!;
    while (t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.VOLATILE || t.kind === BtfKind.CONST || t.kind === BtfKind.TYPE_TAG) {
      t = btf.types[t.sizeOrType]!;
    }
    return t;
  };
  const walk = (t: BtfType, base: number, prefix: string): void => {
    for (const m of t.members ?? []) {
      // parseBtf splits kind_flag offsets into bit offset and bitfield size.
      const bitOffset = base + m.bitOffset;
      const bitfield = m.bitfieldSize ?? 0;
      const mt = resolve(m.type);
      const isAggregate = mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION;
      if (m.name === '') {
        if (isAggregate) walk(mt, bitOffset, prefix);
        continue;
      }
      const path = prefix + m.name;
      let byteSize: number | undefined;
      if (mt.kind === BtfKind.INT || mt.kind === BtfKind.ENUM || mt.kind === BtfKind.ENUM64 || isAggregate) byteSize = mt.sizeOrType;
      else if (mt.kind === BtfKind.PTR) byteSize = 8;
      const list = out.get(path) ?? [];
      list.push({ bitOffset, bitSize: bitfield, byteSize });
      out.set(path, list);
      if (isAggregate) walk(mt, bitOffset, `${path}.`);
    }
  };
  walk(type, 0, '');
  return out;
}

/** Every leaf field of a layout, with its absolute offset. */
function leaves(layout: StructLayout<object>, base = 0): { key: string; field: AnyField; offset: number }[] {
  const out: { key: string; field: AnyField; offset: number }[] = [];
  for (const [key, f] of layout.ordered) {
    if (f.kind === 'struct') out.push(...leaves(f.layout as StructLayout<object>, base + f.offset));
    else out.push({ key, field: f, offset: base + f.offset });
  }
  return out;
}

const attrLayouts: StructLayout<object>[] = (Object.values(attr) as unknown[]).filter(
  (v): v is StructLayout<object> => v instanceof StructLayout && v.name.startsWith('bpf_attr'),
);

const vmlinux = haveBtf ? parseBtf(new Uint8Array(readFileSync(VMLINUX))) : undefined;

/**
 * Whether the running kernel's uapi is at least the one the layouts follow
 * (6.18), read from its own BTF rather than its version: every info struct
 * is at least as large there as the layout. Then a field the kernel lacks is
 * a typo in the layout, not a field newer than the kernel.
 */
const RUNNING_KERNEL_HAS_EVERY_FIELD =
  vmlinux !== undefined &&
  (
    [
      ['bpf_prog_info', progInfoLayout],
      ['bpf_map_info', mapInfoLayout],
      ['bpf_link_info', linkInfoLayout],
      ['bpf_btf_info', btfInfoLayout],
      ['bpf_token_info', tokenInfoLayout],
      ['perf_event_attr', perfEventAttrLayout],
    ] as const
  ).every(([name, layout]) => (vmlinux.find(name, BtfKind.STRUCT)?.sizeOrType ?? 0) >= layout.size);

function check(btf: Btf, structName: string, kind: number, layout: StructLayout<object>, prefix = ''): void {
  const t = btf.find(structName, kind);
  // A struct newer than the running kernel (bpf_token_info before 6.9) is not there to compare with.
  if (!t && !RUNNING_KERNEL_HAS_EVERY_FIELD) return;
  expect(t, `${structName} in vmlinux BTF`).toBeDefined();
  const members = flatten(btf, t!);
  // The layouts follow the 6.18 uapi: an older kernel lacks the newer fields (and is smaller), but
  // every field it does have must sit where the layout puts it.
  if (RUNNING_KERNEL_HAS_EVERY_FIELD) expect(layout.size, `${layout.name} size`).toBeLessThanOrEqual(t!.sizeOrType);
  for (const { key, field, offset } of leaves(layout)) {
    const name = field.uapi.split('/')[0]!;
    const found = members.get(prefix + name);
    if (!found && !RUNNING_KERNEL_HAS_EVERY_FIELD) continue;
    expect(found, `${layout.name}.${key}: ${prefix}${name} in ${structName}`).toBeDefined();
    if (field.kind === 'flag' || field.kind === 'bits') {
      if (!HOST_LITTLE_ENDIAN) continue;
      const width = field.kind === 'flag' ? 1 : field.width;
      const want = { bitOffset: offset * 8 + field.bit, bitSize: width };
      expect(
        found!.map((m) => ({ bitOffset: m.bitOffset, bitSize: m.bitSize })),
        `${layout.name}.${key}`,
      ).toContainEqual(want);
    } else {
      const at = found!.filter((m) => m.bitOffset === offset * 8);
      expect(at.length, `${layout.name}.${key}: ${name} at byte ${offset} (kernel: ${found!.map((m) => m.bitOffset / 8)})`).toBeGreaterThan(
        0,
      );
      const size = at[0]!.byteSize;
      if (size !== undefined && field.kind !== 'str' && field.kind !== 'bytes') {
        expect(size, `${layout.name}.${key}: width`).toBe(fieldWidth(field));
      }
    }
  }
}

whenFeature('kernel-btf').describe('layouts match the running kernel BTF', () => {
  const btf = vmlinux;

  it('finds a layout for every bpf_attr member family', () => {
    expect(attrLayouts.length).toBeGreaterThanOrEqual(20);
  });

  it('catches a wrong offset, a wrong width and an unknown name', () => {
    const at = (f: AnyField) => new StructLayout<{ x: number }>('bpf_attr (bogus)', 16, { x: f as never });
    expect(() =>
      check(btf!, 'bpf_attr', BtfKind.UNION, at({ kind: 'u32', offset: 4, uapi: 'map_type' }) as StructLayout<object>),
    ).toThrow();
    expect(() =>
      check(btf!, 'bpf_attr', BtfKind.UNION, at({ kind: 'u64', offset: 0, uapi: 'map_type' }) as StructLayout<object>),
    ).toThrow();
    // On a kernel older than the layouts a field it lacks reads as "newer than this kernel", not as a typo.
    if (RUNNING_KERNEL_HAS_EVERY_FIELD)
      expect(() =>
        check(btf!, 'bpf_attr', BtfKind.UNION, at({ kind: 'u32', offset: 0, uapi: 'no_such_field' }) as StructLayout<object>),
      ).toThrow();
  });

  it.each(attrLayouts.map((l) => [l.name, l] as const))('%s', (_name, layout) => {
    check(btf!, 'bpf_attr', BtfKind.UNION, layout);
  });

  it('bpf_iter_link_info', () => check(btf!, 'bpf_iter_link_info', BtfKind.UNION, attr.iterLinkInfoLayout as StructLayout<object>));
  it('bpf_prog_info', () => check(btf!, 'bpf_prog_info', BtfKind.STRUCT, progInfoLayout as StructLayout<object>));
  it('bpf_map_info', () => check(btf!, 'bpf_map_info', BtfKind.STRUCT, mapInfoLayout as StructLayout<object>));
  it('bpf_btf_info', () => check(btf!, 'bpf_btf_info', BtfKind.STRUCT, btfInfoLayout as StructLayout<object>));
  it('bpf_link_info', () => check(btf!, 'bpf_link_info', BtfKind.STRUCT, linkInfoLayout as StructLayout<object>));
  it('bpf_token_info', () => check(btf!, 'bpf_token_info', BtfKind.STRUCT, tokenInfoLayout as StructLayout<object>));
  it('perf_event_attr', () => check(btf!, 'perf_event_attr', BtfKind.STRUCT, perfEventAttrLayout as StructLayout<object>));

  it.skipIf(!RUNNING_KERNEL_HAS_EVERY_FIELD)(
    `info struct sizes equal the kernel sizeof${RUNNING_KERNEL_HAS_EVERY_FIELD ? '' : " — skipped: the running kernel's info structs are smaller than the 6.18 uapi these layouts follow"}`,
    () => {
      expect(btf!.find('bpf_prog_info', BtfKind.STRUCT)!.sizeOrType).toBe(progInfoLayout.size);
      expect(btf!.find('bpf_map_info', BtfKind.STRUCT)!.sizeOrType).toBe(mapInfoLayout.size);
      expect(btf!.find('bpf_link_info', BtfKind.STRUCT)!.sizeOrType).toBe(linkInfoLayout.size);
      expect(btf!.find('bpf_btf_info', BtfKind.STRUCT)!.sizeOrType).toBe(btfInfoLayout.size);
      expect(btf!.find('perf_event_attr', BtfKind.STRUCT)!.sizeOrType).toBe(perfEventAttrLayout.size);
    },
  );
});
