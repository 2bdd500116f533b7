import { InvalidArgumentError } from '@bpfkit/core';
import type { CollectionOptions } from '@bpfkit/core';
import { loadCollectionWith, loadCollectionWithAsync } from '@bpfkit/elf';
import type { ObjectSpec } from '@bpfkit/elf';
import type { Collection } from '@bpfkit/core';
import { kernelLoaderPort } from './loader/kernel-port.js';

export { Collection } from '@bpfkit/core';

/** How {@link loadCollection} loads an object (the options every backend takes). */
export type LoadCollectionOptions = CollectionOptions;

/**
 * Loads a clang-compiled BPF object on the kernel: resolves its externs
 * (kconfig, ksyms, kfuncs) and CO-RE relocations against the running
 * kernel, loads its BTF (sanitised for what the kernel supports), creates
 * its maps with their BTF types (or reuses pinned ones, or the replacements
 * given, after a compatibility check), fills global data (`.rodata` frozen),
 * loads every program with func and line info, fills prog arrays and
 * map-in-maps initialised in the object, and returns a disposable
 * {@link Collection}. On any failure everything created is closed again.
 * The loader is the one every backend shares (`loadCollectionWith` of
 * `@bpfkit/elf`), over the kernel's port (`kernelLoaderPort`).
 * Closing the collection first closes the links its programs' `attach()`
 * returned (detaching them; links pinned in bpffs stay attached through
 * their pins), then its programs and maps.
 *
 * @example
 * using coll = loadCollection(fs.readFileSync('prog.bpf.o'));
 */
export function loadCollection(object: string | Uint8Array | ObjectSpec, options: LoadCollectionOptions = {}): Collection {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'an object of collection options', options);
  return loadCollectionWith(kernelLoaderPort(options), object, options);
}

/**
 * {@link loadCollection} with each program's BPF_PROG_LOAD on the libuv
 * thread pool: the verifier runs there, so a server keeps answering while a
 * large object loads. Everything else (maps, BTF, CO-RE) is the same loader,
 * on the calling thread.
 *
 * @example
 * using coll = await loadCollectionAsync(fs.readFileSync('prog.bpf.o'));
 */
export async function loadCollectionAsync(
  object: string | Uint8Array | ObjectSpec,
  options: LoadCollectionOptions = {},
): Promise<Collection> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'an object of collection options', options);
  return loadCollectionWithAsync(kernelLoaderPort(options), object, options);
}
