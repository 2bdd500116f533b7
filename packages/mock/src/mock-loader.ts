import fs from 'node:fs';
import { InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import type { Collection, CollectionOptions, CollectionSpec, Program } from '@bpfkit/core';
import { loadCollectionWith, parseBtf, parseKernelConfig } from '@bpfkit/elf';
import type { ExternEnvironment, KernelBtf, LoaderPort } from '@bpfkit/elf';
import { MOCK_MAP_TYPES } from './map-spec.js';
import type { MockSystem } from './mock-system.js';

const BACKEND = 'the mock backend';

/**
 * `MockSystem.loadCollection`: the loader every backend shares
 * (`loadCollectionWith` of `@bpfkit/elf`) over the mock's port
 * ({@link mockLoaderPort}).
 *
 * @example
 * using system = new MockSystem();
 * using coll = loadMockCollection(system, 'counter.bpf.o', { programs: [] });
 */
export function loadMockCollection(
  system: MockSystem,
  object: string | Uint8Array | CollectionSpec,
  options: CollectionOptions = {},
): Collection {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'an object of collection options', options);
  return loadCollectionWith(mockLoaderPort(system, options), object, options);
}

/**
 * The mock backend's {@link LoaderPort}, for one load. Where the kernel's
 * port asks the running kernel, the mock's answers from what the user
 * gives, and from nothing else (a unit test must not depend on the machine
 * it runs on):
 * - kernel types: `options.kernelBtf` (a BTF file, e.g. a copy of
 *   `/sys/kernel/btf/vmlinux` or one of btfhub's), so CO-RE relocations,
 *   typed ksyms and kfunc lookups resolve as they would on that kernel;
 *   without it, a program that needs them is a NotSupportedError naming it;
 * - kconfig: `options.kconfig` only (`LINUX_KERNEL_VERSION` among them
 *   sets the version programs read; otherwise 0, like the mock's features);
 * - kallsyms: none (a typeless `__ksym` must be `__weak`, and reads 0);
 * - BTF objects: none (maps are created without BTF type ids, programs
 *   without func/line info: the mock's VM does not need them);
 * - maps: the mock's types; an unused map of a type it lacks is left out
 *   with a warning; struct_ops: none (maps and their programs left out,
 *   with warnings).
 *
 * @example
 * using system = new MockSystem();
 * const port = mockLoaderPort(system, { kernelBtf: 'vmlinux.btf' });
 */
export function mockLoaderPort(system: MockSystem, options: CollectionOptions): LoaderPort {
  let kernel: KernelBtf[] | undefined;
  const kernelTypes = (): KernelBtf[] | undefined => {
    if (kernel || options.kernelBtf === undefined) return kernel;
    const given = options.kernelBtf;
    const bytes = typeof given === 'string' ? readFileFor('options.kernelBtf', 'a readable BTF file', given) : given;
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('options.kernelBtf', 'a path or the bytes of a BTF file', given);
    // Bytes read here are ours to keep; bytes the caller gave are copied.
    kernel = [{ name: 'vmlinux', btf: parseBtf(bytes, undefined, { owned: typeof given === 'string' }) }];
    return kernel;
  };
  const noKernelTypes = 'pass options.kernelBtf (a BTF file, e.g. a copy of /sys/kernel/btf/vmlinux)';
  const externs: ExternEnvironment = {
    config: configOf(options.kconfig),
    configSource: options.kconfig !== undefined ? 'options.kconfig' : undefined,
    noConfigHint: 'the mock backend has no kernel config: give the values with options.kconfig',
    kernelVersion: 0,
    kernelBtfs: () => {
      const types = kernelTypes();
      if (types) return types;
      throw new NotSupportedError(
        'typed ksyms and kfuncs',
        undefined,
        `they are looked up in the kernel's types (BTF), which the mock backend does not have: ${noKernelTypes}, or leave the programs using them out with options.programs`,
        BACKEND,
      );
    },
    kallsyms: () => new globalThis.Map(),
    kallsymsSource: "the mock's kernel symbols",
    kallsymsHint: 'it has none',
    lackedBy: BACKEND,
  };
  return {
    backend: BACKEND,
    possibleCpus: system.possibleCpus,
    externs,
    readFile: (path) => readFileFor('object', 'a readable BPF object file', path),
    kernelTypes,
    noKernelTypes,
    loadBtf: () => undefined,
    supportsMapType: (type) => MOCK_MAP_TYPES.has(type),
    createMap: (spec) => system.createMap(spec),
    openOrCreateMap: (spec, pinPath) => system.openOrCreateMap(spec, { pinPath }),
    moduleBtfFd: () => 0,
    loadProgram: (spec) => system.loadProgram(spec),
    closeLinks: closeAllLinks,
    release: () => {},
  };
}

/** Detaches the links of every program that keeps any, then throws the first failure. */
function closeAllLinks(programs: readonly Program[]): void {
  let failure: { err: unknown } | undefined;
  for (const p of programs) {
    const closeLinks = (p as Program & { closeLinks?: () => void }).closeLinks;
    if (typeof closeLinks !== 'function') continue;
    try {
      closeLinks.call(p);
    } catch (err) {
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}

/** `options.kconfig` as `CONFIG_*` values, checked. */
function configOf(given: CollectionOptions['kconfig']): globalThis.Map<string, string> {
  if (given === undefined) return new globalThis.Map();
  const config = typeof given === 'string' ? parseKernelConfig(given) : new globalThis.Map(Object.entries(given));
  for (const [k, v] of config) {
    if (typeof v !== 'string') {
      throw new InvalidArgumentError(
        `options.kconfig: ${k}`,
        'a config value as the config file writes it (y, n, m, a number or a quoted string)',
        v,
      );
    }
  }
  return config;
}

/** The bytes of a file an option names, or an InvalidArgumentError saying why not. */
function readFileFor(what: string, expected: string, file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw new InvalidArgumentError(what, `${expected} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
}
