import os from 'node:os';
import { BpfError, Errno, kernelReleaseAtLeast, MapFlags, NotSupportedError } from '@bpfkit/core';
import type { CollectionOptions, Program } from '@bpfkit/core';
import type { LoadedBtf, LoaderPort, StructOpsMapPlan } from '@bpfkit/elf';
import { loadKernelProgram, loadKernelProgramAsync } from '@bpfkit/attach';
import type { KernelProgram } from '@bpfkit/attach';
import { createKernelMap, openOrCreateMap } from '@bpfkit/maps';
import type { KernelMap, KernelMapOptions } from '@bpfkit/maps';
import { native, possibleCpus } from '@bpfkit/syscalls';
import { openModuleBtf } from '../kernel/kernel-btf.js';
import { kernelTypes, readFileFor, runningKernelExterns } from './environment.js';
import { loadObjectBtf } from './object-btf.js';

/**
 * The kernel backend's {@link LoaderPort}, for one load: system calls for
 * BTF, maps and programs; the running kernel's BTF (or
 * `options.kernelBtf`), config (with `options.kconfig` over it) and
 * kallsyms for externs and CO-RE; module BTF fds opened on demand and
 * closed when the load ends.
 *
 * @example
 * import { loadCollectionWith } from '@bpfkit/elf';
 * const options: CollectionOptions = { constants: { target_pid: 42 } };
 * using coll = loadCollectionWith(kernelLoaderPort(options), 'prog.bpf.o', options);
 */
export function kernelLoaderPort(options: CollectionOptions): LoaderPort {
  const kernel = kernelTypes(options.kernelBtf);
  const moduleFds = new globalThis.Map<string, number>();
  const moduleBtfFd = (module: string): number => {
    if (module === 'vmlinux') return 0;
    let fd = moduleFds.get(module);
    if (fd === undefined) {
      fd = openModuleBtf(module);
      moduleFds.set(module, fd);
    }
    return fd;
  };
  const mapOptions = (btf: LoadedBtf | undefined): KernelMapOptions => (btf ? { btf } : {});
  return {
    backend: 'this kernel',
    possibleCpus: possibleCpus(),
    externs: runningKernelExterns(kernel, options.kconfig),
    readFile: (path) => readFileFor('object', 'a readable BPF object file', path),
    kernelTypes: kernel,
    noKernelTypes: 'pass options.kernelBtf (a BTF file for this kernel)',
    loadBtf(spec) {
      const loaded = loadObjectBtf(spec.elf, spec.btf!, spec.externs);
      if (!('fd' in loaded)) return loaded;
      let open = true;
      // Idempotent like the map and program handles: a collection may be closed twice (close(), then `using`).
      return {
        fd: loaded.fd,
        btf: spec.btf!,
        close() {
          if (open) native.close(loaded.fd);
          open = false;
        },
      };
    },
    supportsMapType: () => true,
    createMap: (spec, btf) => createKernelMap(spec, undefined, mapOptions(btf)),
    openOrCreateMap: (spec, pinPath, btf) => openOrCreateMap(spec, { pinPath }, undefined, mapOptions(btf)),
    createStructOpsMap: createKernelStructOpsMap,
    moduleBtfFd,
    loadProgram: (spec, extras) => loadKernelProgram(spec, extras),
    loadProgramAsync: (spec, extras) => loadKernelProgramAsync(spec, extras),
    closeLinks: closeAllLinks,
    release() {
      for (const fd of moduleFds.values()) native.close(fd);
      moduleFds.clear();
    },
  };
}

/**
 * Creates one empty struct_ops map of a plan (its value is stored once
 * its programs are loaded). The object's BTF fd is passed as `btf_fd`,
 * which the kernel requires; a module's struct is named by its BTF fd
 * (`value_type_btf_obj_fd`, BPF_F_VTYPE_BTF_OBJ_FD, Linux 6.9).
 *
 * @throws NotSupportedError when the object's BTF was not loaded
 * @throws BpfError when the kernel refuses the map
 * @example
 * import type { LoadedBtf, StructOpsMapPlan } from '@bpfkit/elf';
 * declare const plan: StructOpsMapPlan, objectBtf: LoadedBtf;
 * const map = createKernelStructOpsMap(plan, objectBtf, () => 0);
 */
export function createKernelStructOpsMap(
  m: StructOpsMapPlan,
  objectBtf: LoadedBtf | undefined,
  moduleBtfFd: (module: string) => number,
): KernelMap {
  if (!objectBtf) {
    throw new NotSupportedError(
      `struct_ops map '${m.name}'`,
      undefined,
      "the object's BTF was not loaded (see the collection's warnings), and the kernel needs it to create struct_ops maps",
    );
  }
  try {
    return createKernelMap(m.spec, undefined, {
      btf: objectBtf,
      vmlinuxValueTypeId: m.valueTypeId,
      ...(m.module === 'vmlinux' ? {} : { valueTypeBtfObjFd: moduleBtfFd(m.module) }),
    });
  } catch (err) {
    // BPF_F_LINK on struct_ops maps (.struct_ops.link) arrived in 6.4: older kernels say only EINVAL.
    if (
      err instanceof BpfError &&
      err.errno === Errno.EINVAL &&
      (m.spec.flags ?? 0) & MapFlags.LINK &&
      !kernelReleaseAtLeast(os.release(), 6, 4)
    ) {
      throw new NotSupportedError(
        `struct_ops map '${m.name}' in .struct_ops.link (BPF_F_LINK)`,
        '6.4',
        'declare it in SEC(".struct_ops") to register it by a map update instead',
      );
    }
    throw err;
  }
}

/** Closes the links of every program, then throws the first failure (after trying them all). */
function closeAllLinks(programs: readonly Program[]): void {
  let failure: { err: unknown } | undefined;
  for (const p of programs) {
    try {
      (p as KernelProgram).closeLinks();
    } catch (err) {
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}
