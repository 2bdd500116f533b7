import { BtfKind } from './kinds.js';
import type { BtfType } from './parse.js';

/** Which BTF kinds and flags a kernel accepts (each was added in the kernel version noted). */
export interface BtfSupport {
  /** FUNC and FUNC_PROTO (4.20/5.0). */
  func: boolean;
  /** FUNC with global linkage (5.6). */
  funcGlobal: boolean;
  /** VAR and DATASEC (5.2). */
  datasec: boolean;
  /** FLOAT (5.13). */
  float: boolean;
  /** DECL_TAG (5.16). */
  declTag: boolean;
  /** TYPE_TAG (5.17). */
  typeTag: boolean;
  /** ENUM64 and signed enums (kind_flag on ENUM) (6.0). */
  enum64: boolean;
}

/** Everything supported: what a current kernel accepts. */
export const FULL_BTF_SUPPORT: Readonly<BtfSupport> = Object.freeze({
  func: true,
  funcGlobal: true,
  datasec: true,
  float: true,
  declTag: true,
  typeTag: true,
  enum64: true,
});

/** The kinds a kernel lacking `support` would refuse, named. */
export function unsupportedKinds(types: readonly BtfType[], support: BtfSupport): string[] {
  const out = new Set<string>();
  for (const t of types) {
    if (!support.func && (t.kind === BtfKind.FUNC || t.kind === BtfKind.FUNC_PROTO)) out.add('FUNC');
    if (support.func && !support.funcGlobal && t.kind === BtfKind.FUNC && t.vlen !== 0) out.add('global FUNC');
    if (!support.datasec && (t.kind === BtfKind.VAR || t.kind === BtfKind.DATASEC)) out.add('DATASEC');
    if (!support.float && t.kind === BtfKind.FLOAT) out.add('FLOAT');
    if (!support.declTag && t.kind === BtfKind.DECL_TAG) out.add('DECL_TAG');
    if (!support.typeTag && t.kind === BtfKind.TYPE_TAG) out.add('TYPE_TAG');
    if (!support.enum64 && (t.kind === BtfKind.ENUM64 || (t.kind === BtfKind.ENUM && t.kindFlag))) out.add('ENUM64');
  }
  return [...out];
}

/**
 * Rewrites the kinds an older kernel does not know into ones it does, type
 * for type so every id stays the same (the way libbpf sanitises object BTF):
 * FUNC_PROTO → ENUM and FUNC → TYPEDEF; global FUNC → static; VAR → INT and
 * DATASEC → STRUCT; FLOAT → empty STRUCT of the same size; DECL_TAG → INT;
 * TYPE_TAG → CONST; ENUM64 → empty UNION of the same size and signed ENUM →
 * unsigned. Returns new types; the input is left as is.
 *
 * @example
 * const forOldKernel = sanitizeBtf(btf.types, { ...FULL_BTF_SUPPORT, declTag: false, typeTag: false });
 */
export function sanitizeBtf(types: readonly BtfType[], support: BtfSupport): BtfType[] {
  return types.map((t): BtfType => {
    const base = { id: t.id, name: t.name, vlen: 0, kindFlag: false };
    if (!support.func && t.kind === BtfKind.FUNC_PROTO) {
      return {
        ...base,
        kind: BtfKind.ENUM,
        sizeOrType: 4,
        enumerators: (t.params ?? []).map((p, i) => ({ name: p.name || `arg${i}`, value: BigInt(p.type) })),
      };
    }
    if (!support.func && t.kind === BtfKind.FUNC) return { ...base, kind: BtfKind.TYPEDEF, sizeOrType: t.sizeOrType };
    if (support.func && !support.funcGlobal && t.kind === BtfKind.FUNC && t.vlen !== 0) return { ...t, vlen: 0 };
    if (!support.datasec && t.kind === BtfKind.VAR)
      return { ...base, kind: BtfKind.INT, sizeOrType: 1, int: { encoding: 0, offset: 0, bits: 8 } };
    if (!support.datasec && t.kind === BtfKind.DATASEC) {
      // A struct's name and members must be C identifiers: '.data' is not.
      return {
        ...base,
        name: t.name.replace(/[^A-Za-z0-9_]/g, '_'),
        kind: BtfKind.STRUCT,
        sizeOrType: t.sizeOrType,
        members: (t.variables ?? []).map((v) => ({
          name: types[v.type]!.name.replace(/[^A-Za-z0-9_]/g, '_'),
          type: v.type,
          bitOffset: v.offset * 8,
        })),
      };
    }
    if (!support.float && t.kind === BtfKind.FLOAT) return { ...base, kind: BtfKind.STRUCT, sizeOrType: t.sizeOrType, members: [] };
    if (!support.declTag && t.kind === BtfKind.DECL_TAG)
      return { ...base, kind: BtfKind.INT, sizeOrType: 1, int: { encoding: 0, offset: 0, bits: 8 } };
    if (!support.typeTag && t.kind === BtfKind.TYPE_TAG) return { ...base, name: '', kind: BtfKind.CONST, sizeOrType: t.sizeOrType };
    if (!support.enum64 && t.kind === BtfKind.ENUM64) return { ...base, kind: BtfKind.UNION, sizeOrType: t.sizeOrType, members: [] };
    if (!support.enum64 && t.kind === BtfKind.ENUM && t.kindFlag) {
      return { ...t, kindFlag: false, enumerators: t.enumerators?.map((e) => ({ ...e, value: BigInt.asUintN(32, e.value) })) };
    }
    return t;
  });
}
