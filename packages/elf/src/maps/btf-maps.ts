import type { MapSpec, Pinning } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import { BtfKind } from '../btf/kinds.js';
import type { Btf, BtfType } from '../btf/parse.js';

/** A map defined in a `.maps` section, with the BTF type ids of its key and value when declared by type. */
export interface BtfMapSpec extends MapSpec {
  name: string;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** For `__array(values, …)` of map-in-maps and prog arrays: the slots the object initialises (filled from relocations). */
  valuesSlots?: number;
  /** goebpf's `persistent_path`: the bpffs path to pin the map at, or to reuse the map pinned there. */
  persistentPath?: string;
}

const MODIFIERS: ReadonlySet<number> = new Set([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);

/** Follows typedefs and qualifiers to the underlying type. */
export function skipModifiers(btf: Btf, id: number): BtfType {
  let t = btf.type(id);
  for (let hops = 0; t && MODIFIERS.has(t.kind); hops++) {
    if (hops > 64) throw new ParseError('BTF', `type ${id}: a loop of typedefs or qualifiers`);
    t = btf.type(t.sizeOrType);
  }
  if (!t) throw new ParseError('BTF', `type ${id} does not exist`);
  return t;
}

/** The size in bytes of a BTF type, as C's sizeof would give it. */
export function btfSizeOf(btf: Btf, id: number, depth = 0): number {
  if (depth > 64) throw new ParseError('BTF', `type ${id}: nested too deeply to size`);
  const t = skipModifiers(btf, id);
  switch (t.kind) {
    case BtfKind.INT:
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.FLOAT:
    case BtfKind.DATASEC:
      return t.sizeOrType;
    case BtfKind.PTR:
      return 8;
    case BtfKind.ARRAY:
      return t.array!.elements * btfSizeOf(btf, t.array!.type, depth + 1);
    case BtfKind.VAR:
      return btfSizeOf(btf, t.sizeOrType, depth + 1);
    default:
      throw new ParseError('BTF', `type ${id} (${t.name || 'anonymous'}, kind ${t.kind}) has no size`);
  }
}

/** `__uint(name, N)` is `int (*name)[N]`: the value is the array's element count. */
function uintMember(btf: Btf, map: string, member: string, type: number): number {
  const ptr = skipModifiers(btf, type);
  if (ptr.kind !== BtfKind.PTR) throw new ParseError('BTF', `map '${map}': field '${member}' is not a __uint() (a pointer to an array)`);
  const arr = skipModifiers(btf, ptr.sizeOrType);
  if (arr.kind !== BtfKind.ARRAY) throw new ParseError('BTF', `map '${map}': field '${member}' is not a __uint() (a pointer to an array)`);
  return arr.array!.elements;
}

/** `__type(name, T)` is `T *name`: the pointee. */
function typeMember(btf: Btf, map: string, member: string, type: number): number {
  const ptr = skipModifiers(btf, type);
  if (ptr.kind !== BtfKind.PTR) throw new ParseError('BTF', `map '${map}': field '${member}' is not a __type() (a pointer)`);
  return ptr.sizeOrType;
}

const PINNING: Record<number, Pinning> = { 0: 'none', 1: 'by-name' };

/** Reads one map definition struct (also used for the inner map of a map-in-map). */
function mapDefinition(btf: Btf, name: string, structId: number, depth: number): BtfMapSpec {
  const def = skipModifiers(btf, structId);
  if (def.kind !== BtfKind.STRUCT) throw new ParseError('BTF', `map '${name}': its definition is not a struct`);
  const spec: BtfMapSpec = { name, type: 0, keySize: 0, valueSize: 0, maxEntries: 0 };
  for (const m of def.members ?? []) {
    switch (m.name) {
      case 'type':
        spec.type = uintMember(btf, name, m.name, m.type);
        break;
      case 'max_entries':
        spec.maxEntries = uintMember(btf, name, m.name, m.type);
        break;
      case 'map_flags':
        spec.flags = uintMember(btf, name, m.name, m.type);
        break;
      case 'numa_node':
        spec.numaNode = uintMember(btf, name, m.name, m.type);
        break;
      case 'map_extra':
        spec.mapExtra = BigInt(uintMember(btf, name, m.name, m.type));
        break;
      case 'key_size':
        spec.keySize = uintMember(btf, name, m.name, m.type);
        break;
      case 'value_size':
        spec.valueSize = uintMember(btf, name, m.name, m.type);
        break;
      case 'pinning': {
        const p = uintMember(btf, name, m.name, m.type);
        const pinning = PINNING[p];
        if (!pinning) throw new ParseError('BTF', `map '${name}': pinning ${p} is neither LIBBPF_PIN_NONE (0) nor LIBBPF_PIN_BY_NAME (1)`);
        spec.pinning = pinning;
        break;
      }
      case 'key': {
        const t = typeMember(btf, name, m.name, m.type);
        spec.btfKeyTypeId = t;
        spec.keySize = btfSizeOf(btf, t);
        break;
      }
      case 'value': {
        const t = typeMember(btf, name, m.name, m.type);
        spec.btfValueTypeId = t;
        spec.valueSize = btfSizeOf(btf, t);
        break;
      }
      case 'values': {
        // __array(values, struct inner) is `struct inner *values[]`: a (usually empty) array of pointers to the inner definition.
        const arr = skipModifiers(btf, m.type);
        if (arr.kind !== BtfKind.ARRAY) throw new ParseError('BTF', `map '${name}': field 'values' is not an __array()`);
        spec.valuesSlots = arr.array!.elements;
        const ptr = skipModifiers(btf, arr.array!.type);
        if (ptr.kind !== BtfKind.PTR) throw new ParseError('BTF', `map '${name}': field 'values' is not an array of pointers`);
        const target = skipModifiers(btf, ptr.sizeOrType);
        if (target.kind === BtfKind.STRUCT) {
          if (depth > 0) throw new ParseError('BTF', `map '${name}': an inner map may not hold maps itself`);
          spec.innerMap = mapDefinition(btf, `${name}.inner`, target.id, depth + 1);
        }
        // Prog arrays point to function prototypes: nothing more to read.
        break;
      }
      default:
        throw new ParseError('BTF', `map '${name}': unknown field '${m.name}'`);
    }
  }
  if (spec.innerMap || spec.valuesSlots !== undefined) {
    // Map-in-maps and prog arrays hold 4-byte fds/ids whatever the definition says.
    if (spec.keySize === 0) spec.keySize = 4;
    if (spec.valueSize === 0) spec.valueSize = 4;
  }
  return spec;
}

/**
 * The maps a BPF object defines in its `.maps` section with BTF
 * (`__uint`, `__type`, `__array` of libbpf's bpf_helpers.h), by variable name.
 *
 * @example
 * const btf = parseBtf(elf.data(elf.section('.BTF')!));
 * mapsFromBtf(btf).events; // { type: MapType.RINGBUF, maxEntries: 262144, … }
 */
export function mapsFromBtf(btf: Btf, section = '.maps'): Record<string, BtfMapSpec> {
  const datasec = btf.find(section, BtfKind.DATASEC);
  const out: Record<string, BtfMapSpec> = {};
  if (!datasec) return out;
  for (const v of datasec.variables ?? []) {
    const variable = btf.type(v.type);
    if (!variable || variable.kind !== BtfKind.VAR) throw new ParseError('BTF', `section ${section}: entry ${v.type} is not a variable`);
    out[variable.name] = mapDefinition(btf, variable.name, variable.sizeOrType, 0);
  }
  return out;
}
