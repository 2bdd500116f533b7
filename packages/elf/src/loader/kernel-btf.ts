import type { Btf } from '../btf/parse.js';

/**
 * One source of kernel types: vmlinux, or a module's split BTF on top of
 * it. What CO-RE relocations, ksyms, kfuncs, attach targets and struct_ops
 * are resolved against.
 *
 * @example
 * declare const vmlinux: Btf;
 * const sources: KernelBtf[] = [{ name: 'vmlinux', btf: vmlinux }];
 */
export interface KernelBtf {
  /** `vmlinux` or the module's name. */
  name: string;
  btf: Btf;
}
