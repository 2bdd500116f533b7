import type { LoadProgramOptions, Map, MapSpec, Program, ProgramSpec } from '@bpfkit/core';
import type { Btf } from '../btf/parse.js';
import type { ObjectSpec } from '../object.js';
import type { KernelBtf } from './kernel-btf.js';
import type { ExternEnvironment } from './resolve-externs.js';
import type { StructOpsMapPlan } from './struct-ops.js';

/**
 * The object's BTF as a backend loaded it: the handle maps and programs
 * name it by, and the types it holds.
 *
 * @example
 * declare const btf: Btf;
 * const loaded: LoadedBtf = { fd: 7, btf, close: () => {} };
 */
export interface LoadedBtf {
  readonly fd: number;
  readonly btf: Btf;
  /** Releases the handle; idempotent. */
  close(): void;
}

/**
 * What the collection loader asks of a backend: everything else about
 * loading an object (program selection, externs, CO-RE, map plans, pins,
 * replacements, global data, initial slots, struct_ops layout, warnings)
 * is the loader's, the same for every backend. The kernel backend answers
 * with system calls and the running kernel's BTF and config; the mock
 * answers from memory, with the kernel types and config the user gives.
 * One port serves one load (it may cache what it opens, e.g. module BTF,
 * until {@link release}).
 *
 * @example
 * declare const port: LoaderPort;
 * using coll = loadCollectionWith(port, fs.readFileSync('prog.bpf.o'), {});
 */
export interface LoaderPort {
  /** The backend in messages, e.g. `this kernel` or `the mock backend` (as NotSupportedError's `lackedBy`). */
  readonly backend: string;
  /** CPUs per-CPU maps and perf event arrays are sized for. */
  readonly possibleCpus: number;
  /** Where extern values come from (kconfig, LINUX_KERNEL_VERSION, kallsyms, kernel BTF). */
  readonly externs: ExternEnvironment;
  /** The bytes of an object file named by path (an InvalidArgumentError when unreadable). */
  readFile(path: string): Uint8Array;
  /**
   * The kernel's types, vmlinux first, read on first use: what CO-RE
   * relocations, typed ksyms, kfuncs, attach targets and struct_ops
   * resolve against. Undefined when the backend has none.
   */
  kernelTypes(): readonly KernelBtf[] | undefined;
  /** What a user does when {@link kernelTypes} has none, e.g. `pass options.kernelBtf`. */
  readonly noKernelTypes: string;
  /**
   * Loads the object's BTF: the loaded handle, a warning when it is left
   * out (the object still loads, without BTF), or undefined when the
   * backend keeps no BTF objects.
   */
  loadBtf(spec: ObjectSpec): LoadedBtf | { warning: string } | undefined;
  /** Whether maps of this type can be created; an unused map of another type is left out with a warning. */
  supportsMapType(type: number): boolean;
  createMap(spec: MapSpec, btf: LoadedBtf | undefined): Map;
  /** Opens the map pinned at `pinPath` if it is compatible, else creates and pins it. */
  openOrCreateMap(spec: MapSpec, pinPath: string, btf: LoadedBtf | undefined): Map;
  /**
   * Creates an empty struct_ops map (its value is stored once its programs
   * are loaded). Absent: the backend has no struct_ops; the object's
   * struct_ops maps, and the programs only they use, are left out with a
   * warning.
   */
  createStructOpsMap?(plan: StructOpsMapPlan, btf: LoadedBtf | undefined, moduleBtfFd: (module: string) => number): Map;
  /** A module's BTF handle ('vmlinux' → 0), for typed ksyms, kfunc calls and attach targets in modules. */
  moduleBtfFd(module: string): number;
  /** Loads one linked program. */
  loadProgram(spec: ProgramSpec, options: LoadProgramOptions): Program;
  /** Loads one linked program without blocking the event loop (absent: {@link loadProgram} serves the async loader too). */
  loadProgramAsync?(spec: ProgramSpec, options: LoadProgramOptions): Promise<Program>;
  /** Detaches what the programs' `attach()` made (the collection's close does this first). */
  closeLinks(programs: readonly Program[]): void;
  /** Releases what the port opened for this load (module BTF handles); called once the load ends. */
  release(): void;
}
