import { InvalidArgumentError } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import type { Btf } from '../btf/parse.js';
import { coreError, essentialName, typeById, typeLabel } from './btf-util.js';
import { computeRelocation } from './calc.js';
import type { CoreRelocationOutcome } from './calc.js';
import { CoreReloKind, coreReloKindName } from './kinds.js';
import { findCandidates, matchSpec } from './match.js';
import type { CoreCandidate } from './match.js';
import { patchInstruction } from './patch.js';
import { formatCoreSpec, parseCoreSpec } from './spec.js';
import type { CoreSpec } from './spec.js';

/**
 * A CO-RE relocation of a program: the instruction slot, the local root
 * type, the access string and the kind (what
 * {@link programsFromElf} lists as `coreRelocations`).
 *
 * @example
 * const r: CoreRelocationInput = { index: 2, typeId: 8, accessString: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET };
 */
export interface CoreRelocationInput {
  index: number;
  typeId: number;
  accessString: string;
  kind: number;
}

/**
 * Candidate target types by local type id, pruned as relocations rule
 * candidates out (as libbpf's cache is). Share one between the programs of
 * one object resolved against the same targets, or leave it out.
 *
 * @example
 * const cache: CoreCandidateCache = new Map();
 */
export type CoreCandidateCache = Map<number, CoreCandidate[]>;

/**
 * What {@link resolveCoreRelocations} is given.
 *
 * @example
 * const spec = readObject(fs.readFileSync('prog.bpf.o'));
 * const prog = spec.programs.count_packets;
 * const options: ResolveCoreOptions = {
 *   instructions: prog.instructions, relocations: prog.coreRelocations, localBtf: spec.btf!, targetBtf: vmlinux, programName: prog.name,
 * };
 */
export interface ResolveCoreOptions {
  /** The program's encoded instructions (8 bytes a slot); not modified. */
  instructions: Uint8Array;
  relocations: readonly CoreRelocationInput[];
  /** The object's `.BTF`. */
  localBtf: Btf;
  /** The kernel's BTF, or a list: vmlinux first, then module BTFs (parsed split on vmlinux). */
  targetBtf: Btf | readonly Btf[];
  /** Byte order of the instructions and the target; default: the local BTF's. */
  littleEndian?: boolean;
  /** For messages. */
  programName?: string;
  cache?: CoreCandidateCache;
}

/**
 * What became of one relocation.
 *
 * @example
 * // { index: 2, kindName: 'byte_off', localSpec: 'struct task_struct.pid (0:0 @ offset 0)', status: 'relocated', original: 0n, value: 1264n, … }
 */
export interface CoreRelocationReport {
  /** Instruction slot. */
  index: number;
  kind: number;
  /** `'byte_off'`, `'field_exists'`, `'type_size'`, … */
  kindName: string;
  localTypeId: number;
  /** E.g. `'struct task_struct'`. */
  localType: string;
  accessString: string;
  /** The access in C terms, e.g. `'struct task_struct.real_parent (0:2 @ offset 8)'`. */
  localSpec: string;
  /**
   * `relocated`: patched with the target's value. `missing`: no target
   * matches and the relocation's answer for that is 0 (existence checks,
   * type size and id). `poisoned`: no target matches (or the access would
   * be wrong) and the instruction now calls `POISON_HELPER_ID` (helper 0xbad2310).
   */
  status: 'relocated' | 'missing' | 'poisoned';
  /** The value the instruction held (clang's, for the local types); for a poisoned field or enumerator: what the local types give. */
  original: bigint;
  /** The value patched in (0 when poisoned). */
  value: bigint;
  /** The target that decided the value (the first matching candidate). */
  target?: { targetIndex: number; typeId: number; type: string; spec: string };
  /** Set when a load/store changed size (bytes), e.g. `{ from: 8, to: 4 }`. */
  memorySize?: { from: number; to: number };
  /** How many candidates matched (all agreeing). */
  matches: number;
  /** Why nothing matched, or why the instruction was poisoned. */
  reason?: string;
}

/**
 * The relocated program.
 *
 * @example
 * declare const options: ResolveCoreOptions;
 * const { instructions, report } = resolveCoreRelocations(options);
 */
export interface CoreResolution {
  instructions: Uint8Array;
  report: CoreRelocationReport[];
}

const isBtf = (b: unknown): b is Btf =>
  typeof b === 'object' && b !== null && typeof (b as Btf).type === 'function' && typeof (b as Btf).string === 'function';

/**
 * Resolves a program's CO-RE relocations against the kernel's BTF and
 * patches its instructions, with libbpf's semantics: candidates by essential
 * name (flavour `___suffix` ignored) and kind in vmlinux, then in module
 * BTFs; fields matched by name through anonymous members and array indices
 * within bounds; every matching candidate must agree (else a `ParseError`
 * for the ambiguity); what no candidate satisfies resolves to 0 for the
 * existence kinds, type size and target type id, and poisons the
 * instruction otherwise (see {@link explainPoisonedCall}). Malformed
 * relocations, instructions that do not hold what the local BTF says, and
 * instructions CO-RE cannot patch are `ParseError`s naming the relocation.
 *
 * @example
 * const vmlinux = parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux'));
 * const spec = programsFromElf(elf, btf).count_packets;
 * const { instructions, report } = resolveCoreRelocations({
 *   instructions: spec.instructions, relocations: spec.coreRelocations,
 *   localBtf: btf, targetBtf: vmlinux, programName: spec.name,
 * });
 * report.filter((r) => r.status === 'poisoned').map((r) => r.localSpec);
 */
export function resolveCoreRelocations(options: ResolveCoreOptions): CoreResolution {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  const { instructions, relocations, localBtf, programName = '' } = options;
  if (!(instructions instanceof Uint8Array) || instructions.byteLength % 8 !== 0) {
    throw new InvalidArgumentError('instructions', 'a Uint8Array of whole 8-byte instructions', instructions);
  }
  if (!Array.isArray(relocations))
    throw new InvalidArgumentError('relocations', 'an array of { index, typeId, accessString, kind }', relocations);
  if (!isBtf(localBtf)) throw new InvalidArgumentError('localBtf', 'a parsed BTF (parseBtf)', localBtf);
  const targets: readonly Btf[] = Array.isArray(options.targetBtf) ? options.targetBtf : [options.targetBtf as Btf];
  targets.forEach((t, i) => {
    if (!isBtf(t)) throw new InvalidArgumentError(`targetBtf[${i}]`, 'a parsed BTF (parseBtf)', t);
  });
  const littleEndian = options.littleEndian ?? localBtf.littleEndian;
  const cache = options.cache ?? new Map<number, CoreCandidate[]>();

  const out = instructions.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const report: CoreRelocationReport[] = [];
  relocations.forEach((relo, n) => {
    const valid =
      typeof relo === 'object' &&
      relo !== null &&
      Number.isInteger(relo.index) &&
      Number.isInteger(relo.typeId) &&
      typeof relo.accessString === 'string' &&
      Number.isInteger(relo.kind);
    if (!valid) throw new InvalidArgumentError(`relocations[${n}]`, '{ index, typeId, accessString, kind }', relo);
    const where = () =>
      `${programName ? `program '${programName}': ` : ''}CO-RE relocation #${n} (${coreReloKindName(relo.kind)} [${relo.typeId}] '${relo.accessString}' at instruction ${relo.index})`;
    try {
      report.push(resolveOne(relo, localBtf, targets, cache, view, littleEndian));
    } catch (err) {
      if (err instanceof ParseError) throw new ParseError('CO-RE', `${where()}: ${err.message.replace(/^[^:]+: /, '')}`);
      throw err;
    }
  });
  return { instructions: out, report };
}

function resolveOne(
  relo: CoreRelocationInput,
  localBtf: Btf,
  targets: readonly Btf[],
  cache: CoreCandidateCache,
  view: DataView,
  littleEndian: boolean,
): CoreRelocationReport {
  const localType = typeById(localBtf, relo.typeId);
  const local = parseCoreSpec(localBtf, relo.typeId, relo.accessString, relo.kind);
  const entry: CoreRelocationReport = {
    index: relo.index,
    kind: relo.kind,
    kindName: coreReloKindName(relo.kind),
    localTypeId: relo.typeId,
    localType: typeLabel(localType),
    accessString: relo.accessString,
    localSpec: formatCoreSpec(local),
    status: 'relocated',
    original: 0n,
    value: 0n,
    matches: 0,
  };

  let outcome: CoreRelocationOutcome;
  if (relo.kind === CoreReloKind.TYPE_ID_LOCAL) {
    // Needs no target; the id in the instruction may be stale after linking, so it is not checked.
    const id = BigInt(relo.typeId);
    outcome = { original: id, value: id, poison: false, validate: false, failMemSizeAdjust: false, originalSize: 0, newSize: 0 };
  } else {
    if (!localType.name) coreError(`relocations against anonymous types (${typeLabel(localType)}) are not supported`);
    let candidates = cache.get(relo.typeId);
    if (!candidates) {
      candidates = findCandidates(localBtf, relo.typeId, targets);
      cache.set(relo.typeId, candidates);
    }
    const matched: CoreCandidate[] = [];
    const reasons: string[] = [];
    let chosen: { spec: CoreSpec; outcome: CoreRelocationOutcome; candidate: CoreCandidate } | undefined;
    for (const candidate of candidates) {
      const m = matchSpec(local, candidate.btf, candidate.typeId);
      const label = `${typeLabel(typeById(candidate.btf, candidate.typeId))} [${candidate.typeId}]`;
      if ('reason' in m) {
        reasons.push(`${label}: ${m.reason}`);
        continue;
      }
      const o = computeRelocation(local, m.spec, littleEndian);
      if (!chosen) {
        chosen = { spec: m.spec, outcome: o, candidate };
      } else if (m.spec.bitOffset !== chosen.spec.bitOffset) {
        coreError(
          `ambiguous: candidates put the field at different offsets (${formatCoreSpec(chosen.spec)} vs ${formatCoreSpec(m.spec)} in ${label})`,
        );
      } else if (o.poison !== chosen.outcome.poison || o.value !== chosen.outcome.value) {
        const says = (x: CoreRelocationOutcome) => (x.poison ? 'poison' : String(x.value));
        coreError(
          `ambiguous: candidates disagree (${says(chosen.outcome)} for ${formatCoreSpec(chosen.spec)}, ${says(o)} for ${formatCoreSpec(m.spec)} in ${label})`,
        );
      }
      matched.push(candidate);
    }
    // Candidates that did not match this access are dropped for the type's later relocations (libbpf does the same).
    if (matched.length > 0) cache.set(relo.typeId, matched);
    entry.matches = matched.length;
    if (chosen) {
      outcome = chosen.outcome;
      entry.target = {
        targetIndex: chosen.candidate.targetIndex,
        typeId: chosen.candidate.typeId,
        type: typeLabel(typeById(chosen.candidate.btf, chosen.candidate.typeId)),
        spec: formatCoreSpec(chosen.spec),
      };
    } else {
      const reason =
        candidates.length === 0
          ? `no type named '${essentialName(localType.name)}' of a compatible kind in the target BTF`
          : reasons.join('; ');
      outcome = computeRelocation(local, undefined, littleEndian, reason);
      entry.status = outcome.poison ? 'poisoned' : 'missing';
      entry.reason = reason;
    }
  }
  const patched = patchInstruction(view, relo.index, outcome, littleEndian);
  entry.original = patched.before ?? outcome.original;
  if (patched.poisoned) {
    entry.status = 'poisoned';
    entry.value = 0n;
    if (outcome.failMemSizeAdjust) {
      entry.reason = `the load/store would change from ${outcome.originalSize} to ${outcome.newSize} bytes, which is only safe for unsigned integers and pointers`;
    }
  } else {
    entry.value = outcome.value;
    const cls = view.getUint8(relo.index * 8) & 0x07;
    if (outcome.newSize !== outcome.originalSize && cls >= 0x01 && cls <= 0x03)
      entry.memorySize = { from: outcome.originalSize, to: outcome.newSize };
  }
  return entry;
}
