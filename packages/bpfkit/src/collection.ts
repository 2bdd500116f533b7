import { Collection, createCollectionMaps, fillInitialValues, InvalidArgumentError, NotSupportedError, ProgramType } from '@bpfkit/core';
import type { Codec, CollectionOptions, Program } from '@bpfkit/core';
import { btfCodec, mapBtfTypes, planCollection, readObject } from '@bpfkit/elf';
import type { Btf, CoreCandidateCache, ObjectSpec } from '@bpfkit/elf';
import { createKernelMap, openOrCreateMap } from '@bpfkit/maps';
import type { KernelMapOptions } from '@bpfkit/maps';
import { loadKernelProgram } from '@bpfkit/attach';
import type { KernelProgram, LoadProgramOptions } from '@bpfkit/attach';
import { native, possibleCpus } from '@bpfkit/syscalls';
import { openModuleBtf } from './kernel/kernel-btf.js';
import { kernelTypes, readFileFor, runningKernelExterns } from './loader/environment.js';
import { resolveAttachBtf } from './loader/attach-btf.js';
import { loadObjectBtf } from './loader/object-btf.js';
import { linkReferences } from './loader/link-references.js';
import { explainCoreFailure, relocateCore } from './loader/core-relocations.js';
import { resolveExterns } from './loader/resolve-externs.js';
import { createStructOpsMaps, fillStructOpsMaps, prepareStructOps, structOpsLoadExtras } from './loader/struct-ops.js';

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
 * Closing the collection first closes the links its programs' `attach()`
 * returned (detaching them; links pinned in bpffs stay attached through
 * their pins), then its programs and maps.
 *
 * @example
 * using coll = loadCollection(fs.readFileSync('prog.bpf.o'));
 */
export function loadCollection(object: string | Uint8Array | ObjectSpec, options: LoadCollectionOptions = {}): Collection {
  const given =
    typeof object === 'string'
      ? readObject(readFileFor('object', 'a readable BPF object file', object))
      : object instanceof Uint8Array
        ? readObject(object)
        : object;
  if (typeof given !== 'object' || given === null || !('programs' in given) || !('elf' in given) || !('withConstants' in given)) {
    throw new InvalidArgumentError('object', 'a path, the bytes of a BPF object, or readObject() of one', object);
  }
  // The kernel reads instructions and BTF in its own byte order.
  if (!given.littleEndian)
    throw new InvalidArgumentError(
      'object',
      "an object compiled for this machine's byte order (-target bpfel)",
      'a big-endian (bpfeb) object',
    );
  // A spec is a value: this load gets exactly the constants it was given (the caller's spec is untouched).
  const spec = given.withConstants(options.constants ?? {});
  const wanted = selectPrograms(spec, options.programs);
  const kernel = kernelTypes(options.kernelBtf);
  const env = runningKernelExterns(kernel, options.kconfig);

  const owned: { close(): void }[] = [];
  const warnings: string[] = [...spec.warnings];
  const moduleFds = new globalThis.Map<string, number>();
  const coreCache: CoreCandidateCache = new globalThis.Map();
  try {
    const externs = resolveExterns(spec.btf!, true, spec.externs, env);
    const structOps = prepareStructOps(spec, kernel, Object.keys(wanted));
    let btf: { fd: number; btf: Btf } | undefined;
    if (spec.btf) {
      const loaded = loadObjectBtf(spec.elf, spec.btf, spec.externs);
      if ('fd' in loaded) {
        btf = { fd: loaded.fd, btf: spec.btf };
        let open = true;
        // Idempotent like the map and program handles: a collection may be closed twice (close(), then `using`).
        owned.push({
          close: () => {
            if (open) native.close(loaded.fd);
            open = false;
          },
        });
      } else {
        warnings.push(loaded.warning);
      }
    }
    const plan = planCollection(spec, { withBtf: btf !== undefined, possibleCpus: possibleCpus(), kconfig: externs.kconfig });
    const createOptions: KernelMapOptions = btf ? { btf } : {};
    const maps = createCollectionMaps(
      plan.maps,
      plan.globals,
      options,
      {
        create: (s) => createKernelMap(s, undefined, createOptions),
        openOrCreate: (s, pinPath) => openOrCreateMap(s, { pinPath }, undefined, createOptions),
      },
      owned,
    );

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
    const kernelPrograms: KernelProgram[] = [];
    Object.assign(maps, createStructOpsMaps(structOps, btf, moduleBtfFd, owned));
    for (const [name, p] of Object.entries(wanted)) {
      // Programs only `?`-section (optional) struct_ops maps use are not loaded, as libbpf leaves them out.
      if (structOps.skipped.includes(name)) continue;
      const ops = structOpsLoadExtras(structOps, name, moduleBtfFd);
      const relocated = spec.btf && p.coreRelocations.length ? relocateCore(p, spec.btf, kernel(), coreCache) : { ...p, coreReport: [] };
      const fdArray: number[] = [];
      const instructions = linkReferences(relocated, {
        maps,
        externs: externs.values,
        moduleBtfFd,
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
        throw new NotSupportedError(
          `attach target '${p.attachTo ?? ''}' of program '${name}' (section ${p.section})`,
          undefined,
          p.attachTo ? "the kernel's BTF has no such function, tracepoint or hook" : 'the section names no target',
        );
      }
      const loadOptions: LoadProgramOptions = {
        ...options.load,
        ...(btf ? { btf: { fd: btf.fd, funcInfo: p.funcInfo, lineInfo: p.lineInfo } } : {}),
        ...(attach ? { attachBtfId: attach.id, attachBtfObjFd: moduleBtfFd(attach.module) } : {}),
        ...(ops ? { attachBtfId: ops.attachBtfId, attachBtfObjFd: ops.attachBtfObjFd } : {}),
        ...(fdArray.length ? { fdArray: [0, ...fdArray] } : {}),
      };
      let prog: KernelProgram;
      try {
        prog = loadKernelProgram(
          { ...relocated, instructions, ...(ops ? { expectedAttachType: ops.expectedAttachType } : {}) },
          loadOptions,
        );
      } catch (err) {
        throw explainCoreFailure(err, relocated.coreReport);
      }
      owned.push(prog);
      kernelPrograms.push(prog);
      programs[name] = prog;
    }
    fillInitialValues(spec.initialValues, maps, programs);
    warnings.push(...fillStructOpsMaps(structOps, maps, programs));
    // Closing the collection detaches first what its programs' attach() made, then closes programs and maps;
    // a link that fails to close does not keep the rest open: its error is thrown once everything is closed.
    let failed: { err: unknown } | undefined;
    const closeLinks = {
      close() {
        try {
          closeAllLinks(kernelPrograms);
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
      structOps: Object.keys(spec.structOps),
    });
  } catch (err) {
    for (const o of owned.reverse()) o.close();
    throw err;
  } finally {
    for (const fd of moduleFds.values()) native.close(fd);
  }
}

/** Closes the links of every program, then throws the first failure (after trying them all). */
function closeAllLinks(programs: readonly KernelProgram[]): void {
  let failure: { err: unknown } | undefined;
  for (const p of programs) {
    try {
      p.closeLinks();
    } catch (err) {
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}

function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined): ObjectSpec['programs'] {
  if (names === undefined) return spec.programs;
  const out: ObjectSpec['programs'] = {};
  for (const n of names) {
    const p = spec.programs[n];
    if (!p)
      throw new InvalidArgumentError(
        `options.programs: '${n}'`,
        `one of the object's programs (${Object.keys(spec.programs).join(', ')})`,
        n,
      );
    out[n] = p;
  }
  return out;
}

/** Tracing, LSM and iterator programs are verified against the BTF of what they attach to. */
function attachNeedsBtf(p: ObjectSpec['programs'][string]): boolean {
  return p.type === ProgramType.TRACING || p.type === ProgramType.LSM;
}

/** The object's types by name, as codecs (Collection.codec); none without BTF. */
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
