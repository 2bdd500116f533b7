import { ParseError } from '../errors.js';
import { BtfKind } from '../btf/kinds.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { Elf, variableOffsets } from '../elf/parse.js';
import type { ElfFile } from '../elf/parse.js';
import { btfSizeOf, skipModifiers } from '../maps/btf-maps.js';

/** The section clang puts `__kconfig` externs in (a BTF DATASEC, no ELF section). */
export const KCONFIG_SECTION = '.kconfig';
/** The section clang puts `__ksym` externs in. */
export const KSYMS_SECTION = '.ksyms';

/** An extern symbol of an object, resolved at load time. */
export interface ExternSpec {
  name: string;
  /** `kconfig`: a kernel config value or `LINUX_*` constant; `ksym`: a kernel variable or function. */
  kind: 'kconfig' | 'ksym';
  /** `__weak`: may stay unresolved (zero, or a call that `bpf_ksym_exists()` reports missing). */
  weak: boolean;
  /** A kernel function (kfunc), called rather than loaded. */
  isFunc: boolean;
  /** The extern's VAR or FUNC type id in the object's BTF. */
  btfId: number;
  /** For variables: the type id of the value (0 for `void`: a typeless ksym, whose address comes from kallsyms). */
  type: number;
  /** For kconfig: offset of the value in the `.kconfig` map, and its size. */
  offset: number;
  size: number;
}

/** The externs of an object and the size of the `.kconfig` map their kconfig values need. */
export interface ObjectExterns {
  externs: ExternSpec[];
  /** Bytes of the `.kconfig` map value (0 when there are no kconfig externs). */
  kconfigSize: number;
}

/**
 * The extern symbols of an object (undefined ELF symbols), classified by the
 * BTF data section clang placed them in (`.kconfig` or `.ksyms`; a kfunc
 * may also be an extern FUNC alone), with kconfig values laid out in the
 * `.kconfig` map by declaration order and natural alignment.
 *
 * @example
 * const { externs } = externsFromObject(elf, btf);
 * externs.map((e) => `${e.kind} ${e.name}`); // ['kconfig LINUX_KERNEL_VERSION', 'ksym bpf_rcu_read_lock']
 */
export function externsFromObject(elf: ElfFile, btf: Btf | undefined): ObjectExterns {
  const symbols = elf.symbols.filter((s) => s.section === Elf.SHN_UNDEF && s.name !== '' && s.bind !== Elf.STB_LOCAL);
  if (symbols.length === 0) return { externs: [], kconfigSize: 0 };
  if (!btf) throw new ParseError('ELF', `extern '${symbols[0]!.name}' needs the object's BTF to be resolved (compile with -g)`);
  const inSection = new Map<string, string>();
  for (const sec of [KCONFIG_SECTION, KSYMS_SECTION]) {
    for (const v of btf.find(sec, BtfKind.DATASEC)?.variables ?? []) inSection.set(btf.type(v.type)!.name, sec);
  }
  const externs: ExternSpec[] = [];
  let kconfigSize = 0;
  for (const sym of symbols) {
    const section = inSection.get(sym.name);
    const decl = btf.types.find(
      (t) => t.name === sym.name && ((t.kind === BtfKind.VAR && t.linkage === 2) || (t.kind === BtfKind.FUNC && t.vlen === 2)),
    );
    if (!decl) throw new ParseError('BTF', `extern '${sym.name}' has no extern VAR or FUNC in the object's BTF`);
    const weak = sym.bind === Elf.STB_WEAK;
    if (decl.kind === BtfKind.FUNC) {
      if (section === KCONFIG_SECTION)
        throw new ParseError('BTF', `extern function '${sym.name}' is in ${KCONFIG_SECTION}; kconfig externs are variables`);
      externs.push({ name: sym.name, kind: 'ksym', weak, isFunc: true, btfId: decl.id, type: decl.sizeOrType, offset: 0, size: 0 });
      continue;
    }
    if (section === KCONFIG_SECTION) {
      const size = btfSizeOf(btf, decl.sizeOrType);
      const align = alignmentOf(btf, decl.sizeOrType);
      const offset = Math.ceil(kconfigSize / align) * align;
      kconfigSize = offset + size;
      externs.push({ name: sym.name, kind: 'kconfig', weak, isFunc: false, btfId: decl.id, type: decl.sizeOrType, offset, size });
    } else if (section === KSYMS_SECTION) {
      const typeless = skipModifiers(btf, decl.sizeOrType).kind === BtfKind.UNKN;
      externs.push({
        name: sym.name,
        kind: 'ksym',
        weak,
        isFunc: false,
        btfId: decl.id,
        type: typeless ? 0 : decl.sizeOrType,
        offset: 0,
        size: 0,
      });
    } else {
      throw new ParseError(
        'BTF',
        `extern '${sym.name}' is neither __kconfig (section ${KCONFIG_SECTION}) nor __ksym (section ${KSYMS_SECTION})`,
      );
    }
  }
  return { externs, kconfigSize: Math.ceil(kconfigSize / 8) * 8 };
}

function alignmentOf(btf: Btf, id: number): number {
  const t = skipModifiers(btf, id);
  if (t.kind === BtfKind.ARRAY) return alignmentOf(btf, t.array!.type);
  return Math.min(8, Math.max(1, btfSizeOf(btf, id)));
}

/**
 * Object BTF as the kernel accepts it: every DATASEC of an ELF section gets
 * the section's size and its variables' offsets from the symbol table
 * (clang may leave them zero), sorted by offset; the `.kconfig` DATASEC
 * takes the map layout of {@link externsFromObject}; in `.ksyms` each kfunc
 * entry is replaced by a placeholder `int` variable; extern VARs become
 * global and extern FUNCs global (the kernel refuses extern linkage in
 * both). Type ids are unchanged except for the placeholder appended at the
 * end.
 *
 * @example
 * const blob = encodeBtf(objectBtfForKernel(elf, btf, externsFromObject(elf, btf)));
 */
export function objectBtfForKernel(elf: ElfFile, btf: Btf, externs: ObjectExterns): BtfType[] {
  const types = btf.types.map((t) => ({ ...t }));
  const kconfig = new Map(externs.externs.filter((e) => e.kind === 'kconfig').map((e) => [e.btfId, e]));
  const typeless = new Set(externs.externs.filter((e) => e.kind === 'ksym' && !e.isFunc && e.type === 0).map((e) => e.btfId));
  let placeholder = 0;
  const placeholderVar = (): number => {
    if (placeholder) return placeholder;
    const int = types.length;
    types.push({
      id: int,
      kind: BtfKind.INT,
      name: 'int',
      sizeOrType: 4,
      vlen: 0,
      kindFlag: false,
      int: { encoding: 1, offset: 0, bits: 32 },
    });
    placeholder = types.length;
    types.push({
      id: placeholder,
      kind: BtfKind.VAR,
      name: '__bpfkit_ksym_placeholder',
      sizeOrType: int,
      vlen: 0,
      kindFlag: false,
      linkage: 1,
    });
    return placeholder;
  };
  const restricted = restrictedFunctions(elf);
  for (const t of types) {
    if (t.kind === BtfKind.VAR && t.linkage === 2) t.linkage = 1;
    if (t.kind === BtfKind.FUNC && t.vlen === 2) t.vlen = 1;
    if (t.kind === BtfKind.FUNC && t.vlen === 1 && restricted.has(t.name)) t.vlen = 0; // BTF_FUNC_STATIC
  }
  for (const t of types.slice()) {
    if (t.kind !== BtfKind.DATASEC) continue;
    if (t.name === KCONFIG_SECTION) {
      t.sizeOrType = externs.kconfigSize;
      t.variables = (t.variables ?? [])
        .flatMap((v) => {
          const e = kconfig.get(v.type);
          return e ? [{ type: v.type, offset: e.offset, size: e.size }] : [];
        })
        .sort((a, b) => a.offset - b.offset);
      continue;
    }
    if (t.name === KSYMS_SECTION) {
      let offset = 0;
      t.variables = (t.variables ?? []).map((v) => {
        const isFunc = types[v.type]!.kind === BtfKind.FUNC;
        const type = isFunc ? placeholderVar() : v.type;
        // A typeless ksym is a `void` VAR, which the kernel refuses: give it the placeholder's int.
        if (!isFunc && typeless.has(v.type)) types[v.type]!.sizeOrType = types[placeholderVar()]!.sizeOrType;
        const size = isFunc || typeless.has(v.type) ? 4 : btfSizeOfOr(btf, types[v.type]!.sizeOrType, 4);
        const entry = { type, offset, size };
        offset += size;
        return entry;
      });
      t.sizeOrType = offset;
      continue;
    }
    const section = elf.section(t.name);
    if (!section) continue;
    const symbolOffset = variableOffsets(elf, section.index);
    t.sizeOrType = section.size;
    t.variables = (t.variables ?? [])
      .map((v) => ({ ...v, offset: symbolOffset.get(types[v.type]!.name) ?? v.offset }))
      .sort((a, b) => a.offset - b.offset);
  }
  return types;
}

/**
 * The global functions of restricted visibility (STV_HIDDEN, STV_INTERNAL:
 * `__hidden`, as libbpf's usdt.bpf.h declares bpf_usdt_arg). The kernel gets
 * their BTF FUNCs as static, as libbpf does: the verifier then checks them
 * in their caller's context instead of on their own with only their BTF
 * argument types.
 */
export function restrictedFunctions(elf: ElfFile): Set<string> {
  return new Set(
    elf.symbols
      .filter((s) => s.type === Elf.STT_FUNC && s.bind !== Elf.STB_LOCAL && (s.visibility === 1 || s.visibility === 2))
      .map((s) => s.name),
  );
}

function btfSizeOfOr(btf: Btf, id: number, fallback: number): number {
  if (id === 0) return fallback;
  try {
    return btfSizeOf(btf, id);
  } catch {
    return fallback;
  }
}
