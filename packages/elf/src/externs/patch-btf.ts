/**
 * The object's `.BTF` as the kernel accepts it, patched in a copy of its own
 * bytes: what {@link objectBtfForKernel} and `encodeBtf` produce, without
 * decoding and re-encoding every type. The common case of a load: a CO-RE
 * tool's BTF holds the hundreds of kernel types it uses, and decoding them
 * all was a tenth of `bpfkit obj load`'s own time.
 *
 * @module
 */
import { BtfKind } from '../btf/kinds.js';
import { typeRecordBytes } from '../btf/parse.js';
import type { Btf } from '../btf/parse.js';
import { variableOffsets } from '../elf/parse.js';
import type { ElfFile } from '../elf/parse.js';
import { KCONFIG_SECTION, KSYMS_SECTION, restrictedFunctions } from './externs.js';
import type { ObjectExterns } from './externs.js';

/** BTF_VAR_GLOBAL_EXTERN, BTF_FUNC_EXTERN: linkages the kernel refuses (uapi btf.h). */
const EXTERN_LINKAGE = 2;
const GLOBAL_LINKAGE = 1;
const STATIC_LINKAGE = 0;

/**
 * A copy of the object's `.BTF` section with the edits
 * {@link objectBtfForKernel} makes, written into the records where they
 * are: extern VARs and FUNCs made global, restricted-visibility functions
 * static, each data section's DATASEC given the ELF section's size and its
 * variables' offsets from the symbol table, sorted by offset. Type ids and
 * string offsets are those of the object (`.BTF.ext` refers to both).
 *
 * Undefined where only the full rewrite will do: no `.BTF` section, a
 * big-endian object, or a `.kconfig` or `.ksyms` section (their layout
 * comes from the externs and may add a type). Nothing is checked against
 * the kernel's BTF support: a kernel that refuses the blob gets the full
 * rewrite with the kinds it lacks replaced.
 *
 * @example
 * const spec = readObject(fs.readFileSync('prog.bpf.o'));
 * const blob = patchObjectBtfForKernel(spec.elf, spec.btf!, spec.externs)
 *   ?? encodeBtf(objectBtfForKernel(spec.elf, spec.btf!, spec.externs), true, { strings: spec.btf!.strings });
 */
export function patchObjectBtfForKernel(elf: ElfFile, btf: Btf, externs: ObjectExterns): Uint8Array | undefined {
  const section = elf.section('.BTF');
  if (!section || !btf.littleEndian || externs.kconfigSize > 0) return undefined;
  const blob = elf.data(section).slice();
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const hdrLen = view.getUint32(4, true);
  const typesStart = hdrLen + view.getUint32(8, true);
  const typesEnd = typesStart + view.getUint32(12, true);
  // parseBtf checked these bytes already; a blob that differs from what it parsed gets the full rewrite.
  if (typesEnd > blob.byteLength) return undefined;
  const restricted = restrictedFunctions(elf);
  const recordAt: number[] = [0];
  const datasecs: number[] = [];
  for (let p = typesStart; p < typesEnd; ) {
    const info = view.getUint32(p + 4, true);
    const bytes = typeRecordBytes(info);
    if (bytes < 0 || p + bytes > typesEnd) return undefined;
    recordAt.push(p);
    const kind = (info >>> 24) & 0x1f;
    if (kind === BtfKind.VAR) {
      if (view.getUint32(p + 12, true) === EXTERN_LINKAGE) view.setUint32(p + 12, GLOBAL_LINKAGE, true);
    } else if (kind === BtfKind.FUNC) {
      // A FUNC's linkage is its vlen.
      let linkage = info & 0xffff;
      if (linkage === EXTERN_LINKAGE) linkage = GLOBAL_LINKAGE;
      if (linkage === GLOBAL_LINKAGE && restricted.size > 0 && restricted.has(btf.string(view.getUint32(p, true))))
        linkage = STATIC_LINKAGE;
      view.setUint32(p + 4, (info & ~0xffff) | linkage, true);
    } else if (kind === BtfKind.DATASEC) {
      datasecs.push(p);
    }
    p += bytes;
  }
  if (recordAt.length !== btf.typeCount) return undefined;
  for (const p of datasecs) {
    const name = btf.string(view.getUint32(p, true));
    if (name === KCONFIG_SECTION || name === KSYMS_SECTION) return undefined;
    const data = elf.section(name);
    if (!data) continue;
    view.setUint32(p + 8, data.size, true);
    const offsets = variableOffsets(elf, data.index);
    const count = view.getUint32(p + 4, true) & 0xffff;
    const entries: { type: number; offset: number; size: number }[] = [];
    for (let i = 0, at = p + 12; i < count; i++, at += 12) {
      const type = view.getUint32(at, true);
      const record = recordAt[type];
      const offset = view.getUint32(at + 4, true);
      const varName = record === undefined ? undefined : btf.string(view.getUint32(record, true));
      entries.push({
        type,
        offset: (varName !== undefined ? offsets.get(varName) : undefined) ?? offset,
        size: view.getUint32(at + 8, true),
      });
    }
    entries.sort((a, b) => a.offset - b.offset);
    for (let i = 0, at = p + 12; i < count; i++, at += 12) {
      view.setUint32(at, entries[i]!.type, true);
      view.setUint32(at + 4, entries[i]!.offset, true);
      view.setUint32(at + 8, entries[i]!.size, true);
    }
  }
  return blob;
}
