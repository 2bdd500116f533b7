import fs from 'node:fs';
import { Collection, createCollectionMaps, fillInitialValues, InvalidArgumentError, mapTypeName } from '@bpfkit/core';
import type { Codec, CollectionOptions, CollectionSpec } from '@bpfkit/core';
import { btfCodec, mapBtfTypes, planCollection, readObject } from '@bpfkit/elf';
import type { ObjectSpec } from '@bpfkit/elf';
import { loadMockCollectionPrograms } from './collection-programs.js';
import { MOCK_MAP_TYPES } from './map-spec.js';
import type { MockSystem } from './mock-system.js';

/**
 * `MockSystem.loadCollection`: an object's maps, global data and programs
 * in the mock system's memory.
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
  const spec = typeof object === 'string' ? readObject(readObjectFile(object)) : object instanceof Uint8Array ? readObject(object) : object;
  if (typeof spec !== 'object' || spec === null || !('elf' in spec) || !('rewriteConstants' in spec)) {
    throw new InvalidArgumentError('object', 'a path, the bytes of a BPF object, or readObject() of one', object);
  }
  // A spec is a value: this load gets exactly the constants it was given.
  const object_ = (spec as ObjectSpec).withConstants(options.constants ?? {});
  const programs = options.programs ?? Object.keys(object_.programs);
  for (const name of programs) {
    if (!object_.programs[name]) {
      throw new InvalidArgumentError('programs', `names of programs in the object (${Object.keys(object_.programs).join(', ')})`, name);
    }
  }
  const plan = planCollection(object_, { withBtf: false, possibleCpus: system.possibleCpus });
  // A map of a type the mock does not implement is left out (with a warning) when no program loaded uses it.
  const used = new Set<string>(Object.keys(options.mapReplacements ?? {}));
  for (const name of programs) for (const r of object_.programs[name]?.references ?? []) used.add(r.target);
  const leftOut = plan.maps.filter((m) => !MOCK_MAP_TYPES.has(m.spec.type) && !used.has(m.name));
  const mapPlans = plan.maps.filter((m) => !leftOut.includes(m));
  const owned: { close(): void }[] = [];
  try {
    const maps = createCollectionMaps(
      mapPlans,
      plan.globals,
      options,
      {
        create: (s) => system.createMap(s),
        openOrCreate: (s, pinPath) => system.openOrCreateMap(s, { pinPath }),
      },
      owned,
    );
    const loaded = loadMockCollectionPrograms(object_, programs, maps, (p) => system.loadProgram(p), owned);
    fillInitialValues(object_.initialValues, maps, loaded);
    // struct_ops maps need the kernel's struct types and programs: say they were left out.
    const warnings = [
      ...object_.warnings,
      ...leftOut.map(
        (m) =>
          `map '${m.name}' is not created on the mock backend: it does not implement ${mapTypeName(m.spec.type)} maps, and no program loaded uses it`,
      ),
      ...Object.keys(object_.structOps).map(
        (name) => `struct_ops map '${name}' is not created on the mock backend (it needs the kernel's struct and its programs)`,
      ),
    ];
    const btf = object_.btf;
    const typeCodec = btf
      ? (type: string) => {
          try {
            return btfCodec(btf, type) as Codec<unknown>;
          } catch (err) {
            if (err instanceof InvalidArgumentError) return undefined;
            throw err;
          }
        }
      : undefined;
    return new Collection(maps, loaded, owned, warnings, plan.variables, typeCodec, { mapTypes: mapBtfTypes(object_) });
  } catch (err) {
    for (const o of owned.reverse()) o.close();
    throw err;
  }
}

/** The bytes of an object file, or an InvalidArgumentError saying why not. */
function readObjectFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw new InvalidArgumentError('object', `a readable BPF object file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
}
