import { InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import type { Map, Program, ProgramSpec } from '@bpfkit/core';
import type { ElfProgramSpec, ObjectSpec } from '@bpfkit/elf';

const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;

/**
 * The instructions of an object's program with its map references written
 * in: the fd of each map (`BPF_PSEUDO_MAP_FD`), and for global data the
 * section map's fd and the offset (`BPF_PSEUDO_MAP_VALUE`). What the mock
 * cannot give a program yet — CO-RE relocations (they need the kernel's
 * BTF), kfunc calls, kconfig and ksym externs — is a NotSupportedError
 * naming the program and what it needs.
 *
 * @example
 * declare const spec: ElfProgramSpec;
 * declare const maps: Record<string, Map>;
 * const instructions = linkMockReferences(spec, maps);
 */
export function linkMockReferences(spec: ElfProgramSpec, maps: Record<string, Map>): Uint8Array {
  if (spec.coreRelocations.length > 0) {
    throw new NotSupportedError(
      'resolving CO-RE relocations',
      undefined,
      `program '${spec.name}' needs ${spec.coreRelocations.length} (against the kernel's BTF, which the mock has none of); load it on the kernel backend or leave it out with options.programs`,
      'the mock backend',
    );
  }
  const insns = spec.instructions.slice();
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const fdOf = (name: string): number => {
    const map = maps[name];
    if (!map) throw new InvalidArgumentError(`program '${spec.name}'`, `a map named '${name}' in the object`, name);
    return map.fd;
  };
  for (const r of spec.references) {
    const i = r.index;
    if (r.kind === 'map' || r.kind === 'map_value') {
      const src = r.kind === 'map' ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;
      insns[i * 8 + 1] = ((insns[i * 8 + 1] as number) & 0x0f) | (src << 4);
      view.setInt32(i * 8 + 4, fdOf(r.target), true);
      if (r.kind === 'map_value') view.setInt32((i + 1) * 8 + 4, r.offset, true);
      continue;
    }
    throw new NotSupportedError(
      r.kind === 'kfunc' ? 'calling kfuncs' : 'reading kconfig and ksym externs',
      undefined,
      `program '${spec.name}' uses '${r.target}' (instruction ${i}); load it on the kernel backend or leave it out with options.programs`,
      'the mock backend',
    );
  }
  return insns;
}

/**
 * Loads the programs `names` of an object on the mock, against the
 * collection's maps; each loaded program is added to `owned` (closed with
 * the collection, or when a later one fails).
 *
 * @example
 * declare const object: ObjectSpec;
 * declare const maps: Record<string, Map>;
 * declare const load: (spec: ProgramSpec) => Program;
 * const programs = loadMockCollectionPrograms(object, ['count'], maps, load, []);
 */
export function loadMockCollectionPrograms(
  object: ObjectSpec,
  names: readonly string[],
  maps: Record<string, Map>,
  load: (spec: ProgramSpec) => Program,
  owned: { close(): void }[],
): Record<string, Program> {
  const programs: Record<string, Program> = {};
  for (const name of names) {
    const spec = object.programs[name];
    if (!spec) throw new InvalidArgumentError('programs', 'names of programs in the object', name);
    const instructions = linkMockReferences(spec, maps);
    const program = load({
      name: spec.name,
      type: spec.type,
      instructions,
      license: spec.license,
      section: spec.section,
      ...(spec.expectedAttachType !== undefined ? { expectedAttachType: spec.expectedAttachType } : {}),
      ...(spec.attachTo !== undefined ? { attachTo: spec.attachTo } : {}),
      ...(spec.flags !== undefined ? { flags: spec.flags } : {}),
    });
    owned.push(program);
    programs[name] = program;
  }
  return programs;
}
