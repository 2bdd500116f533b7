import {
  BpfError,
  Collection,
  createCollectionMaps,
  fillInitialValues,
  InvalidArgumentError,
  mapTypeName,
  NotSupportedError,
  ProgramType,
  runSteps,
  runStepsAsync,
  VerifierError,
} from '@bpfkit/core';
import type { Codec, CollectionOptions, CollectionSpec, LoadProgramOptions, Map, Program, ProgramSpec } from '@bpfkit/core';
import { btfCodec } from '../btf/codec.js';
import type { Btf } from '../btf/parse.js';
import { mapBtfTypes, planCollection } from '../collection-plan.js';
import type { CoreCandidateCache } from '../co-re/resolve.js';
import { structOpsUses } from '../maps/struct-ops.js';
import { readObject } from '../object.js';
import type { ObjectSpec } from '../object.js';
import type { ElfProgramSpec } from '../programs/extract.js';
import { resolveAttachBtf } from './attach-btf.js';
import { explainCoreFailure, relocateCore } from './core-relocations.js';
import type { RelocatedProgram } from './core-relocations.js';
import type { KernelBtf } from './kernel-btf.js';
import { linkReferences } from './link-references.js';
import type { LoadedBtf, LoaderPort } from './port.js';
import { resolveExterns } from './resolve-externs.js';
import { fillStructOpsMaps, prepareStructOps, structOpsLoadExtras } from './struct-ops.js';
import type { StructOpsPlan } from './struct-ops.js';

/**
 * Loads a BPF object through a backend's {@link LoaderPort}: the one
 * collection loader of every backend. It selects the programs
 * (`options.programs`), resolves the externs they use (kconfig, ksyms,
 * kfuncs), loads the object's BTF, plans and creates the maps (pins by
 * name, replacements after a compatibility check, global data with
 * `.rodata` frozen, sizes the object leaves to the loader), lays out
 * struct_ops maps, relocates CO-RE against the kernel's types, links map,
 * global data and extern references into each program, loads it with its
 * func and line info and attach target, fills prog arrays and map-in-maps
 * the object initialises and struct_ops values, and returns a disposable
 * {@link Collection}. On any failure everything created is closed again.
 * What a user sees differs between backends only where their ports answer
 * differently.
 *
 * @example
 * declare const port: LoaderPort;
 * using coll = loadCollectionWith(port, 'prog.bpf.o', { constants: { target_pid: 42 } });
 */
export function loadCollectionWith(
  port: LoaderPort,
  object: string | Uint8Array | CollectionSpec,
  options: CollectionOptions = {},
): Collection {
  try {
    return runSteps(load(port, object, options), (s) => port.loadProgram(s.spec, s.options));
  } finally {
    port.release();
  }
}

/**
 * {@link loadCollectionWith} with each program load awaited: the port's
 * `loadProgramAsync` where it has one (the kernel's runs BPF_PROG_LOAD, and
 * so the verifier, on the libuv thread pool), so the event loop keeps
 * serving while a large object loads. Everything else is the same loader.
 *
 * @example
 * declare const port: LoaderPort;
 * using coll = await loadCollectionWithAsync(port, 'prog.bpf.o', {});
 */
export async function loadCollectionWithAsync(
  port: LoaderPort,
  object: string | Uint8Array | CollectionSpec,
  options: CollectionOptions = {},
): Promise<Collection> {
  try {
    return await runStepsAsync(load(port, object, options), (s) =>
      port.loadProgramAsync ? port.loadProgramAsync(s.spec, s.options) : port.loadProgram(s.spec, s.options),
    );
  } finally {
    port.release();
  }
}

/** A program the loader wants loaded: its linked spec and load options. */
interface ProgramLoadStep {
  spec: ProgramSpec;
  options: LoadProgramOptions;
}

/** The loader, whatever loads the programs: yields each program to load, receives it (or its error, thrown in). */
function* load(
  port: LoaderPort,
  object: string | Uint8Array | CollectionSpec,
  options: CollectionOptions,
): Generator<ProgramLoadStep, Collection, Program> {
  const given = typeof object === 'string' ? readObject(port.readFile(object)) : object instanceof Uint8Array ? readObject(object) : object;
  if (typeof given !== 'object' || given === null || !('programs' in given) || !('elf' in given) || !('withConstants' in given)) {
    throw new InvalidArgumentError('object', 'a path, the bytes of a BPF object, or readObject() of one', object);
  }
  const objectSpec = given as ObjectSpec;
  // The kernel (and the mock's VM) read instructions and BTF in little-endian order.
  if (!objectSpec.littleEndian) {
    throw new InvalidArgumentError(
      'object',
      "an object compiled for this machine's byte order (-target bpfel)",
      'a big-endian (bpfeb) object',
    );
  }
  // A spec is a value: this load gets exactly the constants it was given (the caller's spec is untouched).
  const spec = objectSpec.withConstants(options.constants ?? {});
  const warnings: string[] = [...spec.warnings];
  const selected = selectPrograms(spec, options.programs);
  const structOps = planStructOps(port, spec, selected, options.programs !== undefined, warnings);
  const wanted = Object.keys(selected).filter((name) => !structOps.skipped.includes(name));

  // What the programs to load reference: externs to resolve, maps that must exist.
  const usedExterns = new Set<string>();
  const usedMaps = new Set<string>(Object.keys(options.mapReplacements ?? {}));
  for (const name of wanted) {
    for (const r of spec.programs[name]!.references) {
      if (r.kind === 'extern' || r.kind === 'kfunc') usedExterns.add(r.target);
      else usedMaps.add(r.target);
    }
  }
  const externs = spec.btf
    ? resolveExterns(spec.btf, true, spec.externs, port.externs, usedExterns)
    : { values: new globalThis.Map(), kconfig: new Uint8Array(0) };

  const owned: { close(): void }[] = [];
  try {
    let btf: LoadedBtf | undefined;
    if (spec.btf) {
      const loaded = port.loadBtf(spec);
      if (loaded && 'warning' in loaded) warnings.push(loaded.warning);
      else if (loaded) {
        btf = loaded;
        owned.push(loaded);
      }
    }
    const plan = planCollection(spec, { withBtf: btf !== undefined, possibleCpus: port.possibleCpus, kconfig: externs.kconfig });
    // A map of a type the backend lacks is left out (with a warning) when no program loaded uses it; with
    // programErrors 'skip', also when one does: that program is then refused (below), the rest load.
    const skip = options.programErrors === 'skip';
    const leftOut = plan.maps.filter((m) => !port.supportsMapType(m.spec.type) && (skip || !usedMaps.has(m.name)));
    for (const m of leftOut) {
      warnings.push(
        `map '${m.name}' is not created on ${port.backend}: it does not implement ${mapTypeName(m.spec.type)} maps${usedMaps.has(m.name) ? '' : ', and no program loaded uses it'}`,
      );
    }
    const maps: Record<string, Map> = createCollectionMaps(
      plan.maps.filter((m) => !leftOut.includes(m)),
      plan.globals,
      options,
      {
        create: (s) => port.createMap(s, btf),
        openOrCreate: (s, pinPath) => port.openOrCreateMap(s, pinPath, btf),
      },
      owned,
    );
    for (const m of structOps.maps) {
      const map = port.createStructOpsMap!(m, btf, (module) => port.moduleBtfFd(module));
      owned.push(map);
      maps[m.name] = map;
    }

    const programs: Record<string, Program> = {};
    const coreCache: CoreCandidateCache = new globalThis.Map();
    const programErrors: Record<string, Error> = {};
    for (const [done, name] of wanted.entries()) {
      const p = spec.programs[name]!;
      let program: Program;
      options.onProgress?.({ program: name, done, total: wanted.length });
      try {
        const missing = leftOut.find((m) => p.references.some((r) => r.target === m.name));
        if (missing) {
          throw new NotSupportedError(
            `${mapTypeName(missing.spec.type)} maps`,
            undefined,
            `program '${name}' uses map '${missing.name}'`,
            port.backend,
          );
        }
        program = yield* loadProgram(port, spec, p, { maps, externs: externs.values, btf, structOps, coreCache, load: options.load });
      } catch (err) {
        // A refusal of this program's load (the verifier's, its BPF_PROG_LOAD's, the mock VM's): with 'skip', one failed load.
        if (
          options.programErrors !== 'skip' ||
          !(err instanceof VerifierError || err instanceof BpfError || err instanceof NotSupportedError)
        ) {
          throw err;
        }
        programErrors[name] = err;
        warnings.push(`program '${name}' was not loaded: ${err.message.split('\n')[0]}`);
        continue;
      }
      owned.push(program);
      programs[name] = program;
    }
    for (const [map, slots] of Object.entries(spec.initialValues)) {
      for (const s of slots) {
        if (s.kind === 'program' && Object.hasOwn(programErrors, s.target)) {
          warnings.push(`slot ${s.slot} of map '${map}' is left empty: program '${s.target}' was not loaded`);
        }
      }
    }
    fillInitialValues(spec.initialValues, maps, programs);
    warnings.push(...fillStructOpsMaps(structOps, maps, programs));

    // Closing the collection detaches first what its programs' attach() made, then closes programs and maps;
    // a link that fails to close does not keep the rest open: its error is thrown once everything is closed.
    let failed: { err: unknown } | undefined;
    const closeLinks = {
      close() {
        try {
          port.closeLinks(Object.values(programs));
        } catch (err) {
          failed = { err };
        }
      },
    };
    const reportFailure = {
      close() {
        const f = failed;
        failed = undefined;
        if (f) throw f.err;
      },
    };
    return new Collection(maps, programs, [closeLinks, ...owned, reportFailure], warnings, plan.variables, typeCodecOf(spec.btf), {
      mapTypes: mapBtfTypes(spec),
      structOps: Object.keys(spec.structOps).filter((name) => Object.hasOwn(maps, name)),
      programErrors,
    });
  } catch (err) {
    for (const o of owned.reverse()) o.close();
    throw err;
  }
}

interface ProgramContext {
  maps: Record<string, Map>;
  externs: ReturnType<typeof resolveExterns>['values'];
  btf: LoadedBtf | undefined;
  structOps: StructOpsPlan;
  coreCache: CoreCandidateCache;
  load: CollectionOptions['load'];
}

/** Relocates, links and loads one program of the object. */
function* loadProgram(
  port: LoaderPort,
  spec: ObjectSpec,
  p: ElfProgramSpec,
  ctx: ProgramContext,
): Generator<ProgramLoadStep, Program, Program> {
  const moduleBtfFd = (module: string) => port.moduleBtfFd(module);
  const ops = structOpsLoadExtras(ctx.structOps, p.name, moduleBtfFd);
  const relocated: RelocatedProgram =
    spec.btf && p.coreRelocations.length
      ? relocateCore(
          p,
          spec.btf,
          kernelTypesFor(port, `CO-RE relocations (program '${p.name}' has ${p.coreRelocations.length})`),
          ctx.coreCache,
        )
      : { ...p, coreReport: [] };
  const fdArray: number[] = [];
  const instructions = linkReferences(relocated, {
    maps: ctx.maps,
    externs: ctx.externs,
    moduleBtfFd,
    moduleFdIndex: (module) => {
      if (module === 'vmlinux') return 0;
      const fd = moduleBtfFd(module);
      if (!fdArray.includes(fd)) fdArray.push(fd);
      // Index 0 of fd_array stands for vmlinux; modules follow.
      return fdArray.indexOf(fd) + 1;
    },
  });
  const needsBtf = p.type === ProgramType.TRACING || p.type === ProgramType.LSM;
  const attach =
    p.attachTo && needsBtf
      ? resolveAttachBtf(p, [...kernelTypesFor(port, `attach target '${p.attachTo}' of program '${p.name}'`)])
      : undefined;
  if (needsBtf && !attach) {
    throw new NotSupportedError(
      `attach target '${p.attachTo ?? ''}' of program '${p.name}' (section ${p.section})`,
      undefined,
      p.attachTo ? "the kernel's BTF has no such function, tracepoint or hook" : 'the section names no target',
      port.backend,
    );
  }
  const extras: LoadProgramOptions = {
    ...ctx.load,
    ...(ctx.btf ? { btf: { fd: ctx.btf.fd, funcInfo: p.funcInfo, lineInfo: p.lineInfo } } : {}),
    ...(attach ? { attachBtfId: attach.id, attachBtfObjFd: moduleBtfFd(attach.module) } : {}),
    ...(ops ? { attachBtfId: ops.attachBtfId, attachBtfObjFd: ops.attachBtfObjFd } : {}),
    ...(fdArray.length ? { fdArray: [0, ...fdArray] } : {}),
  };
  try {
    return yield { spec: { ...relocated, instructions, ...(ops ? { expectedAttachType: ops.expectedAttachType } : {}) }, options: extras };
  } catch (err) {
    throw explainCoreFailure(err, relocated.coreReport);
  }
}

/** The port's kernel types, or a NotSupportedError saying what needed them and what to do. */
function kernelTypesFor(port: LoaderPort, what: string): readonly KernelBtf[] {
  const types = port.kernelTypes();
  if (types) return types;
  throw new NotSupportedError(
    what,
    undefined,
    `they resolve against the kernel's types (BTF), which ${port.backend} does not have: ${port.noKernelTypes}, or leave the program out with options.programs`,
    port.backend,
  );
}

/**
 * The struct_ops plan: laid out against the kernel's types where the
 * backend has struct_ops; otherwise empty, the object's struct_ops maps
 * left out with a warning, and the programs only they point to skipped
 * (named in `options.programs`, such a program is an error).
 */
function planStructOps(
  port: LoaderPort,
  spec: ObjectSpec,
  selected: Record<string, ElfProgramSpec>,
  named: boolean,
  warnings: string[],
): StructOpsPlan {
  if (port.createStructOpsMap) return prepareStructOps(spec, () => kernelTypesFor(port, 'struct_ops maps'), Object.keys(selected));
  const skipped: string[] = [];
  const maps = Object.keys(spec.structOps);
  for (const name of maps)
    warnings.push(`struct_ops map '${name}' is not created on ${port.backend}: it has no struct_ops (a kernel subsystem runs them)`);
  const uses = structOpsUses(spec.structOps);
  for (const [name, p] of Object.entries(selected)) {
    if (p.type !== ProgramType.STRUCT_OPS) continue;
    if (named) {
      throw new NotSupportedError(`struct_ops program '${name}'`, undefined, 'leave it out of options.programs', port.backend);
    }
    skipped.push(name);
    warnings.push(
      `struct_ops program '${name}' is not loaded on ${port.backend}${uses[name]?.length ? ` (struct_ops map ${uses[name]!.map((u) => `'${u.map}'`).join(', ')})` : ''}`,
    );
  }
  return { maps: [], programs: {}, skipped };
}

/** The programs `options.programs` names (all when undefined), by name. */
function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined): Record<string, ElfProgramSpec> {
  if (names === undefined) return spec.programs;
  if (!Array.isArray(names)) throw new InvalidArgumentError('options.programs', 'an array of program names', names);
  const out: Record<string, ElfProgramSpec> = {};
  for (const n of names) {
    const p = Object.hasOwn(spec.programs, n) ? spec.programs[n] : undefined;
    if (!p) {
      throw new InvalidArgumentError(
        `options.programs: '${n}'`,
        `one of the object's programs (${Object.keys(spec.programs).join(', ')})`,
        n,
      );
    }
    out[n] = p;
  }
  return out;
}

/**
 * The object's types by name, as codecs (`Collection.codec`); none without BTF.
 *
 * @example
 * declare const objectBytes: Uint8Array;
 * const codecOf = typeCodecOf(readObject(objectBytes).btf);
 * codecOf?.('struct event');
 */
export function typeCodecOf(btf: Btf | undefined): ((type: string) => Codec<unknown> | undefined) | undefined {
  if (!btf) return undefined;
  return (type) => {
    try {
      return btfCodec(btf, type) as Codec<unknown>;
    } catch (err) {
      if (err instanceof InvalidArgumentError) return undefined;
      throw err;
    }
  };
}
