import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapFlags, MapType, mapDifferences, MapMismatchError, NotSupportedError, ProgramType } from '@bpfkit/core';
import type { Map, MapSpec, Program } from '@bpfkit/core';
import { BtfKind, KCONFIG_SECTION, parseBtf, readObject } from '@bpfkit/elf';
import type { Btf, BtfMapSpec, ConstantValue, CoreCandidateCache, ObjectSpec } from '@bpfkit/elf';
import { createKernelMap, openOrCreateMap } from '@bpfkit/maps';
import type { KernelMapOptions } from '@bpfkit/maps';
import { loadKernelProgram } from '@bpfkit/attach';
import type { LoadProgramOptions } from '@bpfkit/attach';
import { native, possibleCpus } from '@bpfkit/syscalls';
import { kernelBtfs, openModuleBtf } from './kernel/kernel-btf.js';
import type { KernelBtf } from './kernel/kernel-btf.js';
import { kernelConfig, linuxKernelVersion } from './kernel/kernel-config.js';
import { kallsymsAddresses } from './kernel/kallsyms.js';
import { resolveAttachBtf } from './loader/attach-btf.js';
import { loadObjectBtf } from './loader/object-btf.js';
import { linkReferences } from './loader/link-references.js';
import { explainCoreFailure, relocateCore } from './loader/core-relocations.js';
import { resolveExterns } from './loader/resolve-externs.js';
import type { ExternEnvironment } from './loader/resolve-externs.js';
import { collectionVariables } from './loader/variables.js';
import type { CollectionVariable } from './loader/variables.js';

/** How {@link loadCollection} loads an object. */
export interface LoadCollectionOptions {
  /** Values for `const volatile` globals (in `.rodata*`), set before load. */
  constants?: Record<string, ConstantValue>;
  /** Existing maps to use instead of creating the object's maps of those names (checked for compatibility). */
  mapReplacements?: Record<string, Map<unknown, unknown>>;
  /**
   * Directory in bpffs where maps with `pinning: LIBBPF_PIN_BY_NAME` are
   * reused (after a compatibility check) or created and pinned.
   */
  pinPath?: string;
  /** Create maps that ask to be pinned by name without pinning them (no `pinPath` needed). */
  ignorePinning?: boolean;
  /** Load only these programs (by function name); the others are left out. Default: all. */
  programs?: readonly string[];
  /** Verifier log options for every program. */
  load?: Pick<LoadProgramOptions, 'logLevel' | 'logSize'>;
  /**
   * Kernel BTF to resolve CO-RE relocations, ksyms and attach points
   * against: a path or bytes of a BTF file (for a kernel without
   * `/sys/kernel/btf/vmlinux`). Default: the running kernel's BTF.
   */
  kernelBtf?: string | Uint8Array;
}

/**
 * An object's maps and programs on the kernel. Closing it closes every map
 * and program it created (pinned maps stay pinned).
 *
 * @example
 * using coll = loadCollection('counter.bpf.o', { constants: { target_pid: process.pid } });
 * coll.programs.count_packets.testRun({ data: packet });
 * coll.variables.packets.get(); // 1n
 */
export class Collection implements Disposable {
  readonly #owned: readonly { close(): void }[];

  constructor(
    readonly maps: Record<string, Map>,
    readonly programs: Record<string, Program>,
    owned: readonly { close(): void }[],
    /** What the loader did differently from what the object asked, e.g. BTF it could not load. */
    readonly warnings: readonly string[] = [],
    /** The object's global variables by name, read and written through their section's map. */
    readonly variables: Record<string, CollectionVariable> = {},
  ) {
    this.#owned = owned;
  }

  close(): void {
    for (const o of this.#owned) o.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Loads a clang-compiled BPF object on the kernel: resolves its externs
 * (kconfig, ksyms, kfuncs) and CO-RE relocations against the running
 * kernel, loads its BTF (sanitised for what the kernel supports), creates
 * its maps with their BTF types (or reuses pinned ones, or the replacements
 * given, after a compatibility check), fills global data (`.rodata` frozen),
 * loads every program with func and line info, fills prog arrays and
 * map-in-maps initialised in the object, and returns a disposable
 * {@link Collection}. On any failure everything created is closed again.
 *
 * @example
 * using coll = loadCollection(fs.readFileSync('prog.bpf.o'));
 */
export function loadCollection(object: string | Uint8Array | ObjectSpec, options: LoadCollectionOptions = {}): Collection {
  const spec = typeof object === 'string' ? readObject(new Uint8Array(fs.readFileSync(object)))
    : object instanceof Uint8Array ? readObject(object)
      : object;
  if (typeof spec !== 'object' || spec === null || !('programs' in spec) || !('elf' in spec)) {
    throw new InvalidArgumentError('object', 'a path, the bytes of a BPF object, or readObject() of one', object);
  }
  // The kernel reads instructions and BTF in its own byte order.
  if (!spec.littleEndian) throw new InvalidArgumentError('object', 'an object compiled for this machine\'s byte order (-target bpfel)', 'a big-endian (bpfeb) object');
  spec.rewriteConstants(options.constants ?? {});
  const wanted = selectPrograms(spec, options.programs);
  const kernel = kernelTypes(options.kernelBtf);
  const env = runningKernel(kernel);

  const owned: { close(): void }[] = [];
  const warnings: string[] = [];
  const moduleFds = new globalThis.Map<string, number>();
  const coreCache: CoreCandidateCache = new globalThis.Map();
  try {
    const externs = resolveExterns(spec.btf!, true, spec.externs, env);
    let btf: { fd: number; btf: Btf } | undefined;
    if (spec.btf) {
      const loaded = loadObjectBtf(spec.elf, spec.btf, spec.externs);
      if ('fd' in loaded) {
        btf = { fd: loaded.fd, btf: spec.btf };
        owned.push({ close: () => native.close(loaded.fd) });
      } else {
        warnings.push(loaded.warning);
      }
    }
    const maps = createMaps(spec, options, btf, owned);
    createGlobalMaps(spec, externs.kconfig, btf, maps, owned);

    const moduleBtfFd = (module: string): number => {
      if (module === 'vmlinux') return 0;
      let fd = moduleFds.get(module);
      if (fd === undefined) {
        fd = openModuleBtf(module);
        moduleFds.set(module, fd);
      }
      return fd;
    };
    const programs: Record<string, Program> = {};
    for (const [name, p] of Object.entries(wanted)) {
      const relocated = spec.btf && p.coreRelocations.length ? relocateCore(p, spec.btf, kernel(), coreCache) : { ...p, coreReport: [] };
      const fdArray: number[] = [];
      const instructions = linkReferences(relocated, {
        maps, externs: externs.values, moduleBtfFd,
        moduleFdIndex: (module) => {
          if (module === 'vmlinux') return 0;
          const fd = moduleBtfFd(module);
          if (!fdArray.includes(fd)) fdArray.push(fd);
          // Index 0 of fd_array stands for vmlinux; modules follow.
          return fdArray.indexOf(fd) + 1;
        },
      });
      const attach = resolveAttachBtf(p, p.attachTo ? kernel() : []);
      if (attachNeedsBtf(p) && !attach) {
        throw new NotSupportedError(`attach target '${p.attachTo ?? ''}' of program '${name}' (section ${p.section})`, undefined,
          p.attachTo ? "the kernel's BTF has no such function, tracepoint or hook" : 'the section names no target');
      }
      const loadOptions: LoadProgramOptions = {
        ...options.load,
        ...(btf ? { btf: { fd: btf.fd, funcInfo: p.funcInfo, lineInfo: p.lineInfo } } : {}),
        ...(attach ? { attachBtfId: attach.id, attachBtfObjFd: moduleBtfFd(attach.module) } : {}),
        ...(fdArray.length ? { fdArray: [0, ...fdArray] } : {}),
      };
      let prog: Program;
      try {
        prog = loadKernelProgram({ ...relocated, instructions }, loadOptions);
      } catch (err) {
        throw explainCoreFailure(err, relocated.coreReport);
      }
      owned.push(prog);
      programs[name] = prog;
    }
    fillInitialValues(spec, maps, programs);
    return new Collection(maps, programs, owned, warnings, collectionVariables(spec.globals, spec.btf, maps));
  } catch (err) {
    for (const o of owned.reverse()) o.close();
    throw err;
  } finally {
    for (const fd of moduleFds.values()) native.close(fd);
  }
}

function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined): ObjectSpec['programs'] {
  if (names === undefined) return spec.programs;
  const out: ObjectSpec['programs'] = {};
  for (const n of names) {
    const p = spec.programs[n];
    if (!p) throw new InvalidArgumentError(`options.programs: '${n}'`, `one of the object's programs (${Object.keys(spec.programs).join(', ')})`, n);
    out[n] = p;
  }
  return out;
}

/** Tracing, LSM and iterator programs are verified against the BTF of what they attach to. */
function attachNeedsBtf(p: ObjectSpec['programs'][string]): boolean {
  return p.type === ProgramType.TRACING || p.type === ProgramType.LSM;
}

/** The kernel's types, read on first use: from the option, or the running kernel. */
function kernelTypes(option: string | Uint8Array | undefined): () => KernelBtf[] {
  let cached: KernelBtf[] | undefined;
  return () => {
    if (cached) return cached;
    if (option === undefined) return (cached = kernelBtfs());
    const bytes = typeof option === 'string' ? new Uint8Array(fs.readFileSync(option)) : option;
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('options.kernelBtf', 'a path or the bytes of a BTF file', option);
    return (cached = [{ name: 'vmlinux', btf: parseBtf(bytes) }]);
  };
}


function runningKernel(kernel: () => KernelBtf[]): ExternEnvironment {
  return {
    get config() {
      return kernelConfig();
    },
    get kernelVersion() {
      return linuxKernelVersion();
    },
    kernelBtfs: kernel,
    kallsyms: (names) => kallsymsAddresses(names),
  };
}

const NO_BTF_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.STACK_TRACE, MapType.CGROUP_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
  MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH, MapType.REUSEPORT_SOCKARRAY,
  MapType.QUEUE, MapType.STACK, MapType.RINGBUF, MapType.USER_RINGBUF, MapType.ARENA,
]);

/** The MapSpec to create for an object's map: sizes and BTF, perf event arrays sized to the CPUs as libbpf does. */
function mapSpecFor(name: string, m: BtfMapSpec, withBtf: boolean): MapSpec {
  const { btfKeyTypeId, btfValueTypeId, innerMap, valuesSlots: _slots, pinning: _pinning, name: _name, ...rest } = m;
  const out: MapSpec = { ...rest, name };
  // The kernel takes key/value BTF only with a value type, and refuses it for fd-holding and keyless maps (their map_check_btf says no).
  if (withBtf && btfValueTypeId && !NO_BTF_MAP_TYPES.has(m.type)) {
    if (btfKeyTypeId) out.btfKeyTypeId = btfKeyTypeId;
    out.btfValueTypeId = btfValueTypeId;
  }
  if (innerMap) out.innerMap = mapSpecFor(innerMap.name ?? `${name}.inner`, innerMap as BtfMapSpec, withBtf);
  // max_entries 0 on a perf event array means "one per possible CPU" (libbpf's rule).
  if (m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0) out.maxEntries = possibleCpus();
  return out;
}

function createMaps(spec: ObjectSpec, options: LoadCollectionOptions, btf: { fd: number } | undefined, owned: { close(): void }[]): Record<string, Map> {
  const maps: Record<string, Map> = {};
  const createOptions: KernelMapOptions = btf ? { btf } : {};
  for (const [name, m] of Object.entries(spec.maps)) {
    const wanted = mapSpecFor(name, m, btf !== undefined);
    const replacement = options.mapReplacements?.[name];
    if (replacement) {
      const differences = mapDifferences(replacement.info(), wanted);
      if (differences.length) throw new MapMismatchError(`replacement for map '${name}'`, differences);
      maps[name] = replacement as Map;
      continue;
    }
    let map: Map;
    if (m.pinning === 'by-name' && !options.ignorePinning) {
      if (!options.pinPath) {
        throw new InvalidArgumentError(`map '${name}' (pinning: by name)`, 'options.pinPath, a bpffs directory to pin it in (or ignorePinning: true)', undefined);
      }
      map = openOrCreateMap(wanted, { pinPath: path.join(options.pinPath, name) }, undefined, createOptions);
    } else {
      map = createKernelMap(wanted, undefined, createOptions);
    }
    owned.push(map);
    maps[name] = map;
  }
  for (const name of Object.keys(options.mapReplacements ?? {})) {
    if (!spec.maps[name]) throw new InvalidArgumentError(`options.mapReplacements: '${name}'`, `one of the object's maps (${Object.keys(spec.maps).join(', ')})`, name);
  }
  return maps;
}

/** Global data and `.kconfig` as single-entry arrays, typed by their DATASEC; read-only ones frozen after writing. */
function createGlobalMaps(spec: ObjectSpec, kconfig: Uint8Array, btf: { fd: number; btf: Btf } | undefined, maps: Record<string, Map>, owned: { close(): void }[]): void {
  const sections = Object.values(spec.globals).map((g) => ({ section: g.section, contents: g.contents, flags: g.flags, readOnly: g.readOnly }));
  if (kconfig.byteLength > 0) sections.push({ section: KCONFIG_SECTION, contents: kconfig, flags: MapFlags.RDONLY_PROG, readOnly: true });
  for (const g of sections) {
    const datasec = btf?.btf.find(g.section, BtfKind.DATASEC);
    const map = createKernelMap(
      { name: g.section.slice(0, 15), type: MapType.ARRAY, keySize: 4, valueSize: g.contents.byteLength, maxEntries: 1, flags: g.flags, ...(datasec ? { btfValueTypeId: datasec.id } : {}) },
      undefined, datasec && btf ? { btf } : {},
    );
    owned.push(map);
    map.update(new Uint8Array(4), g.contents);
    // Constants: frozen, so the verifier may treat them as known values.
    if (g.readOnly) map.freeze();
    maps[g.section] = map;
  }
}

/** `.values = { [i] = &prog_or_map }` of prog arrays and map-in-maps. */
function fillInitialValues(spec: ObjectSpec, maps: Record<string, Map>, programs: Record<string, Program>): void {
  for (const [name, slots] of Object.entries(spec.initialValues)) {
    const map = maps[name]!;
    for (const s of slots) {
      const target = s.kind === 'program' ? programs[s.target] : maps[s.target];
      // A program left out with options.programs leaves its slot empty.
      if (!target) continue;
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, s.slot, true);
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, target.fd, true);
      map.update(key, value);
    }
  }
}
