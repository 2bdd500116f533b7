import { InvalidArgumentError } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';
import { KCONFIG_SECTION } from '../externs/externs.js';
import type { ElfProgramSpec } from '../programs/extract.js';
import type { ResolvedExtern } from './resolve-externs.js';

/** `src_reg` values of `lddw` and `call` (include/uapi/linux/bpf.h). */
const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;
const BPF_PSEUDO_BTF_ID = 3;
const BPF_PSEUDO_KFUNC_CALL = 2;
/** libbpf's poison for a call to an unresolved `__weak` kfunc: an invalid helper id, harmless in dead code. */
export const POISON_KFUNC_CALL_BASE = 2002000000;

/** What references are resolved against. */
export interface ReferenceTargets {
  /** Maps by name, global data maps by section name (`.rodata`, `.kconfig`). */
  maps: Record<string, Map>;
  externs: ReadonlyMap<string, ResolvedExtern>;
  /** The BTF object fd of a module ('vmlinux' → 0), for `lddw` of a typed ksym. */
  moduleBtfFd(module: string): number;
  /** The `fd_array` index of a module's BTF ('vmlinux' → 0), for kfunc calls. */
  moduleFdIndex(module: string): number;
}

/**
 * Writes what each reference of a linked program points at into its
 * instructions: map fds (`BPF_PSEUDO_MAP_FD`), global data and kconfig
 * addresses (`BPF_PSEUDO_MAP_VALUE` with the offset), typed ksyms and
 * `bpf_ksym_exists()` of kfuncs (`BPF_PSEUDO_BTF_ID`), typeless ksym
 * addresses (plain 64-bit immediates), kfunc calls (`BPF_PSEUDO_KFUNC_CALL`
 * with the BTF id and the module's `fd_array` index), and for a missing
 * `__weak` extern zero, or a poisoned call the verifier only rejects if it
 * is reachable. Instructions are in the host's (little-endian) order.
 *
 * @example
 * import type { ResolvedExtern } from './resolve-externs.js';
 * declare const spec: ElfProgramSpec;
 * declare const maps: Record<string, Map>;
 * declare const externs: ReadonlyMap<string, ResolvedExtern>;
 * const insns = linkReferences(spec, { maps, externs, moduleBtfFd: () => 0, moduleFdIndex: () => 0 });
 */
export function linkReferences(spec: ElfProgramSpec, targets: ReferenceTargets): Uint8Array {
  const insns = spec.instructions.slice();
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const setSrc = (i: number, src: number) => {
    insns[i * 8 + 1] = (insns[i * 8 + 1]! & 0x0f) | (src << 4);
  };
  const setImm = (i: number, v: number) => view.setInt32(i * 8 + 4, v | 0, true);
  const setImm64 = (i: number, v: bigint) => {
    view.setUint32(i * 8 + 4, Number(v & 0xffffffffn), true);
    view.setUint32((i + 1) * 8 + 4, Number((v >> 32n) & 0xffffffffn), true);
  };
  const mapFd = (name: string): number => {
    const map = targets.maps[name];
    if (!map) throw new InvalidArgumentError(`program '${spec.name}'`, `a map named '${name}' in the object`, name);
    return map.fd;
  };
  spec.references.forEach((r, n) => {
    const i = r.index;
    switch (r.kind) {
      case 'map':
        setSrc(i, BPF_PSEUDO_MAP_FD);
        setImm(i, mapFd(r.target));
        return;
      case 'map_value':
        setSrc(i, BPF_PSEUDO_MAP_VALUE);
        setImm(i, mapFd(r.target));
        setImm(i + 1, r.offset);
        return;
      case 'extern': {
        const e = resolved(targets, spec, r.target);
        if (e.kind === 'kconfig') {
          setSrc(i, BPF_PSEUDO_MAP_VALUE);
          setImm(i, mapFd(KCONFIG_SECTION));
          setImm(i + 1, e.offset + r.offset);
        } else if (e.kind === 'btf') {
          setSrc(i, BPF_PSEUDO_BTF_ID);
          setImm(i, e.btfId);
          setImm(i + 1, targets.moduleBtfFd(e.module));
        } else if (e.kind === 'address') {
          setSrc(i, 0);
          setImm64(i, e.address);
        } else {
          setSrc(i, 0);
          setImm64(i, 0n);
        }
        return;
      }
      case 'kfunc': {
        const e = resolved(targets, spec, r.target);
        if (e.kind === 'btf') {
          setSrc(i, BPF_PSEUDO_KFUNC_CALL);
          setImm(i, e.btfId);
          view.setInt16(i * 8 + 2, targets.moduleFdIndex(e.module), true);
        } else if (e.kind === 'missing') {
          setSrc(i, 0);
          setImm(i, POISON_KFUNC_CALL_BASE + n);
          view.setInt16(i * 8 + 2, 0, true);
        } else {
          throw new InvalidArgumentError(`program '${spec.name}': call to '${r.target}'`, 'a kernel function (kfunc)', e.kind);
        }
        return;
      }
    }
  });
  return insns;
}

function resolved(targets: ReferenceTargets, spec: ElfProgramSpec, name: string): ResolvedExtern {
  const e = targets.externs.get(name);
  if (!e) throw new InvalidArgumentError(`program '${spec.name}'`, `extern '${name}' to be declared __kconfig or __ksym`, name);
  return e;
}
