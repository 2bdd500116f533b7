import { BtfKind } from '../btf/kinds.js';
import type { Btf } from '../btf/parse.js';
import { coreError, essentialName, isAnyEnum, isComposite, kindsCompatible, skipMods, sizeOf, typeById, typeLabel } from './btf-util.js';
import { fieldsAreCompatible, typesAreCompatible, typesMatch } from './compat.js';
import { CoreReloKind, isEnumvalKind, isFieldKind, isTypeKind } from './kinds.js';
import { CORE_SPEC_MAX_LEN, isFlexibleArray } from './spec.js';
import type { CoreAccessor, CoreSpec } from './spec.js';

/**
 * A target type that may stand for a local type: same essential name and
 * compatible kind.
 *
 * @example
 * const c: CoreCandidate = { btf: vmlinux, targetIndex: 0, typeId: 114 };
 */
export interface CoreCandidate {
  btf: Btf;
  /** Index of `btf` in the target list (0: vmlinux, then modules). */
  targetIndex: number;
  typeId: number;
}

/** A match of a local spec in a candidate, or why there is none. */
export type SpecMatch = { spec: CoreSpec } | { reason: string };

/**
 * Candidates for a local type among the targets, as libbpf searches them:
 * every type of the first target (vmlinux; with its base, if it is split)
 * with the same essential name and a compatible kind; only when there is
 * none, the own types of the others (split module BTF).
 */
export function findCandidates(local: Btf, localId: number, targets: readonly Btf[]): CoreCandidate[] {
  const l = typeById(local, localId);
  const key = essentialName(l.name);
  const out: CoreCandidate[] = [];
  // Candidates have the local type's kind (or the other enum kind): functions only for a function.
  const which = l.kind === BtfKind.FUNC ? 'functions' : 'types';
  const add = (btf: Btf, targetIndex: number, own: Btf) => {
    for (const id of own.idsByEssentialName(key, which)) {
      if (kindsCompatible(btf.type(id)!, l)) out.push({ btf, targetIndex, typeId: id });
    }
  };
  const main = targets[0];
  if (main) {
    const chain: Btf[] = [];
    for (let b: Btf | undefined = main; b && chain.length < 16; b = b.base) chain.unshift(b);
    for (const own of chain) add(main, 0, own);
  }
  if (out.length > 0) return out;
  for (let i = 1; i < targets.length; i++) add(targets[i]!, i, targets[i]!);
  return out;
}

/** Finds the member a named local accessor refers to in a target composite, through anonymous members. */
function matchMember(local: Btf, acc: CoreAccessor, target: Btf, targetId: number, spec: CoreSpec): { next: number } | { reason: string } {
  const t = skipMods(target, targetId);
  if (!isComposite(t)) return { reason: `${typeLabel(t)} is not a struct or union` };
  const lt = typeById(local, acc.typeId);
  const lm = lt.members![acc.idx]!;
  let incompatible: string | undefined;
  for (let i = 0; i < t.members!.length; i++) {
    const m = t.members![i]!;
    if (spec.raw.length === CORE_SPEC_MAX_LEN) coreError(`access is nested more than ${CORE_SPEC_MAX_LEN} levels deep in ${typeLabel(t)}`);
    // Speculate that this member is the one; undone below when it is not.
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === '') {
      const inner = matchMember(local, acc, target, m.type, spec);
      if ('next' in inner) return inner;
      if (inner.reason.startsWith('incompatible')) incompatible = inner.reason;
    } else if (m.name === lm.name) {
      if (fieldsAreCompatible(local, lm.type, target, m.type)) {
        spec.spec.push({ typeId: t.id, idx: i, name: m.name });
        return { next: m.type };
      }
      spec.bitOffset -= m.bitOffset;
      spec.raw.pop();
      return { reason: `incompatible type of member '${m.name}' in ${typeLabel(t)}` };
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return { reason: incompatible ?? `no member '${lm.name}' in ${typeLabel(t)}` };
}

/**
 * Matches a local spec against one candidate: the same type relation for
 * type relocations (compatibility, or TYPE_MATCHES' stricter one), the
 * enumerator of the same essential name for enum relocations, and for field
 * relocations every named member (found by name, through anonymous members,
 * with a compatible type) and every array index (within bounds, unless
 * flexible), computing the target's bit offset on the way.
 */
export function matchSpec(local: CoreSpec, target: Btf, targetId: number): SpecMatch {
  const spec: CoreSpec = { btf: target, rootTypeId: targetId, kind: local.kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeKind(local.kind)) {
    const ok =
      local.kind === CoreReloKind.TYPE_MATCHES
        ? typesMatch(local.btf, local.rootTypeId, target, targetId)
        : typesAreCompatible(local.btf, local.rootTypeId, target, targetId);
    return ok
      ? { spec }
      : {
          reason: `${typeLabel(typeById(target, targetId))} does not ${local.kind === CoreReloKind.TYPE_MATCHES ? 'match' : 'have a compatible shape'}`,
        };
  }
  const first = local.spec[0]!;
  if (isEnumvalKind(local.kind)) {
    const t = skipMods(target, targetId);
    if (!isAnyEnum(t)) return { reason: `${typeLabel(t)} is not an enum` };
    const want = essentialName(first.name!);
    const i = t.enumerators!.findIndex((e) => essentialName(e.name) === want);
    if (i < 0) return { reason: `no enumerator ${want} in ${typeLabel(t)}` };
    spec.spec.push({ typeId: t.id, idx: i, name: t.enumerators![i]!.name });
    spec.raw.push(i);
    return { spec };
  }
  if (!isFieldKind(local.kind)) coreError(`unknown relocation kind ${local.kind}`);
  let id = targetId;
  for (let i = 0; i < local.spec.length; i++) {
    const acc = local.spec[i]!;
    let t = skipMods(target, id);
    id = t.id;
    if (acc.name !== undefined) {
      const found = matchMember(local.btf, acc, target, id, spec);
      if ('reason' in found) return found;
      id = found.next;
      continue;
    }
    if (i > 0) {
      if (t.kind !== BtfKind.ARRAY) return { reason: `${typeLabel(t)} is not an array (local access [${acc.idx}])` };
      const a = t.array!;
      if (!isFlexibleArray(target, spec.spec.at(-1), a.elements) && acc.idx >= a.elements) {
        return { reason: `index ${acc.idx} is outside the ${a.elements} elements of the target array` };
      }
      t = skipMods(target, a.type);
      id = t.id;
    }
    if (spec.raw.length === CORE_SPEC_MAX_LEN) coreError(`access is nested more than ${CORE_SPEC_MAX_LEN} levels deep`);
    spec.spec.push({ typeId: id, idx: acc.idx });
    spec.raw.push(acc.idx);
    spec.bitOffset += acc.idx * sizeOf(target, id) * 8;
  }
  return { spec };
}
