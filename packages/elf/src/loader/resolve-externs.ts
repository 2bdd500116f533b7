import { InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import { BtfKind } from '../btf/kinds.js';
import { btfSizeOf, skipModifiers } from '../maps/btf-maps.js';
import { encodeKconfigValue } from '../externs/kconfig.js';
import type { Btf } from '../btf/parse.js';
import type { ExternSpec, ObjectExterns } from '../externs/externs.js';
import type { KernelBtf } from './kernel-btf.js';

/** How one extern is written into the instructions that use it. */
export type ResolvedExtern =
  /** A kconfig value: an address inside the `.kconfig` map. */
  | { kind: 'kconfig'; offset: number }
  /** A typed ksym or a kfunc: its BTF id in vmlinux or a module. */
  | { kind: 'btf'; btfId: number; module: string }
  /** A typeless ksym: its address from kallsyms. */
  | { kind: 'address'; address: bigint }
  /** A `__weak` extern the kernel lacks: zero (and kfunc calls to it poisoned). */
  | { kind: 'missing' };

/** Where extern values come from: the running kernel, or anything a test or cross-loader supplies. */
export interface ExternEnvironment {
  /** `CONFIG_*` values as the config file writes them. */
  config: Map<string, string>;
  /** Where they came from, for messages (undefined: nowhere — the kernel's config is not on this machine). */
  configSource?: string | undefined;
  /**
   * What a message says when a kconfig extern has no value and there is no
   * config at all (default: where the kernel's config is looked for, and
   * `options.kconfig`).
   */
  noConfigHint?: string;
  /** Where {@link kallsyms} reads symbols, for messages (default `/proc/kallsyms`). */
  kallsymsSource?: string;
  /** Why a symbol may be missing there, for messages (default: data symbols need CONFIG_KALLSYMS_ALL). */
  kallsymsHint?: string;
  /** What lacks a missing extern, in NotSupportedError (default `this kernel`). */
  lackedBy?: string;
  /** `LINUX_KERNEL_VERSION` (a `LINUX_KERNEL_VERSION` in {@link config} wins). */
  kernelVersion: number;
  /** Kernel BTF to find ksyms and kfuncs in (vmlinux first). */
  kernelBtfs(): KernelBtf[];
  /** Addresses of kernel symbols. */
  kallsyms(names: string[]): Map<string, bigint>;
}

/** The externs of an object resolved: each extern's value, and the `.kconfig` map's contents. */
export interface ResolvedExterns {
  values: Map<string, ResolvedExtern>;
  /** The `.kconfig` map value (empty when the object has no kconfig externs). */
  kconfig: Uint8Array;
}

/**
 * Resolves an object's `__kconfig` and `__ksym` externs as libbpf does:
 * kconfig values from the kernel config (`LINUX_KERNEL_VERSION`,
 * `LINUX_HAS_SYSCALL_WRAPPER` and `LINUX_HAS_BPF_COOKIE` computed), typed
 * ksyms and kfuncs by name in the kernel's BTF (checked against the
 * object's declaration), typeless ksyms from kallsyms. A missing extern is
 * an error unless it is `__weak`, or no program being loaded uses it
 * (`used`: the names the loaded programs reference; all when undefined).
 *
 * @example
 * declare const btf: Btf, elf: ElfFile, env: ExternEnvironment;
 * const { values, kconfig } = resolveExterns(btf, true, externsFromObject(elf, btf), env);
 */
export function resolveExterns(
  btf: Btf,
  littleEndian: boolean,
  object: ObjectExterns,
  env: ExternEnvironment,
  used?: ReadonlySet<string>,
): ResolvedExterns {
  const values = new Map<string, ResolvedExtern>();
  const kconfig = new Uint8Array(object.kconfigSize);
  // Only the externs of the programs being loaded must resolve: a ksym or kfunc no loaded program
  // references is not looked up at all, a kconfig value nobody reads may be missing (it stays 0).
  const isUsed = (e: ExternSpec) => used === undefined || used.has(e.name);
  const externs = object.externs.filter((e) => e.kind === 'kconfig' || isUsed(e));
  // Typeless ksyms take their address from kallsyms; the kernel resolves typed ones through kallsyms too;
  // LINUX_HAS_SYSCALL_WRAPPER asks it for a wrapper. One read of /proc/kallsyms answers them all.
  const wanted = externs.filter((e) => e.kind === 'ksym' && !e.isFunc).map((e) => e.name);
  if (externs.some((e) => e.name === 'LINUX_HAS_SYSCALL_WRAPPER')) wanted.push(...SYSCALL_WRAPPERS);
  const addresses = wanted.length ? env.kallsyms(wanted) : new Map<string, bigint>();
  const kallsymsSource = env.kallsymsSource ?? '/proc/kallsyms';
  const kallsymsHint = env.kallsymsHint ?? 'data symbols need CONFIG_KALLSYMS_ALL';
  const lackedBy = env.lackedBy ?? 'this kernel';
  for (const e of externs) {
    if (e.kind === 'kconfig') {
      const text = kconfigText(e, env, addresses);
      if (text === undefined) {
        if (!e.weak && isUsed(e)) {
          throw new NotSupportedError(
            `kconfig extern '${e.name}'`,
            undefined,
            env.configSource === undefined
              ? `${env.noConfigHint ?? 'no kernel config was found (/proc/config.gz or /boot/config-<release>): give the values with options.kconfig'}, or declare it __weak to load without it (it then reads 0)`
              : `the kernel config (${env.configSource}) does not set it; declare it __weak to load without it (it then reads 0)`,
            lackedBy,
          );
        }
      } else {
        kconfig.set(encodeKconfigValue(btf, e.type, e.name, text, littleEndian), e.offset);
      }
      values.set(e.name, { kind: 'kconfig', offset: e.offset });
      continue;
    }
    if (!e.isFunc && e.type === 0) {
      const address = addresses.get(e.name);
      if (address === undefined) {
        if (!e.weak)
          throw new NotSupportedError(
            `ksym '${e.name}'`,
            undefined,
            `not in ${kallsymsSource} (${kallsymsHint}); declare it __weak to load without it`,
            lackedBy,
          );
        values.set(e.name, { kind: 'missing' });
      } else {
        values.set(e.name, { kind: 'address', address });
      }
      continue;
    }
    const found = findKernelSymbol(e, env.kernelBtfs());
    if (!found) {
      if (!e.weak) {
        throw new NotSupportedError(
          `${e.isFunc ? 'kfunc' : 'ksym'} '${e.name}'`,
          undefined,
          `the kernel's BTF has no ${e.isFunc ? 'function' : 'variable'} of that name; declare it __weak to load without it`,
          lackedBy,
        );
      }
      values.set(e.name, { kind: 'missing' });
      continue;
    }
    checkCompatible(e, btf, found.kernel.btf, found.id);
    if (!e.isFunc && !addresses.has(e.name)) {
      // The verifier looks the variable up with kallsyms_lookup_name(): without it, the load would fail with ENOENT.
      if (!e.weak) {
        throw new NotSupportedError(
          `ksym '${e.name}'`,
          undefined,
          `the kernel's BTF has the variable but ${kallsymsSource} does not, and the kernel resolves typed ksyms through kallsyms (${kallsymsHint}); declare it __weak and test bpf_ksym_exists() to load without it`,
          lackedBy,
        );
      }
      values.set(e.name, { kind: 'missing' });
      continue;
    }
    values.set(e.name, { kind: 'btf', btfId: found.id, module: found.kernel.name });
  }
  return { values, kconfig };
}

/** Syscall wrappers (__x64_sys_*) exist on x86-64 since 4.17 and arm64/s390 since 4.19. */
const SYSCALL_WRAPPERS = ['__x64_sys_bpf', '__arm64_sys_bpf', '__s390x_sys_bpf'];

function kconfigText(e: ExternSpec, env: ExternEnvironment, kallsyms: ReadonlyMap<string, bigint>): string | undefined {
  switch (e.name) {
    case 'LINUX_KERNEL_VERSION':
      return env.config.get(e.name) ?? String(env.kernelVersion);
    case 'LINUX_HAS_SYSCALL_WRAPPER':
      return SYSCALL_WRAPPERS.some((w) => kallsyms.has(w)) ? 'y' : 'n';
    // bpf_get_attach_cookie arrived in 5.15.
    case 'LINUX_HAS_BPF_COOKIE':
      return env.kernelVersion >= (5 << 16) + (15 << 8) ? 'y' : 'n';
    default:
      if (e.name.startsWith('LINUX_'))
        throw new InvalidArgumentError(
          `kconfig extern '${e.name}'`,
          'CONFIG_* or one of LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE',
          e.name,
        );
      return env.config.get(e.name);
  }
}

function findKernelSymbol(e: ExternSpec, sources: KernelBtf[]): { kernel: KernelBtf; id: number } | undefined {
  const kind = e.isFunc ? BtfKind.FUNC : BtfKind.VAR;
  for (const kernel of sources) {
    const t = kernel.btf.find(e.name, kind);
    // Module BTF is split: its find() also sees vmlinux types, which vmlinux itself already offered.
    if (t && (kernel.name === 'vmlinux' || t.id >= kernel.btf.firstTypeId)) return { kernel, id: t.id };
  }
  return undefined;
}

/** The object's declaration must describe the kernel's symbol: same kind and size for variables, same arity for functions. */
function checkCompatible(e: ExternSpec, local: Btf, kernel: Btf, id: number): void {
  const target = kernel.type(id)!;
  if (e.isFunc) {
    const localProto = skipModifiers(local, local.type(e.btfId)!.sizeOrType);
    const kernelProto = skipModifiers(kernel, target.sizeOrType);
    const n = localProto.params?.length ?? 0;
    const m = kernelProto.params?.length ?? 0;
    if (n !== m)
      throw new InvalidArgumentError(`kfunc '${e.name}'`, `a declaration with the kernel's ${m} parameter(s)`, `${n} parameter(s)`);
    return;
  }
  const lt = skipModifiers(local, e.type);
  const kt = skipModifiers(kernel, target.sizeOrType);
  if (lt.kind !== kt.kind)
    throw new InvalidArgumentError(`ksym '${e.name}'`, `a declaration of the kernel's kind (BTF kind ${kt.kind})`, `BTF kind ${lt.kind}`);
  const sized = (b: Btf, t: number) => {
    try {
      return btfSizeOf(b, t);
    } catch {
      return undefined;
    }
  };
  const ls = sized(local, e.type);
  const ks = sized(kernel, target.sizeOrType);
  if (ls !== undefined && ks !== undefined && ls !== ks && lt.kind !== BtfKind.STRUCT && lt.kind !== BtfKind.UNION) {
    throw new InvalidArgumentError(`ksym '${e.name}'`, `a declaration of the kernel's size (${ks} bytes)`, `${ls} bytes`);
  }
}
