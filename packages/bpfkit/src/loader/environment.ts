import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import type { CollectionOptions } from '@bpfkit/core';
import { parseBtf, parseKernelConfig } from '@bpfkit/elf';
import { kernelBtfs } from '../kernel/kernel-btf.js';
import type { KernelBtf } from '../kernel/kernel-btf.js';
import { kernelConfig, kernelConfigSource, linuxKernelVersion } from '@bpfkit/syscalls';
import { kallsymsAddresses } from '../kernel/kallsyms.js';
import type { ExternEnvironment } from '@bpfkit/elf';

/**
 * The bytes of a file an option or argument names, or an
 * InvalidArgumentError saying why they could not be read.
 *
 * @example
 * const bytes = readFileFor('object', 'a readable BPF object file', 'prog.bpf.o');
 */
export function readFileFor(what: string, expected: string, file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw new InvalidArgumentError(what, `${expected} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
}

/**
 * The kernel's types, read on first use: from `options.kernelBtf`, or the
 * running kernel's vmlinux and module BTF.
 *
 * @example
 * const kernel = kernelTypes(undefined);
 * kernel()[0].name; // 'vmlinux'
 */
export function kernelTypes(option: string | Uint8Array | undefined): () => KernelBtf[] {
  let cached: KernelBtf[] | undefined;
  return () => {
    if (cached) return cached;
    if (option === undefined) return (cached = kernelBtfs());
    const bytes = typeof option === 'string' ? readFileFor('options.kernelBtf', 'a readable BTF file', option) : option;
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('options.kernelBtf', 'a path or the bytes of a BTF file', option);
    // Bytes read here are ours to keep; bytes the caller gave are copied.
    return (cached = [{ name: 'vmlinux', btf: parseBtf(bytes, undefined, { owned: typeof option === 'string' }) }]);
  };
}

/**
 * Where extern values come from: the running kernel, with `options.kconfig`
 * over its config, each read on first use.
 *
 * @example
 * const env = runningKernelExterns(kernelTypes(undefined), 'CONFIG_HZ=1000');
 */
export function runningKernelExterns(kernel: () => KernelBtf[], extra: CollectionOptions['kconfig']): ExternEnvironment {
  let config: globalThis.Map<string, string> | undefined;
  return {
    get config() {
      if (config) return config;
      const given = typeof extra === 'string' ? parseKernelConfig(extra) : new globalThis.Map(Object.entries(extra ?? {}));
      for (const [k, v] of given) {
        if (typeof v !== 'string')
          throw new InvalidArgumentError(
            `options.kconfig: ${k}`,
            'a config value as the config file writes it (y, n, m, a number or a quoted string)',
            v,
          );
      }
      config = new globalThis.Map([...kernelConfig(), ...given]);
      return config;
    },
    get configSource() {
      return (
        [kernelConfigSource(), extra !== undefined ? 'options.kconfig' : undefined].filter((x) => x !== undefined).join(' and ') ||
        undefined
      );
    },
    get kernelVersion() {
      return linuxKernelVersion();
    },
    kernelBtfs: kernel,
    kallsyms: (names) => kallsymsAddresses(names),
  };
}
