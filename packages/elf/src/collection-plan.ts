import { MapFlags, MapType, mapTypeRules } from '@bpfkit/core';
import type { CollectionGlobalPlan, CollectionMapPlan, CollectionMapTypes, GlobalVariableLayout, MapSpec } from '@bpfkit/core';
import { BtfKind } from './btf/kinds.js';
import { KCONFIG_SECTION } from './externs/externs.js';
import { btfSizeOf, skipModifiers } from './maps/btf-maps.js';
import type { BtfMapSpec } from './maps/btf-maps.js';
import type { ObjectSpec } from './object.js';

/** What a backend creates for an object, before any program is loaded. */
export interface CollectionPlan {
  maps: CollectionMapPlan[];
  globals: CollectionGlobalPlan[];
  variables: GlobalVariableLayout[];
}

/** How the plan is shaped by the backend that will carry it out. */
export interface PlanOptions {
  /** Whether the object's BTF was loaded: maps then carry their key/value type ids (from that BTF). */
  withBtf: boolean;
  /** CPUs a perf event array declared with `max_entries` 0 gets a slot for (libbpf's rule). */
  possibleCpus: number;
  /** The `.kconfig` map value, when the object has kconfig externs. */
  kconfig?: Uint8Array;
}

const U32_KEYED: ReadonlySet<number> = new Set([
  MapType.ARRAY,
  MapType.PERCPU_ARRAY,
  MapType.ARRAY_OF_MAPS,
  MapType.PROG_ARRAY,
  MapType.PERF_EVENT_ARRAY,
]);
const FD_VALUED: ReadonlySet<number> = new Set([MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY]);

function mapSpecFor(name: string, m: BtfMapSpec, options: PlanOptions): MapSpec {
  const { btfKeyTypeId, btfValueTypeId, innerMap, valuesSlots: _slots, pinning: _pinning, name: _name, persistentPath: _path, ...rest } = m;
  const out: MapSpec = { ...rest, name };
  // The kernel takes key/value BTF only together with a value type, and not for every map type
  // (fd holders and keyless maps: their map_check_btf refuses it).
  if (options.withBtf && btfValueTypeId && mapTypeRules(m.type)?.keyValueBtf !== 'refused') {
    if (btfKeyTypeId) out.btfKeyTypeId = btfKeyTypeId;
    out.btfValueTypeId = btfValueTypeId;
  }
  if (innerMap) out.innerMap = mapSpecFor(innerMap.name ?? `${name}.inner`, innerMap as BtfMapSpec, options);
  // Sizes left to the loader (0), as goebpf and libbpf fill them: arrays are keyed by a u32, fd
  // holders store a u32 (an fd), a perf event array has a slot per possible CPU.
  if (m.keySize === 0 && U32_KEYED.has(m.type)) out.keySize = 4;
  if (m.valueSize === 0 && FD_VALUED.has(m.type)) out.valueSize = 4;
  if (m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0) out.maxEntries = options.possibleCpus;
  // The kernel creates LPM tries only with BPF_F_NO_PREALLOC; goebpf adds it for objects that leave it out.
  if (m.type === MapType.LPM_TRIE) out.flags = (m.flags ?? 0) | MapFlags.NO_PREALLOC;
  return out;
}

/**
 * The maps, global data sections and variables a backend creates for an
 * object, the same on every backend: map specs with their BTF type ids
 * where the kernel keeps them, perf event arrays sized to the CPUs when
 * they leave it to the loader, global data (and `.kconfig`) as
 * single-entry arrays typed by their DATASEC, and each global variable's
 * place and integer-ness.
 *
 * @example
 * const plan = planCollection(readObject(fs.readFileSync('prog.bpf.o')), { withBtf: true, possibleCpus: 4 });
 * plan.maps.map((m) => m.name); // ['flows', 'events']
 */
export function planCollection(spec: ObjectSpec, options: PlanOptions): CollectionPlan {
  const maps = Object.entries(spec.maps).map(([name, m]) => ({
    name,
    spec: mapSpecFor(name, m, options),
    pinByName: m.pinning === 'by-name',
    ...(m.persistentPath !== undefined ? { pinAt: m.persistentPath } : {}),
  }));
  const sections = Object.values(spec.globals).map((g) => ({
    section: g.section,
    contents: g.contents,
    flags: g.flags,
    readOnly: g.readOnly,
  }));
  if (options.kconfig && options.kconfig.byteLength > 0) {
    sections.push({ section: KCONFIG_SECTION, contents: options.kconfig, flags: MapFlags.RDONLY_PROG, readOnly: true });
  }
  const globals = sections.map((g): CollectionGlobalPlan => {
    const datasec = options.withBtf ? spec.btf?.find(g.section, BtfKind.DATASEC) : undefined;
    return {
      section: g.section,
      contents: g.contents,
      readOnly: g.readOnly,
      spec: {
        name: g.section.slice(0, 15),
        type: MapType.ARRAY,
        keySize: 4,
        valueSize: g.contents.byteLength,
        maxEntries: 1,
        flags: g.flags,
        ...(datasec ? { btfValueTypeId: datasec.id } : {}),
      },
    };
  });
  const variables: GlobalVariableLayout[] = [];
  const btf = spec.btf;
  for (const g of Object.values(spec.globals)) {
    for (const v of g.variables) {
      if (!btf) break;
      const t = skipModifiers(btf, v.type);
      const isInt = (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) && btfSizeOf(btf, v.type) <= 8;
      const signed = t.kind === BtfKind.INT ? (t.int!.encoding & 1) === 1 : t.kindFlag;
      variables.push({ name: v.name, section: g.section, offset: v.offset, size: v.size, ...(isInt ? { int: { signed } } : {}) });
    }
  }
  return { maps, globals, variables };
}

/**
 * The key and value types the object's BTF declares for each of its maps
 * (`__type(key, struct flow)`): struct and union types by their C name
 * (`'struct flow'`), others by the name they were written with (a typedef
 * such as `'__u64'`), with their sizes. Maps without BTF types are left out.
 *
 * @example
 * mapBtfTypes(readObject(fs.readFileSync('flows.bpf.o'))).flows;
 * // { key: { name: 'struct flow', size: 12 }, value: { name: '__u64', size: 8 } }
 */
export function mapBtfTypes(spec: ObjectSpec): Record<string, CollectionMapTypes> {
  const btf = spec.btf;
  const out: Record<string, CollectionMapTypes> = {};
  if (!btf) return out;
  const describe = (id: number | undefined) => {
    if (!id) return undefined;
    const written = btf.type(id);
    if (!written) return undefined;
    const t = skipModifiers(btf, id);
    const aggregate = t.kind === BtfKind.STRUCT ? 'struct' : t.kind === BtfKind.UNION ? 'union' : undefined;
    const name = aggregate && t.name ? `${aggregate} ${t.name}` : written.name || t.name;
    return name ? { name, size: btfSizeOf(btf, id) } : undefined;
  };
  for (const [name, m] of Object.entries(spec.maps)) {
    const key = describe(m.btfKeyTypeId);
    const value = describe(m.btfValueTypeId);
    if (key || value) out[name] = { ...(key ? { key } : {}), ...(value ? { value } : {}) };
  }
  return out;
}
