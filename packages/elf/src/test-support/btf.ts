import type { Btf, BtfType } from '../btf/parse.js';
import { essentialName } from '../co-re/btf-util.js';

/**
 * `btf` with its types replaced by `types` (same ids), strings and base
 * kept: how a test hands a loader BTF it edited.
 *
 * @example
 * const renamed = btfWithTypes(btf, btf.types.map((t) => (t.name === 'a' ? { ...t, name: 'b' } : t)));
 */
export function btfWithTypes(btf: Btf, types: BtfType[]): Btf {
  const own = (name: string, kind?: number) =>
    types.find((t) => t.id >= btf.firstTypeId && t.name === name && (kind === undefined || t.kind === kind));
  return {
    types,
    typeCount: types.length,
    type: (id) => types[id],
    littleEndian: btf.littleEndian,
    find: (name, kind) => btf.base?.find(name, kind) ?? own(name, kind),
    idsByEssentialName: (essential) =>
      types.filter((t) => t.id >= btf.firstTypeId && t.name && essentialName(t.name) === essential).map((t) => t.id),
    string: (offset) => btf.string(offset),
    strings: btf.strings,
    ...(btf.base ? { base: btf.base } : {}),
    firstTypeId: btf.firstTypeId,
    firstStringOffset: btf.firstStringOffset,
  };
}
