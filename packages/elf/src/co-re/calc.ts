import { BtfKind } from '../btf/kinds.js';
import { coreError, enumeratorValue, isAnyEnum, skipMods, sizeOf, typeById, typeLabel } from './btf-util.js';
import { CoreReloKind, coreReloKindName, isEnumvalKind, isFieldKind, isTypeKind } from './kinds.js';
import type { CoreSpec } from './spec.js';

/** What one side (local or target) of a relocation computes. */
interface SideValue {
  value: bigint;
  /** For FIELD_BYTE_OFFSET of a non-bitfield: the size of what a load/store of the field moves, and its type. */
  memSize: number;
  memTypeId: number;
  /** Whether the instruction must already hold the local value. */
  validate: boolean;
}

/**
 * The outcome of a relocation for one candidate (or for no candidate): the
 * value clang put in the instruction (`original`), the value to patch in,
 * or poisoning.
 */
export interface CoreRelocationOutcome {
  original: bigint;
  value: bigint;
  poison: boolean;
  /** Why the instruction is poisoned. */
  reason?: string;
  validate: boolean;
  /** A load/store must not change size (the field is neither an unsigned integer nor a pointer on both sides). */
  failMemSizeAdjust: boolean;
  originalSize: number;
  newSize: number;
}

const POISON = Symbol('poison');

function fieldValue(kind: number, spec: CoreSpec | undefined, littleEndian: boolean): SideValue | typeof POISON {
  const out: SideValue = { value: 0n, memSize: 0, memTypeId: 0, validate: true };
  if (kind === CoreReloKind.FIELD_EXISTS) {
    out.value = spec ? 1n : 0n;
    return out;
  }
  if (!spec) return POISON;
  const { btf } = spec;
  const acc = spec.spec.at(-1)!;
  const elementOf = (id: number) => {
    let t = skipMods(btf, id);
    while (t.kind === BtfKind.ARRAY) t = skipMods(btf, t.array!.type);
    return t.id;
  };

  if (acc.name === undefined) {
    // The access ends on an array element (or on the root pointer's target).
    if (kind === CoreReloKind.FIELD_BYTE_OFFSET) {
      out.value = BigInt(Math.floor(spec.bitOffset / 8));
      out.memSize = sizeOf(btf, elementOf(acc.typeId));
      out.memTypeId = acc.typeId;
    } else if (kind === CoreReloKind.FIELD_BYTE_SIZE) {
      out.value = BigInt(sizeOf(btf, acc.typeId));
    } else {
      coreError(`${coreReloKindName(kind)} cannot be applied to an array element`);
    }
    return out;
  }

  const parent = typeById(btf, acc.typeId);
  const member = parent.members![acc.idx]!;
  const mt = skipMods(btf, member.type);
  const bitOff = spec.bitOffset;
  let bitSize = member.bitfieldSize ?? 0;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    // The smallest naturally aligned load of at least the field's type size that holds every bit.
    byteSize = mt.sizeOrType;
    if (!(byteSize > 0)) coreError(`bitfield '${member.name}' of ${typeLabel(parent)} has an unsized type`);
    byteOff = Math.floor(Math.floor(bitOff / 8) / byteSize) * byteSize;
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) coreError(`bitfield '${member.name}' of ${typeLabel(parent)} cannot be read with one 64-bit load`);
      byteSize *= 2;
      byteOff = Math.floor(Math.floor(bitOff / 8) / byteSize) * byteSize;
    }
  } else {
    byteSize = sizeOf(btf, mt.id);
    byteOff = Math.floor(bitOff / 8);
    bitSize = byteSize * 8;
  }
  // Bitfield offsets, sizes and shifts are the compiler's choice: only check signedness and right shifts.
  out.validate = !bitfield;
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      out.value = BigInt(byteOff);
      if (!bitfield) {
        out.memSize = sizeOf(btf, elementOf(mt.id));
        out.memTypeId = mt.id;
      }
      break;
    case CoreReloKind.FIELD_BYTE_SIZE:
      out.value = BigInt(byteSize);
      break;
    case CoreReloKind.FIELD_SIGNED:
      out.value = (isAnyEnum(mt) && mt.kindFlag) || (mt.kind === BtfKind.INT && ((mt.int?.encoding ?? 0) & 1) !== 0) ? 1n : 0n;
      out.validate = true;
      break;
    case CoreReloKind.FIELD_LSHIFT_U64:
      out.value = BigInt(littleEndian ? 64 - (bitOff + bitSize - byteOff * 8) : (8 - byteSize) * 8 + (bitOff - byteOff * 8));
      break;
    case CoreReloKind.FIELD_RSHIFT_U64:
      out.value = BigInt(64 - bitSize);
      out.validate = true;
      break;
    default:
      coreError(`unknown field relocation kind ${kind}`);
  }
  return out;
}

function typeValue(kind: number, spec: CoreSpec | undefined): SideValue {
  const out: SideValue = { value: 0n, memSize: 0, memTypeId: 0, validate: true };
  // Type relocations give 0 when the type is not found: they never poison.
  if (!spec) return out;
  switch (kind) {
    case CoreReloKind.TYPE_ID_TARGET:
      out.value = BigInt(spec.rootTypeId);
      // Type ids in instructions change when objects are linked: not worth checking.
      out.validate = false;
      break;
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_MATCHES:
      out.value = 1n;
      break;
    case CoreReloKind.TYPE_SIZE:
      out.value = BigInt(sizeOf(spec.btf, spec.rootTypeId));
      break;
    default:
      coreError(`unknown type relocation kind ${kind}`);
  }
  return out;
}

function enumValue(kind: number, spec: CoreSpec | undefined): SideValue | typeof POISON {
  const out: SideValue = { value: 0n, memSize: 0, memTypeId: 0, validate: true };
  if (kind === CoreReloKind.ENUMVAL_EXISTS) {
    out.value = spec ? 1n : 0n;
    return out;
  }
  if (!spec) return POISON;
  const acc = spec.spec[0]!;
  out.value = enumeratorValue(typeById(spec.btf, acc.typeId), acc.idx);
  return out;
}

/**
 * Computes a relocation from the local spec and a target spec (`undefined`:
 * no candidate matched), as libbpf does: field, type and enum values; the
 * local value the instruction must hold; poisoning when a needed field or
 * enumerator is missing; and whether a load/store may change size (only
 * between unsigned integers or between pointers).
 */
export function computeRelocation(
  local: CoreSpec,
  target: CoreSpec | undefined,
  littleEndian: boolean,
  why?: string,
): CoreRelocationOutcome {
  const kind = local.kind;
  const result: CoreRelocationOutcome = {
    original: 0n,
    value: 0n,
    poison: false,
    validate: true,
    failMemSizeAdjust: false,
    originalSize: 0,
    newSize: 0,
  };
  const poisoned = (): CoreRelocationOutcome => ({ ...result, poison: true, reason: why ?? 'no target matches' });
  if (isFieldKind(kind)) {
    const l = fieldValue(kind, local, littleEndian);
    if (l === POISON) return poisoned();
    const t = fieldValue(kind, target, littleEndian);
    result.original = l.value;
    result.validate = l.validate;
    result.originalSize = l.memSize;
    if (t === POISON) return poisoned();
    result.value = t.value;
    result.newSize = t.memSize;
    if (l.memSize !== t.memSize && target) {
      const lt = typeById(local.btf, l.memTypeId);
      const tt = typeById(target.btf, t.memTypeId);
      const unsignedInt = (x: typeof lt) => x.kind === BtfKind.INT && (x.int?.encoding ?? 0) !== 1;
      const ok = (lt.kind === BtfKind.PTR && tt.kind === BtfKind.PTR) || (unsignedInt(lt) && unsignedInt(tt));
      result.failMemSizeAdjust = !ok;
    }
    return result;
  }
  if (isTypeKind(kind)) {
    const l = typeValue(kind, local);
    const t = typeValue(kind, target);
    return { ...result, original: l.value, validate: l.validate, value: t.value };
  }
  if (isEnumvalKind(kind)) {
    const l = enumValue(kind, local);
    if (l === POISON) return poisoned();
    const t = enumValue(kind, target);
    if (t === POISON) return { ...poisoned(), original: l.value };
    return { ...result, original: l.value, value: t.value };
  }
  return coreError(`unknown relocation kind ${kind}`);
}
