import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '@bpfkit/core';
import type { Map, MapSpec, Program } from '@bpfkit/core';
import { globalData, mapsFromBtf, mapsFromLegacySection, parseBtf, parseElf, programsFromElf, rewriteConstants } from '@bpfkit/elf';
import type { ConstantValue, ElfProgramSpec } from '@bpfkit/elf';
import { createKernelMap, openOrCreateMap } from '@bpfkit/maps';
import { loadKernelProgram } from '@bpfkit/attach';
import type { LoadProgramOptions } from '@bpfkit/attach';

/** How {@link loadCollection} loads an object. */
export interface LoadCollectionOptions {
  /** Values for `const volatile` globals (in `.rodata*`), set before load. */
  constants?: Record<string, ConstantValue>;
  /** Existing maps to use instead of creating the object's maps of those names. */
  mapReplacements?: Record<string, Map<unknown, unknown>>;
  /** Directory (in bpffs) where maps with `pinning: by-name` are reused or pinned. */
  pinPath?: string;
  /** Verifier log options for every program. */
  load?: LoadProgramOptions;
}

/**
 * An object's maps and programs on the kernel. Closing it closes every map
 * and program it created (pinned maps stay pinned).
 *
 * @example
 * using coll = loadCollection('counter.bpf.o', { constants: { target_pid: process.pid } });
 * coll.programs.count_packets.testRun({ data: packet });
 */
export class Collection implements Disposable {
  readonly #owned: readonly { close(): void }[];

  constructor(readonly maps: Record<string, Map>, readonly programs: Record<string, Program>, owned: readonly { close(): void }[]) {
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
 * Loads a clang-compiled BPF object on the kernel: creates its maps (BTF
 * `.maps`, legacy `maps`, global data with constants rewritten, `.rodata`
 * frozen), links and loads its programs with their map references, and
 * returns a disposable {@link Collection}.
 *
 * @example
 * using coll = loadCollection(fs.readFileSync('prog.bpf.o'));
 */
export function loadCollection(object: string | Uint8Array, options: LoadCollectionOptions = {}): Collection {
  const bytes = typeof object === 'string' ? new Uint8Array(fs.readFileSync(object)) : object;
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('object', 'a path or the bytes of a BPF object', object);
  const elf = parseElf(bytes);
  const btfSection = elf.section('.BTF');
  const btf = btfSection ? parseBtf(elf.data(btfSection)) : undefined;
  const specs: Record<string, MapSpec> = { ...mapsFromLegacySection(elf), ...(btf ? mapsFromBtf(btf) : {}) };
  const globals = globalData(elf, btf);
  if (options.constants && Object.keys(options.constants).length) {
    if (!btf) throw new InvalidArgumentError('constants', 'an object with BTF (compile with -g) to find its globals', options.constants);
    rewriteConstants(globals, options.constants, btf, elf.littleEndian);
  }
  const programs = programsFromElf(elf);

  const owned: { close(): void }[] = [];
  const maps: Record<string, Map> = {};
  try {
    for (const [name, spec] of Object.entries(specs)) {
      const replacement = options.mapReplacements?.[name];
      if (replacement) {
        maps[name] = replacement as Map;
        continue;
      }
      const plain: MapSpec = { ...withoutBtf(spec), name, pinning: undefined };
      const map = spec.pinning === 'by-name' && options.pinPath
        ? openOrCreateMap(plain, { pinPath: path.join(options.pinPath, name) })
        : createKernelMap(plain);
      owned.push(map);
      maps[name] = map;
    }
    for (const [section, g] of Object.entries(globals)) {
      const map = createKernelMap({ name: section.slice(0, 15), type: g.type, keySize: 4, valueSize: g.valueSize, maxEntries: 1, flags: g.flags });
      owned.push(map);
      map.update(new Uint8Array(4), g.contents);
      // Constants: frozen, so the verifier may treat them as known values.
      if (g.readOnly) map.freeze();
      maps[section] = map;
    }
    const loaded: Record<string, Program> = {};
    for (const [name, spec] of Object.entries(programs)) {
      const prog = loadKernelProgram(withMapFds(spec, maps, elf.littleEndian), options.load);
      owned.push(prog);
      loaded[name] = prog;
    }
    return new Collection(maps, loaded, owned);
  } catch (err) {
    for (const o of owned.reverse()) o.close();
    throw err;
  }
}

/** The spec without BTF type ids (and so for its inner map): maps are created from sizes until object BTF is loaded too. */
function withoutBtf(spec: MapSpec): MapSpec {
  const { btfKeyTypeId: _k, btfValueTypeId: _v, innerMap, ...rest } = spec;
  return innerMap ? { ...rest, innerMap: withoutBtf(innerMap) } : rest;
}

/** Writes the fds of the maps (and value offsets) into a program's `lddw` instructions. */
function withMapFds(spec: ElfProgramSpec, maps: Record<string, Map>, littleEndian: boolean): ElfProgramSpec {
  const insns = spec.instructions.slice();
  const view = new DataView(insns.buffer);
  for (const r of spec.references) {
    if (r.kind === 'extern') throw new InvalidArgumentError(`program '${spec.name}'`, 'no extern symbols (kconfig/ksym externs come with the full loader)', r.target);
    const map = maps[r.target];
    if (!map) throw new InvalidArgumentError(`program '${spec.name}'`, `a map named '${r.target}' in the object`, r.target);
    view.setInt32(r.index * 8 + 4, map.fd, littleEndian);
    // BPF_PSEUDO_MAP_VALUE: the second half's imm is the offset inside the value.
    if (r.kind === 'map_value') view.setInt32((r.index + 1) * 8 + 4, r.offset, littleEndian);
  }
  return { ...spec, instructions: insns };
}

