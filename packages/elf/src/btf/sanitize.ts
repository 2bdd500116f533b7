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
    if ((t.kind === BtfKind.FUNC || t.kind === BtfKind.FUNC_PROTO) && !support.func) out.add('FUNC');
    if (t.kind === BtfKind.FUNC && t.vlen !== 0 && support.func && !support.funcGlobal) out.add('global FUNC');
    if ((t.kind === BtfKind.VAR || t.kind === BtfKind.DATASEC) && !support.datasec) out.add('DATASEC');
    if (t.kind === BtfKind.FLOAT && !support.float) out.add('FLOAT');
    if (t.kind === BtfKind.DECL_TAG && !support.declTag) out.add('DECL_TAG');
    if (t.kind === BtfKind.TYPE_TAG && !support.typeTag) out.add('TYPE_TAG');
    if ((t.kind === BtfKind.ENUM64 || (t.kind === BtfKind.ENUM && t.kindFlag)) && !support.enum64) out.add('ENUM64');
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
  // The kind is tested first: `support` may probe the kernel for a feature when first asked (kernelBtfSupport),
  // and an object without, say, FLOAT types should not cost a probe for it.
  return types.map((t): BtfType => {
    const base = { id: t.id, name: t.name, vlen: 0, kindFlag: false };
    if (t.kind === BtfKind.FUNC_PROTO && !support.func) {
      return {
        ...base,
        kind: BtfKind.ENUM,
        sizeOrType: 4,
        enumerators: (t.params ?? []).map((p, i) => ({ name: p.name || `arg${i}`, value: BigInt(p.type) })),
      };
    }
    if (t.kind === BtfKind.FUNC && !support.func) return { ...base, kind: BtfKind.TYPEDEF, sizeOrType: t.sizeOrType };
    if (t.kind === BtfKind.FUNC && t.vlen !== 0 && !support.funcGlobal) return { ...t, vlen: 0 };
    if (t.kind === BtfKind.VAR && !support.datasec)
      return { ...base, kind: BtfKind.INT, sizeOrType: 1, int: { encoding: 0, offset: 0, bits: 8 } };
    if (t.kind === BtfKind.DATASEC && !support.datasec) {
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
    if (t.kind === BtfKind.FLOAT && !support.float) return { ...base, kind: BtfKind.STRUCT, sizeOrType: t.sizeOrType, members: [] };
    if (t.kind === BtfKind.DECL_TAG && !support.declTag)
      return { ...base, kind: BtfKind.INT, sizeOrType: 1, int: { encoding: 0, offset: 0, bits: 8 } };
    if (t.kind === BtfKind.TYPE_TAG && !support.typeTag) return { ...base, name: '', kind: BtfKind.CONST, sizeOrType: t.sizeOrType };
    if (t.kind === BtfKind.ENUM64 && !support.enum64) return { ...base, kind: BtfKind.UNION, sizeOrType: t.sizeOrType, members: [] };
    if (t.kind === BtfKind.ENUM && t.kindFlag && !support.enum64) {
      return { ...t, kindFlag: false, enumerators: t.enumerators?.map((e) => ({ ...e, value: BigInt.asUintN(32, e.value) })) };
    }
    return t;
  });
}
