// Probes the test fires: which attached programs a fired hook runs (the
// same description as the attach target: a kprobe on `do_unlinkat` also
// runs kprobe_multi programs that name it; a uprobe with a pid filter runs
// only for that process), and the context each program gets.
import { InvalidArgumentError, ProgramType } from '@bpfkit/core';
import type { AttachTarget, AttachTargetKind } from '@bpfkit/core';
import type { MockEnvironment, MockRuntime } from '../helpers/runtime.js';
import type { MockAttachment } from './link.js';
import { withAttachCookie } from './cookie.js';
import { PT_REGS_SIZE, ptRegs, type PtRegsInit } from './pt-regs.js';

/**
 * A hook the test fires: the attach targets of probes.
 *
 * @example
 * const target: ProbeTarget = { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' };
 */
export type ProbeTarget = Extract<
  AttachTarget,
  { kind: 'tracepoint' | 'raw_tracepoint' | 'kprobe' | 'kprobe_multi' | 'uprobe' | 'uprobe_multi' | 'perf_event' }
>;

/**
 * The kinds of {@link ProbeTarget}.
 *
 * @example
 * PROBE_KINDS.has('kprobe'); // true
 */
export const PROBE_KINDS: ReadonlySet<AttachTargetKind> = new Set<AttachTargetKind>([
  'tracepoint',
  'raw_tracepoint',
  'kprobe',
  'kprobe_multi',
  'uprobe',
  'uprobe_multi',
  'perf_event',
]);

/**
 * The context a fired probe gives its programs: the bytes of the
 * tracepoint's record (tracepoint); the arguments (raw_tracepoint: u64s,
 * or their bytes); a `struct pt_regs` (kprobes, uprobes: bytes of
 * `ptRegs`, or what to build it from); `struct
 * bpf_perf_event_data` (perf_event: pt_regs then sample_period and addr,
 * or registers to build the pt_regs from).
 *
 * @example
 * const args: MockFireContext = [1n, 2n]; // a raw tracepoint's arguments
 * const regs: MockFireContext = { args: [3n] }; // a kprobe's pt_regs
 */
export type MockFireContext = Uint8Array | readonly (bigint | number)[] | PtRegsInit;

/**
 * What one program attached to a fired hook returned.
 *
 * @example
 * declare const results: MockFireResult[];
 * results.map((r) => `${r.program}: ${r.returnValue}`);
 */
export interface MockFireResult {
  /** The program's name. */
  program: string;
  /** Its r0 (low 32 bits, unsigned, as testRun gives it). */
  returnValue: number;
  /** For multi-probes fired with several functions: the one this run was for. */
  symbol?: string;
}

/** The program types each probe kind takes. */
export function probeProgramType(kind: AttachTargetKind): readonly number[] {
  switch (kind) {
    case 'tracepoint':
      return [ProgramType.TRACEPOINT];
    case 'raw_tracepoint':
      return [ProgramType.RAW_TRACEPOINT, ProgramType.RAW_TRACEPOINT_WRITABLE];
    case 'perf_event':
      return [ProgramType.PERF_EVENT];
    default:
      return [ProgramType.KPROBE];
  }
}

/** The kind of link `info()` reports for a probe attachment, as the kernel backend's. */
export function probeLinkKind(kind: AttachTargetKind): string {
  if (kind === 'raw_tracepoint' || kind === 'kprobe_multi' || kind === 'uprobe_multi') return kind;
  return 'perf_event';
}

/** One function (or event) a fired target stands for. */
type ProbeEvent =
  | { kind: 'tracepoint'; group: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'kprobe'; symbol: string; offset: number; ret: boolean }
  | { kind: 'uprobe'; binary: string; symbol?: string; offset: number; pid?: number; ret: boolean }
  | { kind: 'perf_event'; type: number; config: bigint; pid?: number; cpu?: number };

const text = (value: unknown, argument: string, expected: string): string => {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(argument, expected, value);
  return value;
};

/**
 * Checks a probe target (attach or fire) and lists the events it stands
 * for: one, or one per function of a multi-probe.
 */
export function probeEvents(target: ProbeTarget, what: 'attach' | 'fire'): ProbeEvent[] {
  const ret = 'ret' in target && target.ret === true;
  switch (target.kind) {
    case 'tracepoint':
      return [
        {
          kind: 'tracepoint',
          group: text(target.group, 'tracepoint target: group', 'a tracepoint group (events/<group>)'),
          name: text(target.name, 'tracepoint target: name', 'a tracepoint name'),
        },
      ];
    case 'raw_tracepoint':
      return [{ kind: 'raw_tracepoint', name: text(target.name, 'raw_tracepoint target: name', 'a tracepoint name') }];
    case 'kprobe': {
      const symbol = text(target.symbol, 'kprobe target: symbol', 'a kernel function name');
      const offset = target.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0)
        throw new InvalidArgumentError('kprobe target: offset', 'a non-negative integer', offset);
      return [{ kind: 'kprobe', symbol, offset, ret }];
    }
    case 'kprobe_multi': {
      const symbols = target.symbols ?? [];
      if (target.pattern !== undefined && what === 'fire') {
        throw new InvalidArgumentError(
          'fire: kprobe_multi target',
          'symbols naming the functions that run (a pattern is for attaching)',
          target.pattern,
        );
      }
      if ((target.pattern === undefined) === (symbols.length === 0)) {
        throw new InvalidArgumentError('kprobe_multi target', 'either symbols or a pattern', target);
      }
      return symbols.map((s) => ({
        kind: 'kprobe',
        symbol: text(s, 'kprobe_multi target: symbols', 'kernel function names'),
        offset: 0,
        ret,
      }));
    }
    case 'uprobe': {
      const binary = text(target.binary, 'uprobe target: binary', 'a path or a shared library name');
      if (target.symbol === undefined && target.offset === undefined) {
        throw new InvalidArgumentError('uprobe target', 'a symbol, an offset, or both (offset then counts from the symbol)', target);
      }
      const offset = target.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0)
        throw new InvalidArgumentError('uprobe target: offset', 'a file offset (a non-negative integer)', offset);
      return [
        {
          kind: 'uprobe',
          binary,
          ...(target.symbol !== undefined ? { symbol: text(target.symbol, 'uprobe target: symbol', 'a function name') } : {}),
          offset,
          ...(target.pid !== undefined ? { pid: target.pid } : {}),
          ret,
        },
      ];
    }
    case 'uprobe_multi': {
      const binary = text(target.binary, 'uprobe_multi target: binary', 'a path or a shared library name');
      const events: ProbeEvent[] = [];
      const pid = target.pid !== undefined ? { pid: target.pid } : {};
      for (const s of target.symbols ?? [])
        events.push({ kind: 'uprobe', binary, symbol: text(s, 'uprobe_multi target: symbols', 'function names'), offset: 0, ...pid, ret });
      for (const o of target.offsets ?? []) {
        if (!Number.isInteger(o) || o < 0)
          throw new InvalidArgumentError('uprobe_multi target: offsets', 'file offsets (non-negative integers)', o);
        events.push({ kind: 'uprobe', binary, offset: o, ...pid, ret });
      }
      if (events.length === 0) throw new InvalidArgumentError('uprobe_multi target', 'symbols or offsets', target);
      return events;
    }
    case 'perf_event': {
      if (!Number.isInteger(target.type) || target.type < 0)
        throw new InvalidArgumentError('perf_event target: type', 'a perf_event_attr type', target.type);
      if (typeof target.config !== 'bigint') throw new InvalidArgumentError('perf_event target: config', 'a bigint', target.config);
      return [
        {
          kind: 'perf_event',
          type: target.type,
          config: target.config,
          ...(target.pid !== undefined ? { pid: target.pid } : {}),
          ...(target.cpu !== undefined ? { cpu: target.cpu } : {}),
        },
      ];
    }
  }
}

/** A glob of available_filter_functions: `*` and `?`. */
function glob(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(name);
}

/** The cookie `bpf_get_attach_cookie` gives the program attached at `attached` when it runs for `event`. */
function cookieFor(attached: ProbeTarget, event: ProbeEvent): bigint {
  switch (attached.kind) {
    case 'kprobe':
    case 'uprobe':
    case 'tracepoint':
    case 'perf_event':
      return attached.cookie ?? 0n;
    case 'kprobe_multi': {
      // One cookie per symbol, in order (a pattern has none).
      const i = event.kind === 'kprobe' ? (attached.symbols ?? []).indexOf(event.symbol) : -1;
      return i >= 0 ? (attached.cookies?.[i] ?? 0n) : 0n;
    }
    case 'uprobe_multi': {
      // One per probe: symbols first, then offsets.
      if (event.kind !== 'uprobe') return 0n;
      const symbols = attached.symbols ?? [];
      const i = event.symbol !== undefined ? symbols.indexOf(event.symbol) : (attached.offsets ?? []).indexOf(event.offset);
      const at = i < 0 ? -1 : event.symbol !== undefined ? i : symbols.length + i;
      return at >= 0 ? (attached.cookies?.[at] ?? 0n) : 0n;
    }
    default:
      return 0n;
  }
}

/** Whether the program attached at `attached` runs for `event`. */
function runsFor(attached: ProbeTarget, event: ProbeEvent, env: MockEnvironment): boolean {
  const ret = 'ret' in attached && attached.ret === true;
  switch (event.kind) {
    case 'tracepoint':
      return attached.kind === 'tracepoint' && attached.group === event.group && attached.name === event.name;
    case 'raw_tracepoint':
      return attached.kind === 'raw_tracepoint' && attached.name === event.name;
    case 'kprobe':
      if (ret !== event.ret) return false;
      if (attached.kind === 'kprobe') return attached.symbol === event.symbol && (attached.offset ?? 0) === event.offset;
      if (attached.kind === 'kprobe_multi' && event.offset === 0) {
        return attached.pattern !== undefined ? glob(attached.pattern, event.symbol) : (attached.symbols ?? []).includes(event.symbol);
      }
      return false;
    case 'uprobe': {
      if (ret !== event.ret) return false;
      if (attached.kind !== 'uprobe' && attached.kind !== 'uprobe_multi') return false;
      if (attached.binary !== event.binary) return false;
      const pid = event.pid ?? env.tgid;
      if (attached.pid !== undefined && attached.pid !== pid) return false;
      if (attached.kind === 'uprobe') return attached.symbol === event.symbol && (attached.offset ?? 0) === event.offset;
      return event.symbol !== undefined ? (attached.symbols ?? []).includes(event.symbol) : (attached.offsets ?? []).includes(event.offset);
    }
    case 'perf_event':
      if (attached.kind !== 'perf_event' || attached.type !== event.type || attached.config !== event.config) return false;
      if (attached.cpu !== undefined && attached.cpu !== (event.cpu ?? env.cpu)) return false;
      return attached.pid === undefined || attached.pid === (event.pid ?? env.tgid);
  }
}

/**
 * Whether a program attached at `attached` runs when the test fires `fired`.
 *
 * @example
 * declare const env: MockEnvironment;
 * matchesProbe({ kind: 'kprobe_multi', pattern: 'do_*' }, { kind: 'kprobe', symbol: 'do_unlinkat' }, env); // true
 */
export function matchesProbe(attached: ProbeTarget, fired: ProbeTarget, env: MockEnvironment): boolean {
  return probeEvents(fired, 'fire').some((e) => runsFor(attached, e, env));
}

/** The context bytes for `kind` from what the test gave. */
function contextBytes(kind: AttachTargetKind, context: MockFireContext): Uint8Array {
  if (kind === 'raw_tracepoint') {
    if (context instanceof Uint8Array) {
      if (context.length % 8 !== 0 || context.length > 96)
        throw new InvalidArgumentError('fire: context', 'at most 12 u64 arguments (a multiple of 8 bytes)', context);
      return context.slice();
    }
    if (!Array.isArray(context) || context.length > 12)
      throw new InvalidArgumentError('fire: context', 'the raw tracepoint arguments: at most 12 u64 values', context);
    const bytes = new Uint8Array(context.length * 8);
    const view = new DataView(bytes.buffer);
    for (const [i, v] of (context as readonly (bigint | number)[]).entries()) view.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v)), true);
    return bytes;
  }
  if (kind === 'tracepoint') {
    if (!(context instanceof Uint8Array))
      throw new InvalidArgumentError('fire: context', "the tracepoint's record (a Uint8Array laid out as its format file says)", context);
    return context.slice();
  }
  // kprobes, uprobes: struct pt_regs; perf events: struct bpf_perf_event_data (pt_regs, sample_period, addr).
  const size = kind === 'perf_event' ? PT_REGS_SIZE + 16 : PT_REGS_SIZE;
  if (context instanceof Uint8Array) {
    if (context.length !== size) {
      throw new InvalidArgumentError(
        'fire: context',
        `a ${kind === 'perf_event' ? 'struct bpf_perf_event_data' : 'struct pt_regs'} of ${size} bytes (build one with ptRegs())`,
        context,
      );
    }
    return context.slice();
  }
  if (Array.isArray(context) || typeof context !== 'object' || context === null) {
    throw new InvalidArgumentError(
      'fire: context',
      'a struct pt_regs (Uint8Array from ptRegs()) or the registers to build it from ({ args, ret, ip })',
      context,
    );
  }
  const bytes = new Uint8Array(size);
  bytes.set(ptRegs(context as PtRegsInit));
  return bytes;
}

/** The name the VM gives a fired probe's context region. */
function contextName(kind: AttachTargetKind): string {
  switch (kind) {
    case 'tracepoint':
      return 'context (tracepoint record)';
    case 'raw_tracepoint':
      return 'context (raw tracepoint arguments)';
    case 'perf_event':
      return 'context (struct bpf_perf_event_data)';
    default:
      return 'context (struct pt_regs)';
  }
}

/**
 * Runs `attachments` (in attach order) for the fired `target`, each on its
 * own copy of the context, in its own run.
 */
export function fireProbes(
  runtime: MockRuntime,
  attachments: readonly (MockAttachment & { target: ProbeTarget })[],
  target: ProbeTarget,
  context: MockFireContext,
): MockFireResult[] {
  const bytes = contextBytes(target.kind === 'kprobe_multi' ? 'kprobe' : target.kind === 'uprobe_multi' ? 'uprobe' : target.kind, context);
  const events = probeEvents(target, 'fire');
  const results: MockFireResult[] = [];
  for (const event of events) {
    const runs = attachments.filter((a) => runsFor(a.target, event, runtime.environment)).sort((a, b) => a.seq - b.seq);
    for (const a of runs) {
      runtime.beginRun();
      try {
        const { pointer } = runtime.scratch(bytes.slice(), contextName(a.target.kind === 'perf_event' ? 'perf_event' : event.kind), false);
        const r0 = withAttachCookie(runtime, cookieFor(a.target, event), () => a.program.vm.run(runtime.memory, { r1: pointer }));
        const symbol = events.length > 1 && 'symbol' in event && event.symbol !== undefined ? { symbol: event.symbol } : {};
        results.push({ program: a.program.name, returnValue: Number(r0 & 0xffffffffn), ...symbol });
      } finally {
        runtime.endRun();
      }
    }
  }
  return results;
}
