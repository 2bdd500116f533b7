/**
 * A typed skeleton of a BPF object, as text: its maps with their key and
 * value types, its programs by name, its constants and variables, and the
 * record types of its ring buffers, over `openSkeleton` of `bpfkit`.
 *
 * @module
 */
import { Helper, InvalidArgumentError, MapType, isPerCpuMapType } from '@bpfkit/core';
import { BtfKind } from '@bpfkit/elf';
import type { ObjectSpec } from '@bpfkit/elf';
import { LIB } from './types.js';
import type { TypeEmitter } from './types.js';

/** Where a ring buffer's record type came from. */
export interface RingBufferRecord {
  map: string;
  /** BTF type id of the record. */
  type: number;
  /** How it was found: named by the caller, or inferred from the programs' record sizes. */
  how: string;
}

/** Options of {@link emitSkeleton}. */
export interface SkeletonOptions {
  /** Base of the generated names (`Typed` gives `loadTyped`, `TypedMaps` …). */
  name: string;
  /** Ring buffer record types named by the caller: map name → C type name (`struct event` or `event`). */
  ringBuffers?: Readonly<Record<string, string>>;
}

const FD_HOLDERS: ReadonlySet<number> = new Set([
  MapType.PROG_ARRAY,
  MapType.PERF_EVENT_ARRAY,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.RINGBUF,
  MapType.USER_RINGBUF,
]);

/** Instructions read back from a helper call to find what set its arguments. */
const LOOKBACK = 64;

/** Helpers that put a record into a map: the registers of the map and of the record's size. */
const RECORD_HELPERS: ReadonlyMap<number, { map: number; size: number }> = new globalThis.Map([
  [Helper.ringbuf_reserve, { map: 1, size: 2 }],
  [Helper.ringbuf_output, { map: 1, size: 3 }],
  [Helper.perf_event_output, { map: 2, size: 5 }],
  [Helper.skb_output, { map: 2, size: 5 }],
  [Helper.xdp_output, { map: 2, size: 5 }],
]);

/** Map types whose records a skeleton can type. */
const RECORD_MAPS: ReadonlySet<number> = new Set([MapType.RINGBUF, MapType.PERF_EVENT_ARRAY]);

/**
 * The record sizes each ring buffer and perf event array receives: for
 * every call of `bpf_ringbuf_reserve` (map in r1, size in r2),
 * `bpf_ringbuf_output` (r1, r3) and `bpf_perf_event_output`,
 * `bpf_skb_output`, `bpf_xdp_output` (r2, r5) whose map is loaded from a
 * map reference and whose size is a constant moved into the register, both
 * found by reading back in the same straight run of code. A call whose map
 * or size cannot be read so counts as an unknown size (`-1`).
 *
 * @example
 * ringBufferRecordSizes(readObject(fs.readFileSync('gen.bpf.o'))).get('events'); // Set { 40 }
 */
export function ringBufferRecordSizes(spec: ObjectSpec): globalThis.Map<string, Set<number>> {
  const out = new globalThis.Map<string, Set<number>>();
  const le = spec.littleEndian;
  for (const program of Object.values(spec.programs)) {
    const code = program.instructions;
    const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
    const slots = code.byteLength / 8;
    const mapAt = new globalThis.Map<number, string>();
    for (const r of program.references) if (r.kind === 'map') mapAt.set(r.index, r.target);
    const regs = (i: number) => {
      const b = view.getUint8(i * 8 + 1);
      return le ? { dst: b & 0xf, src: b >> 4 } : { dst: b >> 4, src: b & 0xf };
    };
    for (let i = 0; i < slots; i++) {
      const op = view.getUint8(i * 8);
      if (op !== 0x85 || regs(i).src !== 0) continue;
      const regsOf = RECORD_HELPERS.get(view.getInt32(i * 8 + 4, le));
      if (!regsOf) continue;
      const sizeReg = regsOf.size;
      let map: string | undefined;
      let size: number | undefined;
      let mapDone = false;
      let sizeDone = false;
      for (let j = i - 1; j >= 0 && j >= i - LOOKBACK && !(mapDone && sizeDone); j--) {
        const o = view.getUint8(j * 8);
        const cls = o & 0x07;
        // A jump or call in between: what reaches the call is not one straight run.
        if (cls === 0x05 || cls === 0x06) break;
        const { dst } = regs(j);
        // The second slot of a 64-bit load is not an instruction.
        if (j > 0 && view.getUint8((j - 1) * 8) === 0x18) continue;
        const writes = cls === 0x04 || cls === 0x07 || cls === 0x00 || cls === 0x01;
        if (!writes) continue;
        if (!mapDone && dst === regsOf.map) {
          mapDone = true;
          if (o === 0x18) map = mapAt.get(j);
        }
        if (!sizeDone && dst === sizeReg) {
          sizeDone = true;
          if (o === 0xb7 || o === 0xb4) size = view.getInt32(j * 8 + 4, le);
        }
      }
      if (map === undefined) continue;
      const sizes = out.get(map) ?? new Set<number>();
      sizes.add(size ?? -1);
      out.set(map, sizes);
    }
  }
  return out;
}

/**
 * The record type of each ring buffer and perf event array that has one: named by the caller, else inferred (see {@link ringBufferRecordSizes}).
 *
 * @example
 * import { TypeEmitter } from './types.js';
 * const spec = readObject(fs.readFileSync('gen.bpf.o'));
 * ringBufferRecords(spec, new TypeEmitter(spec.btf!)); // [{ map: 'events', type: 12, how: 'inferred: …' }]
 */
export function ringBufferRecords(spec: ObjectSpec, types: TypeEmitter, named: Readonly<Record<string, string>> = {}): RingBufferRecord[] {
  const btf = spec.btf;
  const out: RingBufferRecord[] = [];
  for (const [map, type] of Object.entries(named)) {
    const m = spec.maps[map];
    if (!m || !RECORD_MAPS.has(m.type)) {
      const rings = Object.values(spec.maps).filter((x) => RECORD_MAPS.has(x.type));
      throw new InvalidArgumentError(
        'ring buffer',
        `a ring buffer or perf event array of the object (${rings.map((x) => x.name).join(', ') || 'it has none'})`,
        map,
      );
    }
    const id = btf ? findType(types, type) : undefined;
    if (id === undefined)
      throw new InvalidArgumentError(`ring buffer '${map}': record type`, "a struct, union or typedef of the object's BTF", type);
    out.push({ map, type: id, how: 'named with --ringbuf' });
  }
  if (!btf) return out;
  const sizes = ringBufferRecordSizes(spec);
  for (const [map, m] of Object.entries(spec.maps)) {
    if (!RECORD_MAPS.has(m.type) || map in named) continue;
    const seen = sizes.get(map);
    if (seen?.size !== 1 || seen.has(-1)) continue;
    const size = [...seen][0]!;
    const candidates: number[] = [];
    for (let id = 1; id < btf.typeCount; id++) {
      const t = btf.type(id)!;
      if ((t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) && t.name && t.sizeOrType === size) candidates.push(id);
    }
    if (candidates.length !== 1) continue;
    out.push({
      map,
      type: candidates[0]!,
      how: `inferred: every record the programs reserve or output on it has ${size} bytes, the size of exactly one struct or union of the object`,
    });
  }
  return out;
}

function findType(types: TypeEmitter, spec: string): number | undefined {
  const m = /^(struct|union|enum)\s+(.+)$/.exec(spec.trim());
  const name = (m ? m[2]! : spec).trim();
  const btf = types.btf;
  for (let id = 1; id < btf.typeCount; id++) {
    const t = btf.type(id)!;
    if (t.name !== name) continue;
    const kind =
      t.kind === BtfKind.STRUCT ? 'struct' : t.kind === BtfKind.UNION ? 'union' : t.kind === BtfKind.TYPEDEF ? 'typedef' : undefined;
    if (kind && (!m || m[1] === kind)) return id;
  }
  return undefined;
}

const prop = (name: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && name !== '__proto__' ? name : JSON.stringify(name));

/**
 * Writes the skeleton's declarations (after the types the emitter declared):
 * `<Name>Maps`, `<Name>Programs`, `<Name>Constants`, `<Name>Variables`,
 * `<Name>Records` and `load<Name>(system, object, options)`.
 *
 * @example
 * import { TypeEmitter } from './types.js';
 * const spec = readObject(fs.readFileSync('gen.bpf.o'));
 * const emitter = new TypeEmitter(spec.btf!);
 * emitter.emitAll();
 * const code = [...emitter.declarations, ...emitSkeleton(spec, emitter, { name: 'Gen' })].join('\n\n');
 */
export function emitSkeleton(spec: ObjectSpec, types: TypeEmitter, options: SkeletonOptions): string[] {
  const base = options.name;
  const claim = (suffix: string, prefix = '') => {
    const n = `${prefix}${base}${suffix}`;
    if (types.typeNames.has(n) || types.valueNames.has(n)) {
      throw new InvalidArgumentError('name', `a skeleton name whose declarations do not clash with the object's types`, n);
    }
    types.typeNames.take(n);
    types.valueNames.take(n);
    return n;
  };
  const names = {
    maps: claim('Maps'),
    programs: claim('Programs'),
    constants: claim('Constants'),
    variables: claim('Variables'),
    records: claim('Records'),
    options: claim('Options'),
    skeleton: claim('Skeleton'),
    load: claim('', 'load'),
  };
  const out: string[] = [];
  const mapTypes: string[] = [];
  const mapLayout: string[] = [];
  for (const [name, m] of Object.entries(spec.maps)) {
    const typed = spec.btf && m.btfKeyTypeId !== undefined && m.btfValueTypeId !== undefined && !FD_HOLDERS.has(m.type);
    if (!typed) {
      mapTypes.push(`  ${prop(name)}: ${LIB}.Map;`);
      mapLayout.push(`    ${prop(name)}: {},`);
      continue;
    }
    const key = types.describe(m.btfKeyTypeId!);
    const value = types.describe(m.btfValueTypeId!);
    const perCpu = isPerCpuMapType(m.type);
    const perCpuValue = /^[A-Za-z0-9_$.]+(\[\])*$/.test(value.ts) ? `${value.ts}[]` : `(${value.ts})[]`;
    mapTypes.push(`  ${prop(name)}: ${LIB}.Map<${key.ts}, ${perCpu ? perCpuValue : value.ts}>;`);
    mapLayout.push(`    ${prop(name)}: { key: ${key.codec}, value: ${value.codec}${perCpu ? ', perCpu: true' : ''} },`);
  }
  const constants: string[] = [];
  const variables: string[] = [];
  const variableLayout: string[] = [];
  for (const g of Object.values(spec.globals)) {
    const constant = g.section.startsWith('.rodata');
    for (const v of g.variables) {
      if (!spec.btf) continue;
      const d = types.describe(v.type);
      if (constant) constants.push(`  ${prop(v.name)}?: ${d.ts};`);
      variables.push(`  ${prop(v.name)}: ${LIB}.TypedVariable<${d.ts}>;`);
      variableLayout.push(`    ${prop(v.name)}: { codec: ${d.codec}, constant: ${constant} },`);
    }
  }
  const records = ringBufferRecords(spec, types, options.ringBuffers);
  const recordTypes = records.map((r) => {
    const d = types.describe(r.type);
    return { ...r, d };
  });
  const block = (lines: string[]) => (lines.length ? `{\n${lines.join('\n')}\n}` : '{}');
  out.push(`/** The maps of the object: key and value types from its BTF map definitions (raw bytes where it names none). */`);
  out.push(`export interface ${names.maps} ${block(mapTypes)}`);
  out.push(`/** The programs of the object, by function name. */`);
  out.push(`export interface ${names.programs} ${block(Object.keys(spec.programs).map((p) => `  ${prop(p)}: ${LIB}.Program;`))}`);
  out.push(
    `/** Values for the object's \`const volatile\` globals (\`.rodata\`), set before load; those left out keep their compiled value. */`,
  );
  out.push(`export interface ${names.constants} ${block(constants)}`);
  out.push(`/** The object's global variables (\`.data\`, \`.bss\`, and \`.rodata\` read-only), typed. */`);
  out.push(`export interface ${names.variables} ${block(variables)}`);
  out.push(
    `/**\n * Codecs of the records its ring buffers and perf event arrays carry, where known:\n${
      recordTypes.map((r) => ` * - ${r.map}: ${r.how}.`).join('\n') ||
      ' * (none known: name one with `bpfkit gen types --ringbuf map=type`)'
    }\n */`,
  );
  out.push(
    `export const ${names.records}: { ${recordTypes.map((r) => `${prop(r.map)}: ${LIB}.Codec<${r.d.ts}>`).join('; ')} } = { ${recordTypes
      .map((r) => `${prop(r.map)}: ${r.d.codec}`)
      .join(', ')} };`,
  );
  out.push(`/** Options of {@link ${names.load}}: those of \`System.loadCollection\`, with typed constants. */`);
  out.push(`export type ${names.options} = Omit<${LIB}.CollectionOptions, 'constants'> & { constants?: ${names.constants} };`);
  out.push(`/** The object loaded: typed maps, programs and variables, and the collection underneath. */`);
  out.push(`export type ${names.skeleton} = ${LIB}.Skeleton<${names.maps}, ${names.programs}, ${names.variables}>;`);
  out.push(
    [
      `/**`,
      ` * Loads the object (a path, its bytes, or a spec read from it) on \`system\` (the kernel's or a \`MockSystem\`),`,
      ` * with typed constants, and returns its maps, programs and variables typed.`,
      ` *`,
      ` * @example`,
      ` * using skel = ${names.load}(system, 'object.bpf.o', { constants: {} });`,
      ` */`,
      `export function ${names.load}(system: ${LIB}.System, object: string | Uint8Array | ${LIB}.CollectionSpec, options: ${names.options} = {}): ${names.skeleton} {`,
      `  return ${LIB}.openSkeleton<${names.maps}, ${names.programs}, ${names.variables}>(system, object, options, {`,
      `    maps: ${mapLayout.length ? `{\n${mapLayout.map((l) => `  ${l}`).join('\n')}\n    }` : '{}'},`,
      `    programs: ${JSON.stringify(Object.keys(spec.programs))},`,
      `    variables: ${variableLayout.length ? `{\n${variableLayout.map((l) => `  ${l}`).join('\n')}\n    }` : '{}'},`,
      `  });`,
      `}`,
    ].join('\n'),
  );
  // Each doc comment with the declaration it documents.
  const merged: string[] = [];
  for (const entry of out) {
    const last = merged[merged.length - 1];
    if (last?.startsWith('/**') && last.endsWith('*/')) merged[merged.length - 1] = `${last}\n${entry}`;
    else merged.push(entry);
  }
  return merged;
}
