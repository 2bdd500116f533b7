import { BtfKind } from '../btf/kinds.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { coreError, essentialName, isAnyEnum, isComposite, kindsCompatible, skipMods, typeById } from './btf-util.js';

const MAX_DEPTH = 32;

/** Both integers are plain (no deprecated bit offset inside the int). */
function plainInts(a: BtfType, b: BtfType): boolean {
  return (a.int?.offset ?? 0) === 0 && (b.int?.offset ?? 0) === 0;
}

/**
 * Whether a local field's type may stand for a target field's type in a
 * field relocation: any two structs/unions; pointers; floats; integers of
 * any size and sign; enums and forward declarations with the same essential
 * name (or one anonymous); arrays of compatible elements. Qualifiers and
 * typedefs are looked through.
 */
export function fieldsAreCompatible(local: Btf, localId: number, target: Btf, targetId: number): boolean {
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipMods(local, localId);
    const t = skipMods(target, targetId);
    if (isComposite(l) && isComposite(t)) return true;
    if (!kindsCompatible(l, t)) return false;
    switch (l.kind) {
      case BtfKind.PTR:
      case BtfKind.FLOAT:
        return true;
      case BtfKind.FWD:
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const ln = essentialName(l.name);
        const tn = essentialName(t.name);
        return ln === '' || tn === '' || ln === tn;
      }
      case BtfKind.INT:
        return plainInts(l, t);
      case BtfKind.ARRAY:
        localId = l.array!.type;
        targetId = t.array!.type;
        continue;
      default:
        return false;
    }
  }
  return coreError(`type ${localId} is nested more than ${MAX_DEPTH} levels deep`);
}

/**
 * Whether the target type is a candidate for a type relocation
 * (TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE): same kind (enums of either
 * width count as one), then, through qualifiers and typedefs: structs,
 * unions, enums and forwards as they are; integers without bit offset;
 * pointers and arrays by what they point at or hold; function prototypes
 * by parameter count and compatible parameter and return types. The names
 * of the roots were already matched.
 */
export function typesAreCompatible(local: Btf, localId: number, target: Btf, targetId: number, level = MAX_DEPTH): boolean {
  if (!kindsCompatible(typeById(local, localId), typeById(target, targetId))) return false;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipMods(local, localId);
    const t = skipMods(target, targetId);
    if (!kindsCompatible(l, t)) return false;
    switch (l.kind) {
      case BtfKind.UNKN:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.FWD:
      case BtfKind.ENUM64:
        return true;
      case BtfKind.INT:
        return plainInts(l, t);
      case BtfKind.PTR:
        localId = l.sizeOrType;
        targetId = t.sizeOrType;
        continue;
      case BtfKind.ARRAY:
        localId = l.array!.type;
        targetId = t.array!.type;
        continue;
      case BtfKind.FUNC_PROTO: {
        const lp = l.params!;
        const tp = t.params!;
        if (lp.length !== tp.length) return false;
        for (let i = 0; i < lp.length; i++) {
          if (level <= 0) coreError(`function prototype ${l.id} is nested too deeply`);
          if (!typesAreCompatible(local, skipMods(local, lp[i]!.type).id, target, skipMods(target, tp[i]!.type).id, level - 1))
            return false;
        }
        localId = skipMods(local, l.sizeOrType).id;
        targetId = skipMods(target, t.sizeOrType).id;
        continue;
      }
      default:
        return false;
    }
  }
  return coreError(`type ${localId} is nested more than ${MAX_DEPTH} levels deep`);
}

/** Names match by essential name; an anonymous target only matches an anonymous local. */
function namesMatch(local: string, target: string): boolean {
  if (target === '') return local === '';
  return essentialName(local) === essentialName(target);
}

function enumsMatch(l: BtfType, t: BtfType): boolean {
  if (l.sizeOrType !== t.sizeOrType) return false;
  const le = l.enumerators!;
  const te = t.enumerators!;
  if (le.length > te.length) return false;
  return le.every((e) => te.some((x) => namesMatch(e.name, x.name)));
}

function compositesMatch(local: Btf, l: BtfType, target: Btf, t: BtfType, behindPointer: boolean, level: number): boolean {
  const lm = l.members!;
  const tm = t.members!;
  if (lm.length > tm.length) return false;
  return lm.every((m) => tm.some((x) => namesMatch(m.name, x.name) && typesMatch(local, m.type, target, x.type, behindPointer, level - 1)));
}

/**
 * The TYPE_MATCHES relation (stricter than compatibility): after qualifiers
 * and typedefs, names match by essential name and kinds are equal, except
 * that behind a pointer a struct or union matches a forward declaration of
 * the same kind, and enum matches enum64. Integers match by size and
 * signedness; pointers and arrays (same length) by what they refer to;
 * structs and unions when every local member has a matching member of the
 * same name (only kinds are compared behind a pointer); enums when sizes are
 * equal and every local enumerator name exists in the target; function
 * prototypes parameter by parameter.
 */
export function typesMatch(local: Btf, localId: number, target: Btf, targetId: number, behindPointer = false, level = MAX_DEPTH): boolean {
  if (level <= 0) coreError(`type ${localId} is nested too deeply to match`);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipMods(local, localId);
    const t = skipMods(target, targetId);
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case BtfKind.UNKN:
        return t.kind === BtfKind.UNKN;
      case BtfKind.FWD: {
        // A forward's kind_flag says union (1) or struct (0).
        if (t.kind === BtfKind.FWD) return l.kindFlag === t.kindFlag;
        if (!behindPointer) return false;
        return (t.kind === BtfKind.STRUCT && !l.kindFlag) || (t.kind === BtfKind.UNION && l.kindFlag);
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return isAnyEnum(t) && enumsMatch(l, t);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        if (behindPointer) {
          if (l.kind === t.kind) return true;
          return t.kind === BtfKind.FWD && (l.kind === BtfKind.UNION) === t.kindFlag;
        }
        return l.kind === t.kind && compositesMatch(local, l, target, t, behindPointer, level);
      case BtfKind.INT:
        return t.kind === BtfKind.INT && l.sizeOrType === t.sizeOrType && ((l.int?.encoding ?? 0) & 1) === ((t.int?.encoding ?? 0) & 1);
      case BtfKind.PTR:
        if (t.kind !== BtfKind.PTR) return false;
        behindPointer = true;
        localId = l.sizeOrType;
        targetId = t.sizeOrType;
        continue;
      case BtfKind.ARRAY:
        if (t.kind !== BtfKind.ARRAY || l.array!.elements !== t.array!.elements) return false;
        localId = l.array!.type;
        targetId = t.array!.type;
        continue;
      case BtfKind.FUNC_PROTO: {
        if (t.kind !== BtfKind.FUNC_PROTO || l.params!.length !== t.params!.length) return false;
        for (let i = 0; i < l.params!.length; i++) {
          if (!typesMatch(local, l.params![i]!.type, target, t.params![i]!.type, behindPointer, level - 1)) return false;
        }
        localId = l.sizeOrType;
        targetId = t.sizeOrType;
        continue;
      }
      default:
        return false;
    }
  }
  return coreError(`type ${localId} is nested more than ${MAX_DEPTH} levels deep`);
}
