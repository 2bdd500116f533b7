import type { AttachTarget } from '@bpfkit/core';

/**
 * One step of {@link Manager.start} or {@link Manager.stop}: what the
 * manager was doing, named the way errors and progress reports name it.
 *
 * @example
 * const step: ManagerStep = { kind: 'attach', name: 'openat', object: 'tracer', program: 'on_openat', target: { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } };
 * describeStep(step); // "attach 'openat' (program on_openat of object tracer) to tracepoint syscalls:sys_enter_openat"
 */
export type ManagerStep =
  | { kind: 'run-stats' }
  | { kind: 'load'; object: string }
  | { kind: 'pid-filter'; object: string; map: string }
  | { kind: 'attach'; name: string; object: string; program: string; target: AttachTarget }
  | { kind: 'reader'; name: string; object: string; map: string };

/**
 * A start that failed at one step: everything done before it was undone.
 * `step` says which step failed, `cause` is the error it threw (a
 * `BpfError`, `VerifierError`, `InvalidArgumentError`…), and
 * `rollbackErrors` what went wrong while undoing, if anything.
 *
 * @example
 * declare const manager: Manager;
 * try {
 *   await manager.start();
 * } catch (err) {
 *   if (err instanceof ManagerStartError) console.error(err.step, err.cause);
 * }
 */
export class ManagerStartError extends Error {
  override readonly name: string = 'ManagerStartError';
  /** The step that failed. */
  readonly step: ManagerStep;
  /** Its position among the start's steps, from 1. */
  readonly stepNumber: number;
  /** Errors thrown while undoing the steps before it (empty when the rollback was clean). */
  readonly rollbackErrors: readonly Error[];

  constructor(step: ManagerStep, stepNumber: number, cause: unknown, rollbackErrors: readonly Error[] = []) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `start: step ${stepNumber}, ${describeStep(step)}, failed: ${reason}; the steps before it were undone` +
        (rollbackErrors.length
          ? ` (${rollbackErrors.length} undo step(s) failed: ${rollbackErrors.map((e) => e.message).join('; ')})`
          : ''),
      { cause },
    );
    this.step = step;
    this.stepNumber = stepNumber;
    this.rollbackErrors = rollbackErrors;
  }
}

/**
 * Words for a step: `load object tracer`, `attach 'openat' (program on_openat of object tracer) to tracepoint syscalls:sys_enter_openat`…
 *
 * @example
 * describeStep({ kind: 'load', object: 'tracer' }); // 'load object tracer'
 */
export function describeStep(step: ManagerStep): string {
  switch (step.kind) {
    case 'run-stats':
      return 'enable program run statistics (BPF_ENABLE_STATS)';
    case 'load':
      return `load object ${step.object}`;
    case 'pid-filter':
      return `set up the PID filter in map ${step.map} of object ${step.object}`;
    case 'attach':
      return `attach '${step.name}' (program ${step.program} of object ${step.object}) to ${describeTarget(step.target)}`;
    case 'reader':
      return `open reader '${step.name}' on map ${step.map} of object ${step.object}`;
  }
}

/**
 * A short description of an attach target, for listings, errors and metric labels.
 *
 * @example
 * describeTarget({ kind: 'kprobe', symbol: 'do_unlinkat', ret: true }); // 'kretprobe do_unlinkat'
 * describeTarget({ kind: 'tc', interface: 'veth0', direction: 'ingress' }); // 'tc ingress veth0'
 */
export function describeTarget(target: AttachTarget): string {
  switch (target.kind) {
    case 'tracepoint':
      return `tracepoint ${target.group}:${target.name}`;
    case 'raw_tracepoint':
      return `raw_tracepoint ${target.name}`;
    case 'kprobe':
      return `${target.ret ? 'kretprobe' : 'kprobe'} ${target.symbol}${target.offset ? `+${target.offset}` : ''}`;
    case 'kprobe_multi':
      return `${target.ret ? 'kretprobe' : 'kprobe'}.multi ${target.pattern ?? (target.symbols ?? []).join(',')}`;
    case 'uprobe':
      return `${target.ret ? 'uretprobe' : 'uprobe'} ${target.binary}:${target.symbol ?? `0x${(target.offset ?? 0).toString(16)}`}${target.pid !== undefined ? ` pid ${target.pid}` : ''}`;
    case 'uprobe_multi':
      return `${target.ret ? 'uretprobe' : 'uprobe'}.multi ${target.binary}:${(target.symbols ?? target.offsets ?? []).join(',')}`;
    case 'xdp':
      return `xdp ${target.interface}${target.mode ? ` (${target.mode})` : ''}`;
    case 'tc':
    case 'tcx':
      return `${target.kind} ${target.direction} ${target.interface}`;
    case 'cgroup':
      return `cgroup ${target.path} (attach type ${target.attachType})`;
    case 'perf_event':
      return `perf_event type ${target.type} config ${target.config}`;
    case 'netfilter':
      return `netfilter ${target.family} ${target.hook} priority ${target.priority}`;
    case 'socket':
    case 'reuseport':
      return `${target.kind} fd ${target.fd}`;
    case 'sockmap':
      return `sockmap ${target.map.name} (attach type ${target.attachType})`;
    default:
      return target.kind;
  }
}

/**
 * A manager asked to do what its state does not allow: start when started,
 * attach when stopped…
 *
 * @example
 * declare const manager: Manager;
 * manager.attachKprobe('unlink', 'on_unlink', 'do_unlinkat'); // throws ManagerStateError while stopped
 */
export class ManagerStateError extends Error {
  override readonly name: string = 'ManagerStateError';
  /** The states the operation needs. */
  readonly expected: readonly string[];
  /** The manager's state. */
  readonly state: string;

  constructor(operation: string, expected: readonly string[], state: string) {
    super(`${operation}: expected a ${expected.join(' or ')} manager, it is ${state}`);
    this.expected = expected;
    this.state = state;
  }
}
