import { VerifierError } from '@bpfkit/core';
import { explainPoisonedCall } from '../co-re/poison.js';
import { resolveCoreRelocations } from '../co-re/resolve.js';
import type { Btf } from '../btf/parse.js';
import type { CoreCandidateCache, CoreRelocationReport } from '../co-re/resolve.js';
import type { ElfProgramSpec } from '../programs/extract.js';
import type { KernelBtf } from './kernel-btf.js';

/** A program after CO-RE: its instructions patched, and what each relocation became. */
export type RelocatedProgram = ElfProgramSpec & { coreReport: CoreRelocationReport[] };

/**
 * Resolves a program's CO-RE relocations against the kernel's types
 * (vmlinux, then modules) as libbpf does; unresolvable field accesses are
 * poisoned, so only a reachable one fails verification.
 *
 * @example
 * const object = readObject(fs.readFileSync('prog.bpf.o'));
 * const relocated = relocateCore(object.programs.count_packets, object.btf!, kernelBtfs());
 */
export function relocateCore(spec: ElfProgramSpec, local: Btf, kernel: readonly KernelBtf[], cache?: CoreCandidateCache): RelocatedProgram {
  if (!spec.coreRelocations?.length) return { ...spec, coreReport: [] };
  const { instructions, report } = resolveCoreRelocations({
    instructions: spec.instructions,
    relocations: spec.coreRelocations,
    localBtf: local,
    targetBtf: kernel.map((k) => k.btf),
    littleEndian: true,
    programName: spec.name,
    ...(cache ? { cache } : {}),
  });
  return { ...spec, instructions, coreReport: report };
}

/**
 * A verifier rejection at a poisoned CO-RE instruction, re-worded to name
 * the relocation that could not be resolved (the kernel only says
 * "invalid func unknown#195896080"); any other error is returned as is.
 *
 * @example
 * declare const relocated: RelocatedProgram;
 * try { loadKernelProgram(relocated); } catch (err) { throw explainCoreFailure(err, relocated.coreReport); }
 */
export function explainCoreFailure(err: unknown, report: readonly CoreRelocationReport[]): unknown {
  if (!(err instanceof VerifierError) || report.length === 0) return err;
  const explained = explainPoisonedCall(err.log, report);
  if (!explained) return err;
  return new CoreRelocationError(err, explained.message);
}

/**
 * The verifier reached an instruction whose CO-RE relocation failed: the
 * kernel lacks the field or type the program reads. Still a
 * {@link VerifierError} (with the whole log), with the relocation named.
 */
export class CoreRelocationError extends VerifierError {
  override readonly name: string = 'CoreRelocationError';
  /** Which relocation, of what, and why it failed. */
  readonly relocation: string;

  constructor(cause: VerifierError, relocation: string) {
    super(cause.program, cause.errno, cause.log, { truncated: cause.truncated });
    this.relocation = relocation;
    this.message = `${this.message} — CO-RE: ${relocation}`;
  }
}
