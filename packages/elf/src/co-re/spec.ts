import { BtfKind } from '../btf/kinds.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { coreError, isAnyEnum, isComposite, skipMods, sizeOf, typeById, typeLabel } from './btf-util.js';
import { isEnumvalKind, isFieldKind, isTypeKind } from './kinds.js';

/** Most levels an access string may have (libbpf's limit). */
export const CORE_SPEC_MAX_LEN = 64;

/**
 * One meaningful step of an access: a named member (`name` set), an array
 * element, or the enumerator of an enum relocation.
 */
export interface CoreAccessor {
  /** The struct/union (member step), the element type (array step) or the enum. */
  typeId: number;
  idx: number;
  name?: string;
}

/**
 * A relocation's access resolved in one BTF: the high-level steps (named
 * members and array indices), the raw indices of every level (anonymous
 * members included) and the bit offset they reach.
 */
export interface CoreSpec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  spec: CoreAccessor[];
  raw: number[];
  bitOffset: number;
}

/** Type and field accessors are of composites and arrays; the previous step says whether an array is a flexible last member. */
export function isFlexibleArray(btf: Btf, previous: CoreAccessor | undefined, elements: number): boolean {
  if (!previous?.name || elements > 0) return false;
  const parent = typeById(btf, previous.typeId);
  return previous.idx === (parent.members?.length ?? 0) - 1;
}

/**
 * Parses a relocation's access string against the local BTF: `'0'` for type
 * relocations, the enumerator index for enum ones, `'0:1:2'` (pointer index,
 * then member or element indices) for field ones. Malformed strings and
 * indices outside their type are CO-RE errors.
 */
export function parseCoreSpec(btf: Btf, typeId: number, accessString: string, kind: number): CoreSpec {
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, spec: [], raw: [], bitOffset: 0 };
  typeById(btf, typeId);
  if (!/^\d+(:\d+)*$/.test(accessString)) coreError(`access string '${accessString}' is not a list of indices like '0:1:2'`);
  if (isTypeKind(kind)) {
    if (accessString !== '0') coreError(`a type relocation has access string '${accessString}', expected '0'`);
    return spec;
  }
  const raw = accessString.split(':').map(Number);
  if (raw.length > CORE_SPEC_MAX_LEN) coreError(`access string '${accessString}' has more than ${CORE_SPEC_MAX_LEN} levels`);
  if (raw.some((n) => !Number.isSafeInteger(n) || n > 0x7fffffff)) coreError(`access string '${accessString}' has an index out of range`);
  spec.raw = raw;
  let t = skipMods(btf, typeId);
  let id = t.id;
  const first = raw[0]!;
  spec.spec.push({ typeId: id, idx: first });

  if (isEnumvalKind(kind)) {
    if (!isAnyEnum(t)) coreError(`enum relocation on ${typeLabel(t)}, which is not an enum`);
    if (raw.length > 1 || first >= t.enumerators!.length) coreError(`enumerator ${accessString} of ${typeLabel(t)} does not exist`);
    spec.spec[0]!.name = t.enumerators![first]!.name;
    return spec;
  }
  if (!isFieldKind(kind)) coreError(`unknown relocation kind ${kind}`);

  spec.bitOffset = first * sizeOf(btf, id) * 8;
  for (let i = 1; i < raw.length; i++) {
    t = skipMods(btf, id);
    id = t.id;
    const idx = raw[i]!;
    if (isComposite(t)) {
      const m = t.members![idx];
      if (!m) coreError(`member ${idx} of ${typeLabel(t)} does not exist (it has ${t.members!.length}), in access '${accessString}'`);
      spec.bitOffset += m.bitOffset;
      if (m.name) spec.spec.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === BtfKind.ARRAY) {
      const a = t.array!;
      const elem = skipMods(btf, a.type);
      if (!isFlexibleArray(btf, spec.spec.at(-1), a.elements) && idx >= a.elements) {
        coreError(`index ${idx} is outside the ${a.elements} elements of the array, in access '${accessString}'`);
      }
      id = elem.id;
      spec.spec.push({ typeId: id, idx });
      spec.bitOffset += idx * sizeOf(btf, id) * 8;
    } else {
      coreError(`access '${accessString}' steps into ${typeLabel(t)} at level ${i}, which is neither a struct, a union nor an array`);
    }
  }
  return spec;
}

/**
 * A C-like rendering of a spec: `struct task_struct.comm[0] (0:4:0 @ offset 17)`,
 * `enum bpf_map_type::BPF_MAP_TYPE_HASH = 1`, or just the type for type relocations.
 */
export function formatCoreSpec(spec: CoreSpec): string {
  const root: BtfType | undefined = spec.btf.type(spec.rootTypeId);
  let text = root ? typeLabel(root) : `[${spec.rootTypeId}]`;
  if (isTypeKind(spec.kind) || !root) return text;
  if (isEnumvalKind(spec.kind)) {
    const acc = spec.spec[0];
    const e = acc ? spec.btf.type(acc.typeId) : undefined;
    if (acc && e?.enumerators?.[acc.idx]) text += `::${acc.name} = ${e.enumerators[acc.idx]!.value}`;
    return text;
  }
  spec.spec.forEach((acc, i) => {
    if (acc.name !== undefined) text += `.${acc.name}`;
    else if (i > 0 || acc.idx > 0) text += `[${acc.idx}]`;
  });
  const bits = spec.bitOffset % 8;
  text += ` (${spec.raw.join(':')} @ offset ${Math.floor(spec.bitOffset / 8)}${bits ? `.${bits}` : ''})`;
  return text;
}
