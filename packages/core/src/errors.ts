import { Errno, errnoDescription, errnoName } from './errno.js';

/** What a failed system call was doing, used to word a {@link BpfError}. */
export interface BpfErrorContext {
  /** The system call: `'bpf'`, `'perf_event_open'`, `'ioctl'`, `'mmap'`, … */
  syscall: string;
  /** The command within the system call, e.g. `'BPF_MAP_CREATE'`. */
  command?: string | undefined;
  /** What the caller was doing, e.g. `map 'events'`; prefixed to the message. */
  subject?: string | undefined;
  /** A hint that replaces the generic advice for this errno. */
  hint?: string | undefined;
}

const CAPABILITY_HINT =
  'run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8; ' +
  'CAP_NET_ADMIN for network hooks), and check kernel.unprivileged_bpf_disabled and lockdown';

/** Generic advice for an errno when the caller gave no better hint. */
function defaultHint(errno: number, ctx: BpfErrorContext): string | undefined {
  switch (errno) {
    case Errno.EPERM:
    case Errno.EACCES:
      return `needs privileges: ${CAPABILITY_HINT}`;
    case Errno.E2BIG:
      return ctx.command === 'BPF_MAP_UPDATE_ELEM' || ctx.command === 'BPF_MAP_UPDATE_BATCH'
        ? 'the map is full (max_entries reached)'
        : 'a size limit was hit (key/value size, max_entries, instruction count or attribute size)';
    case Errno.ENOSPC:
      return ctx.command === 'BPF_PROG_LOAD'
        ? 'the verifier log buffer is too small'
        : 'a limit was hit (map full, buffer too small, or too many programs attached)';
    case Errno.ENOSYS:
      return 'this kernel does not have the bpf() system call or this command';
    case Errno.EBADF:
      return 'the file descriptor is not open (was the object closed?)';
    case Errno.EMFILE:
      return 'the process ran out of file descriptors (raise RLIMIT_NOFILE or close unused objects)';
    default:
      return undefined;
  }
}

/**
 * A system call failed. Carries the errno, its symbolic code, the system call
 * and the command, and a message that says what to do about it.
 *
 * @example
 * try {
 *   map.update(key, value, 'noexist');
 * } catch (err) {
 *   if (err instanceof BpfError && err.code === 'EEXIST') console.log('already there');
 * }
 */
export class BpfError extends Error {
  override readonly name: string = 'BpfError';
  /** The positive errno, e.g. `2`. */
  readonly errno: number;
  /** The symbolic errno, e.g. `'ENOENT'`. */
  readonly code: string;
  /** The failing system call, e.g. `'bpf'`. */
  readonly syscall: string;
  /** The command within the system call, e.g. `'BPF_MAP_LOOKUP_ELEM'`. */
  readonly command: string | undefined;

  constructor(errno: number, ctx: BpfErrorContext, options?: { cause?: unknown }) {
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    const what = ctx.command ? `${ctx.syscall}(${ctx.command})` : ctx.syscall;
    const hint = ctx.hint ?? defaultHint(positive, ctx);
    const prefix = ctx.subject ? `${ctx.subject}: ` : '';
    super(`${prefix}${what} failed: ${code} (${errnoDescription(positive)})${hint ? `: ${hint}` : ''}`, options);
    this.errno = positive;
    this.code = code;
    this.syscall = ctx.syscall;
    this.command = ctx.command;
  }
}

/**
 * The verifier rejected a program. `log` holds the whole verifier log;
 * the message is a one-line summary naming the program and the failing
 * instruction.
 *
 * @example
 * declare const spec: ProgramSpec;
 * try { system.loadProgram(spec); }
 * catch (err) { if (err instanceof VerifierError) console.error(err.log); }
 */
export class VerifierError extends BpfError {
  override readonly name: string = 'VerifierError';
  /** The complete verifier log. */
  readonly log: string;
  /** The program the verifier rejected. */
  readonly program: string;
  /** The index of the instruction the verifier stopped at, when the log says. */
  readonly instruction: number | undefined;
  /** Whether the log had to be cut because it did not fit the largest buffer. */
  readonly truncated: boolean;

  constructor(program: string, errno: number, log: string, options: { truncated?: boolean } = {}) {
    const summary = summarizeVerifierLog(log);
    super(errno, {
      syscall: 'bpf',
      command: 'BPF_PROG_LOAD',
      subject: `program '${program}'`,
      hint: summary.line ? `verifier: ${summary.line}` : 'verifier rejected the program (empty log)',
    });
    this.program = program;
    this.log = log;
    this.instruction = summary.instruction;
    this.truncated = options.truncated ?? false;
  }
}

/** Picks the meaningful last line of a verifier log and the instruction it concerns. */
export function summarizeVerifierLog(log: string): { line: string | undefined; instruction: number | undefined; source?: string } {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  // The kernel ends a rejection with statistics ("processed N insns ...") and
  // sometimes a stack-depth line; the reason is the last line before those.
  const noise = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|mark_precise|last_idx|regs=|parent didn't have)/;
  let line: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!noise.test(lines[i]!)) {
      line = lines[i];
      break;
    }
  }
  let instruction: number | undefined;
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+): \(/.exec(lines[i]!);
    if (m) {
      instruction = Number(m[1]);
      at = i;
      break;
    }
  }
  // With line info the kernel annotates the log with "; <C source> @ <file>:<line>" before the instructions of each line.
  let source: string | undefined;
  for (let i = at; i >= 0; i--) {
    // Before 6.4 the annotation is the source text alone ("; <C source>").
    const m = /^; (.*?)(?: @ (\S+:\d+))?$/.exec(lines[i]!);
    if (m) {
      source = m[2] ? `${m[2]}: ${m[1]!.trim()}` : m[1]!.trim();
      break;
    }
  }
  if (line !== undefined && instruction !== undefined) line = `${line} (at instruction ${instruction}${source ? `, ${source}` : ''})`;
  return { line, instruction, ...(source ? { source } : {}) };
}

/**
 * A bad argument, caught before any system call. The message names what was
 * expected and what was given.
 *
 * @example
 * map.lookup(new Uint8Array(3)); // throws: key: expected 4 bytes, got 3
 */
export class InvalidArgumentError extends TypeError {
  override readonly name: string = 'InvalidArgumentError';
  /** The argument at fault, e.g. `'key'`. */
  readonly argument: string;
  /** What was expected, e.g. `'4 bytes'`. */
  readonly expected: string;
  /** What was given, described. */
  readonly given: string;

  constructor(argument: string, expected: string, given: unknown) {
    const described = describeValue(given);
    super(`${argument}: expected ${expected}, got ${described}`);
    this.argument = argument;
    this.expected = expected;
    this.given = described;
  }
}

/**
 * The running kernel (or backend) lacks a feature. Carries the feature and,
 * when known, the first kernel version that has it. `lackedBy` names what
 * lacks it when that is not the kernel but bpfkit or one of its backends.
 *
 * @example
 * throw new NotSupportedError('ring buffer map', '5.8');
 * throw new NotSupportedError('reading ring buffer maps', undefined, undefined, 'the mock backend');
 */
export class NotSupportedError extends Error {
  override readonly name: string = 'NotSupportedError';
  readonly feature: string;
  readonly minimumKernel: string | undefined;
  /** What lacks the feature: `'this kernel'` unless bpfkit or a backend is named. */
  readonly lackedBy: string;

  constructor(feature: string, minimumKernel?: string, detail?: string, lackedBy = 'this kernel') {
    super(
      `${feature} is not supported by ${lackedBy}` +
        (minimumKernel ? ` (requires at least Linux ${minimumKernel})` : '') +
        (detail ? `: ${detail}` : ''),
    );
    this.feature = feature;
    this.minimumKernel = minimumKernel;
    this.lackedBy = lackedBy;
  }
}

/**
 * An operation on a handle that was already closed.
 *
 * @example
 * const counts = system.createMap({ name: 'counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 }, { key: u32, value: u64 });
 * counts.close();
 * counts.lookup(1); // throws ClosedError: map 'counts' is closed
 */
export class ClosedError extends Error {
  override readonly name: string = 'ClosedError';
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/** Describes a value for an error message: type and size, never the whole content. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'bigint') return `the bigint ${v}n`;
  if (typeof v === 'boolean') return `${v}`;
  if (v instanceof Uint8Array) return `${v.constructor.name === 'Buffer' ? 'a Buffer' : 'a Uint8Array'} of ${v.byteLength} bytes`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${v.byteLength} bytes`;
  if (v instanceof ArrayBuffer) return `an ArrayBuffer of ${v.byteLength} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length} elements`;
  if (typeof v === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}
