import fs from 'node:fs';
import path from 'node:path';
import { NotSupportedError } from '@bpfkit/core';
import { parseBtf } from '@bpfkit/elf';
import type { Btf, KernelBtf } from '@bpfkit/elf';
import { btfInfoByFd, getFdById, getNextId, mapFileReadOnly, native, nativeBtfIndexer } from '@bpfkit/syscalls';

const BTF_DIR = '/sys/kernel/btf';

export type { KernelBtf } from '@bpfkit/elf';

let vmlinux: Btf | undefined;

/**
 * A kernel BTF file (split on `base` for a module), parsed as the kernel's own: mapped (Linux 6.16+, no copy) or
 * read, not re-checked, indexed by the addon.
 */
function parseKernelBtf(file: string, base?: Btf): Btf {
  const bytes = mapFileReadOnly(file) ?? new Uint8Array(fs.readFileSync(file));
  return parseBtf(bytes, base, { owned: true, trusted: true, indexer: nativeBtfIndexer });
}
let modules: KernelBtf[] | undefined;

/**
 * The running kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed once.
 *
 * @throws NotSupportedError when the kernel was built without CONFIG_DEBUG_INFO_BTF
 * @example
 * vmlinuxBtf().find('task_struct');
 */
export function vmlinuxBtf(): Btf {
  if (vmlinux) return vmlinux;
  const file = path.join(BTF_DIR, 'vmlinux');
  if (!fs.existsSync(file)) {
    throw new NotSupportedError(
      'kernel BTF',
      `${file} is missing: the kernel was built without CONFIG_DEBUG_INFO_BTF (needed for CO-RE, ksym externs and kfuncs); pass a BTF file instead`,
    );
  }
  vmlinux = parseKernelBtf(file);
  return vmlinux;
}

/**
 * vmlinux followed by every loaded module's BTF (split on vmlinux), parsed
 * once: where CO-RE candidates, ksyms and kfuncs are searched, in order.
 *
 * @example
 * kernelBtfs().map((k) => k.name); // ['vmlinux', 'nf_conntrack', …]
 */
export function kernelBtfs(): KernelBtf[] {
  if (modules) return modules;
  const base = vmlinuxBtf();
  const out: KernelBtf[] = [{ name: 'vmlinux', btf: base }];
  for (const name of fs.readdirSync(BTF_DIR).sort()) {
    if (name === 'vmlinux') continue;
    try {
      out.push({ name, btf: parseKernelBtf(path.join(BTF_DIR, name), base) });
    } catch {
      // A module unloaded while we read, or BTF we cannot parse: its types are simply not candidates.
    }
  }
  modules = out;
  return out;
}

/** Forgets the parsed kernel BTF (after modules were loaded or unloaded). */
export function resetKernelBtfCache(): void {
  vmlinux = undefined;
  modules = undefined;
}

/**
 * Opens the kernel BTF object of a module by name (for `fd_array` of kfunc
 * calls and `attach_btf_obj_fd`). The caller owns the returned fd.
 *
 * @example
 * const fd = openModuleBtf('nf_conntrack');
 */
export function openModuleBtf(module: string): number {
  const name = new Uint8Array(64);
  for (let id = getNextId('btf', 0); id !== undefined; id = getNextId('btf', id)) {
    let fd: number;
    try {
      fd = getFdById('btf', id);
    } catch {
      continue; // freed between next-id and open
    }
    name.fill(0);
    const info = btfInfoByFd(fd, { name });
    const found = new TextDecoder().decode(name.subarray(0, Math.max(0, name.indexOf(0)))) || undefined;
    if (info.kernelBtf && found === module) return fd;
    native.close(fd);
  }
  throw new NotSupportedError(`BTF of module '${module}'`, 'no loaded kernel BTF object has that name');
}
