import { POISON_HELPER_ID } from './patch.js';
import type { CoreRelocationReport } from './resolve.js';

/**
 * Which poisoned CO-RE relocation a verifier failure comes from.
 *
 * @example
 * // { instruction: 12, relocation: { kindName: 'byte_off', localSpec: '…', … }, message: 'instruction 12: …' }
 */
export interface PoisonedCallExplanation {
  /** The instruction the verifier stopped at, when the log names it. */
  instruction: number | undefined;
  relocation: CoreRelocationReport;
  /** One sentence for the user: which relocation, of what, and why it failed. */
  message: string;
}

const CALL_LINE = new RegExp(`^(\\d+): \\(85\\) call [^\\n]*#${POISON_HELPER_ID}\\s*$`, 'gm');
const INVALID = `invalid func unknown#${POISON_HELPER_ID}`;

/**
 * Explains a verifier rejection caused by a poisoned CO-RE relocation: when
 * the log says `invalid func unknown#195896080`, finds the instruction the
 * verifier printed for that call and the poisoned relocation at it in the
 * report of {@link resolveCoreRelocations}. Returns `undefined` when the log
 * is about something else or no poisoned relocation fits.
 *
 * @example
 * declare const err: VerifierError; // from loading the program resolveCoreRelocations() returned
 * declare const resolution: CoreResolution;
 * const why = explainPoisonedCall(err.log, resolution.report);
 * if (why) console.error(why.message); // 'instruction 40: CO-RE relocation byte_off of struct s.f (0:0 @ offset 0) failed: …'
 */
export function explainPoisonedCall(log: string, report: readonly CoreRelocationReport[]): PoisonedCallExplanation | undefined {
  if (typeof log !== 'string' || !Array.isArray(report)) return undefined;
  const end = log.lastIndexOf(INVALID);
  if (end < 0) return undefined;
  const poisoned = report.filter((r) => r.status === 'poisoned');
  let instruction: number | undefined;
  for (const m of log.slice(0, end).matchAll(CALL_LINE)) instruction = Number(m[1]);
  const relocation =
    instruction !== undefined ? poisoned.find((r) => r.index === instruction) : poisoned.length === 1 ? poisoned[0] : undefined;
  if (!relocation) return undefined;
  const at = instruction ?? relocation.index;
  const why = relocation.reason ? `: ${relocation.reason}` : '';
  return {
    instruction,
    relocation,
    message: `instruction ${at}: CO-RE relocation ${relocation.kindName} of ${relocation.localSpec} failed and the instruction was poisoned${why}`,
  };
}
