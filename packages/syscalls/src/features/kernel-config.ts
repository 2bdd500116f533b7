import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseKernelRelease } from '@bpfkit/core';
import { parseKernelConfig } from '@bpfkit/elf';

let cachedConfig: Map<string, string> | undefined;

/**
 * The running kernel's build configuration: `/proc/config.gz` when the
 * kernel has CONFIG_IKCONFIG_PROC, else `/boot/config-<release>`. Empty
 * when neither exists (then only `__weak` kconfig externs can load).
 *
 * @example
 * kernelConfig().get('CONFIG_BPF_SYSCALL'); // 'y'
 */
export function kernelConfig(): Map<string, string> {
  if (cachedConfig) return cachedConfig;
  const text = readConfigText();
  cachedConfig = parseKernelConfig(text ?? '');
  return cachedConfig;
}

/** Where the configuration was read from, or undefined when there is none. */
export function kernelConfigSource(): string | undefined {
  if (fs.existsSync('/proc/config.gz')) return '/proc/config.gz';
  const boot = `/boot/config-${os.release()}`;
  return fs.existsSync(boot) ? boot : undefined;
}

function readConfigText(): string | undefined {
  const source = kernelConfigSource();
  if (!source) return undefined;
  const bytes = fs.readFileSync(source);
  return (source.endsWith('.gz') ? gunzip(bytes) : bytes).toString('utf8');
}

const loadBuiltin = createRequire(import.meta.url);

/**
 * Unpacks gzip data (`/proc/config.gz`). zlib is loaded on the first call:
 * loading it costs a `bpfkit` command ~4 ms that most never use.
 *
 * @example
 * const text = gunzip(fs.readFileSync('/proc/config.gz')).toString('utf8');
 */
export function gunzip(bytes: Uint8Array): Buffer {
  return (loadBuiltin('node:zlib') as typeof import('node:zlib')).gunzipSync(bytes);
}

/**
 * `LINUX_KERNEL_VERSION` as libbpf computes it: the release's version, or
 * the real upstream version where distributions keep a fixed one in the
 * release string (Ubuntu's `/proc/version_signature`, Debian's `uname -v`).
 *
 * @example
 * linuxKernelVersion(); // 0x061200 + sub-level on 6.18
 */
export function linuxKernelVersion(): number {
  try {
    const signature = fs.readFileSync('/proc/version_signature', 'utf8').trim().split(/\s+/).pop();
    if (signature && /^\d+\.\d+/.test(signature)) return parseKernelRelease(signature).code;
  } catch {
    // Not Ubuntu.
  }
  const debian = /Debian (\d+\.\d+\.\d+)/.exec(os.version());
  if (debian) return parseKernelRelease(debian[1]!).code;
  return parseKernelRelease(os.release()).code;
}
