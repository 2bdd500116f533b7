// The hooks of one mock system: its network interfaces (XDP, tc, tcx) and
// the probes the test fires (tracepoints, raw tracepoints, kprobes,
// uprobes, their multi forms, perf events). Attaching checks the target and
// the program's type the way the kernel backend does, and returns a
// MockLink; firing runs every program attached to the hook, in attach order.
import { BpfError, Errno, InvalidArgumentError, NotSupportedError, ProgramType, programTypeName } from '@bpfkit/core';
import type { AttachTarget, AttachTargetKind, InterfaceRef, Program } from '@bpfkit/core';
import type { MockRuntime } from '../helpers/runtime.js';
import type { MockKernel } from '../mock-kernel.js';
import type { MockProgramObject } from '../mock-program.js';
import { MockInterface, type MockInterfaceNetwork } from './interface.js';
import { MockLink, type MockAttachment, type MockLinkHost } from './link.js';
import {
  fireProbes,
  PROBE_KINDS,
  probeEvents,
  probeLinkKind,
  probeProgramType,
  type MockFireContext,
  type MockFireResult,
  type ProbeTarget,
} from './probes.js';

/**
 * Options of {@link MockSystem.addInterface}.
 *
 * @example
 * const options: MockInterfaceOptions = { ifindex: 10, mtu: 9000 };
 */
export interface MockInterfaceOptions {
  /** Its index; default the next free one (1 is the loopback). */
  ifindex?: number;
  /** Default 1500. */
  mtu?: number;
  /** Its 6-byte address; default 02:00:00:00:00:<ifindex>. */
  mac?: Uint8Array;
}

/** What the mock tells users it can attach to. */
const SUPPORTED =
  'the mock attaches to its network interfaces (xdp, tc, tcx) and to probes the test fires with system.fire() (tracepoint, raw_tracepoint, kprobe, kprobe_multi, uprobe, uprobe_multi, perf_event)';

const NETWORK_KINDS = new Set<AttachTargetKind>(['xdp', 'tc', 'tcx']);
/** Every kind of AttachTarget (what the kernel backend accepts). */
const ALL_KINDS: readonly AttachTargetKind[] = [
  'xdp',
  'tc',
  'tcx',
  'kprobe',
  'kprobe_multi',
  'uprobe',
  'uprobe_multi',
  'tracepoint',
  'raw_tracepoint',
  'tracing',
  'lsm',
  'perf_event',
  'cgroup',
  'socket',
  'reuseport',
  'sockmap',
  'flow_dissector',
  'sk_lookup',
  'netfilter',
  'iter',
];
/** A valid interface name: at most 15 bytes, no '/', ':' or whitespace, not '.' or '..' (dev_valid_name). */
const IFNAME = /^[^/:\s]{1,15}$/;

type ProbeAttachment = MockAttachment & { target: ProbeTarget };
type TcAttachment = MockAttachment & { priority: number; handle: number };

const registries = new WeakMap<MockRuntime, MockHooks>();
const byKernel = new WeakMap<MockKernel, MockHooks>();

/**
 * Whether the mock system of `kernel` has an interface with index
 * `ifindex` (`lo`, 1, always): what a devmap update checks.
 *
 * @example
 * declare const system: MockSystem;
 * interfaceExists(system.kernel, 1); // true
 */
export function interfaceExists(kernel: MockKernel, ifindex: number): boolean {
  return ifindex === 1 || byKernel.get(kernel)?.byIndex(ifindex) !== undefined;
}

/**
 * The hooks of the mock system whose runtime is `runtime` (made on first use).
 *
 * @example
 * declare const system: MockSystem;
 * mockHooks(system.kernel, system.runtime).interface('lo').ifindex; // 1
 */
export function mockHooks(kernel: MockKernel, runtime: MockRuntime): MockHooks {
  let hooks = registries.get(runtime);
  if (!hooks) {
    hooks = new MockHooks(kernel, runtime);
    registries.set(runtime, hooks);
    byKernel.set(kernel, hooks);
  }
  return hooks;
}

/**
 * The hooks of one mock system: interfaces, probe attachments, links.
 *
 * @example
 * declare const system: MockSystem;
 * const hooks = mockHooks(system.kernel, system.runtime);
 * hooks.addInterface('eth0').ifindex; // 2
 */
export class MockHooks implements MockInterfaceNetwork {
  readonly kernel: MockKernel;
  readonly runtime: MockRuntime;
  readonly #byName = new globalThis.Map<string, MockInterface>();
  readonly #byIndex = new globalThis.Map<number, MockInterface>();
  readonly #probes: ProbeAttachment[] = [];
  readonly #links = new Set<MockLink>();
  /** Revisions of each tcx hook (`ifindex:direction`). */
  readonly #revisions = new globalThis.Map<string, bigint>();
  #seq = 0;

  constructor(kernel: MockKernel, runtime: MockRuntime) {
    this.kernel = kernel;
    this.runtime = runtime;
    this.addInterface('lo', { ifindex: 1, mtu: 65536, mac: new Uint8Array(6) });
  }

  /**
   * Adds a network interface (RTM_NEWLINK): EEXIST when the name or the index is taken.
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.addInterface('veth0', { mtu: 9000 });
   */
  addInterface(name: string, options: MockInterfaceOptions = {}): MockInterface {
    if (typeof name !== 'string' || !IFNAME.test(name) || name === '.' || name === '..') {
      throw new InvalidArgumentError('addInterface name', "an interface name of 1 to 15 characters without '/', ':' or spaces", name);
    }
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('addInterface options', '{ ifindex?, mtu?, mac? }', options);
    let ifindex = options.ifindex;
    if (ifindex === undefined) {
      ifindex = 1;
      while (this.#byIndex.has(ifindex)) ifindex++;
    } else if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) {
      throw new InvalidArgumentError('addInterface ifindex', 'a positive 31-bit integer', ifindex);
    }
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65536)
      throw new InvalidArgumentError('addInterface mtu', 'an integer from 68 to 65536', mtu);
    const mac = options.mac ?? Uint8Array.of(2, 0, 0, 0, (ifindex >>> 8) & 0xff, ifindex & 0xff);
    if (!(mac instanceof Uint8Array) || mac.length !== 6) throw new InvalidArgumentError('addInterface mac', 'a 6-byte Uint8Array', mac);
    if (this.#byName.has(name) || this.#byIndex.has(ifindex)) {
      throw new BpfError(Errno.EEXIST, {
        syscall: 'netlink',
        command: 'RTM_NEWLINK',
        subject: `interface '${name}' (mock)`,
        hint: this.#byName.has(name) ? `an interface is already named '${name}'` : `interface index ${ifindex} is taken`,
      });
    }
    const iface = new MockInterface(this, name, ifindex, mtu, mac.slice());
    this.#byName.set(name, iface);
    this.#byIndex.set(ifindex, iface);
    return iface;
  }

  /**
   * The interface with index `ifindex`, if any.
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.byIndex(1)?.name; // 'lo'
   */
  byIndex(ifindex: number): MockInterface | undefined {
    return this.#byIndex.get(ifindex);
  }

  /**
   * An interface by name or index; InvalidArgumentError when there is none.
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.interface(1).name; // 'lo'
   */
  interface(ref: InterfaceRef, argument = 'interface'): MockInterface {
    const found = typeof ref === 'number' ? this.#byIndex.get(ref) : typeof ref === 'string' ? this.#byName.get(ref) : undefined;
    if (!found) {
      const names = [...this.#byName.keys()].join(', ');
      throw new InvalidArgumentError(argument, `an interface of this mock system (${names}; add one with system.addInterface)`, ref);
    }
    return found;
  }

  /**
   * Attaches `program` (a program of this mock system) to `target`.
   *
   * @example
   * declare const hooks: MockHooks, prog: MockProgram;
   * using link = hooks.attach(prog, { kind: 'kprobe', symbol: 'do_unlinkat' });
   */
  attach(program: Program, target: AttachTarget): MockLink {
    if (target === null || typeof target !== 'object' || !ALL_KINDS.includes(target.kind)) {
      throw new InvalidArgumentError('attach: target', `an AttachTarget, whose kind is one of ${ALL_KINDS.join(', ')}`, target);
    }
    const object = this.#programObject(program, 'attach: program');
    if ('netns' in target && target.netns !== undefined) {
      throw new NotSupportedError(
        `attaching in network namespace '${target.netns}'`,
        undefined,
        'the mock has one network namespace: leave netns out',
        'the mock backend',
      );
    }
    if (NETWORK_KINDS.has(target.kind)) return this.#attachNetwork(program, object, target);
    if (PROBE_KINDS.has(target.kind)) return this.#attachProbe(program, object, target as ProbeTarget);
    throw new NotSupportedError(`attaching programs to '${target.kind}'`, undefined, SUPPORTED, 'the mock backend');
  }

  /**
   * Runs every program attached to the hook `target` names, in attach
   * order, with `context` as their context; returns what each returned.
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.fire({ kind: 'raw_tracepoint', name: 'sched_switch' }, [1n, 2n]);
   */
  fire(target: ProbeTarget, context: MockFireContext): MockFireResult[] {
    if (target === null || typeof target !== 'object' || !PROBE_KINDS.has(target.kind)) {
      throw new InvalidArgumentError('fire: target', `a probe target (${[...PROBE_KINDS].join(', ')})`, target);
    }
    return fireProbes(
      this.runtime,
      this.#probes.filter((a) => a.attached),
      target,
      context,
    );
  }

  /**
   * Detaches every program of this system (the system closes), pinned links too.
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.closeAll();
   */
  closeAll(): void {
    for (const link of [...this.#links]) link.shutdown();
    this.#links.clear();
  }

  /** The program object of `program`, an open program of this system. */
  #programObject(program: Program, argument: string): MockProgramObject {
    const file = program !== null && typeof program === 'object' && !program.closed ? this.kernel.file(program.fd) : undefined;
    // The fd must be this system's and lead to this very program (fds of two systems may be equal).
    const own = file !== undefined && file.object.kind === 'program' && (program as Program & { object?: unknown }).object === file.object;
    if (!file || !own) {
      throw new InvalidArgumentError(argument, 'an open program of this mock system', (program as Program | null)?.name ?? program);
    }
    return file.object as MockProgramObject;
  }

  #link(host: Omit<MockLinkHost, 'kernel'>, attachment: MockAttachment): MockLink {
    const link = new MockLink({ kernel: this.kernel, ...host }, attachment);
    this.#links.add(link);
    return link;
  }

  #forget(link: MockLink): void {
    this.#links.delete(link);
  }

  #attachProbe(program: Program, object: MockProgramObject, target: ProbeTarget): MockLink {
    const kind = target.kind;
    checkType(program, probeProgramType(kind), kind);
    probeEvents(target, 'attach');
    const attachment: ProbeAttachment = { seq: ++this.#seq, target, program: object, attached: true };
    this.#probes.push(attachment);
    let self: MockLink | undefined;
    const link = this.#link(
      {
        kind: probeLinkKind(kind),
        isLink: true,
        detach: (a) => {
          const i = this.#probes.indexOf(a as ProbeAttachment);
          if (i >= 0) this.#probes.splice(i, 1);
          if (self) this.#forget(self);
        },
        update: () => {
          throw new NotSupportedError(
            `replacing the program of a ${probeLinkKind(kind)} link`,
            undefined,
            'the kernel has no update for these links: attach the new program and close the old link',
            'the mock backend',
          );
        },
      },
      attachment,
    );
    self = link;
    return link;
  }

  #attachNetwork(program: Program, object: MockProgramObject, target: AttachTarget): MockLink {
    switch (target.kind) {
      case 'xdp':
        return this.#attachXdp(program, object, target);
      case 'tc':
        return this.#attachTc(program, object, target);
      case 'tcx':
        return this.#attachTcx(program, object, target);
      default:
        throw new NotSupportedError(`attaching programs to '${target.kind}'`, undefined, SUPPORTED, 'the mock backend');
    }
  }

  #attachXdp(program: Program, object: MockProgramObject, target: Extract<AttachTarget, { kind: 'xdp' }>): MockLink {
    if (program.type !== ProgramType.XDP)
      throw new InvalidArgumentError('xdp target: program', 'an XDP program (ProgramType.XDP)', program.name);
    const iface = this.interface(target.interface, 'xdp target: interface');
    if (target.mode !== undefined && target.mode !== 'native' && target.mode !== 'generic') {
      throw new InvalidArgumentError('xdp target: mode', "'native', 'generic' or left out", target.mode);
    }
    if (target.method !== undefined && target.method !== 'link' && target.method !== 'netlink') {
      throw new InvalidArgumentError('xdp target: method', "'link', 'netlink' or left out", target.method);
    }
    if (target.method === 'link' && target.replace !== undefined) {
      throw new InvalidArgumentError(
        'xdp target: replace',
        "no replace with an XDP link (a second link on a hook is EBUSY; replace a link's program with link.update(), or use method 'netlink')",
        target.replace,
      );
    }
    const netlink = target.method === 'netlink' || (target.method === undefined && target.replace !== undefined);
    const subject = `program '${program.name}': attach XDP to '${iface.name}' (mock)`;
    const current = iface.hooks.xdp;
    if (current) {
      const currentIsLink = this.#xdpIsLink.get(current) ?? false;
      if (!netlink || currentIsLink) {
        throw new BpfError(Errno.EBUSY, {
          syscall: netlink ? 'netlink' : 'bpf',
          command: netlink ? 'RTM_SETLINK' : 'BPF_LINK_CREATE',
          subject,
          hint: currentIsLink
            ? `an XDP link holds interface '${iface.name}': close it or update its program`
            : target.replace === undefined
              ? "the interface already has an XDP program: pass replace: 'any' (or the program to replace) to replace it"
              : `the interface already has an XDP program`,
        });
      }
      if (target.replace === undefined) {
        throw new BpfError(Errno.EBUSY, {
          syscall: 'netlink',
          command: 'RTM_SETLINK',
          subject,
          hint: "the interface already has an XDP program: pass replace: 'any' (or the program to replace) to replace it",
        });
      }
      if (target.replace !== 'any') {
        const expected = this.#programObject(target.replace, 'xdp target: replace');
        if (expected !== current.program) {
          throw new BpfError(Errno.EEXIST, {
            syscall: 'netlink',
            command: 'RTM_SETLINK',
            subject,
            hint: `interface '${iface.name}' runs program '${current.program.name}', not '${expected.name}'`,
          });
        }
      }
      // Replaced over netlink: the old attachment is gone (its handle's close then does nothing).
      current.attached = false;
      current.program.release();
      iface.hooks.xdp = undefined;
    } else if (netlink && target.replace !== undefined && target.replace !== 'any') {
      throw new BpfError(Errno.EEXIST, {
        syscall: 'netlink',
        command: 'RTM_SETLINK',
        subject,
        hint: `interface '${iface.name}' has no XDP program to replace`,
      });
    }
    const attachment: MockAttachment = { seq: ++this.#seq, target, program: object, attached: true };
    iface.hooks.xdp = attachment;
    this.#xdpIsLink.set(attachment, !netlink);
    let self: MockLink | undefined;
    const link = this.#link(
      {
        kind: 'xdp',
        isLink: !netlink,
        detach: (a) => {
          if (iface.hooks.xdp === a) iface.hooks.xdp = undefined;
          if (self) this.#forget(self);
        },
        update: (a, next) => {
          const nextObject = this.#programObject(next, 'xdp link: update');
          if (next.type !== ProgramType.XDP) throw new InvalidArgumentError('xdp link: update', 'an open XDP program', next.name);
          swapProgram(a, nextObject);
        },
      },
      attachment,
    );
    self = link;
    return link;
  }

  readonly #xdpIsLink = new WeakMap<MockAttachment, boolean>();

  #attachTc(program: Program, object: MockProgramObject, target: Extract<AttachTarget, { kind: 'tc' }>): MockLink {
    if (program.type !== ProgramType.SCHED_CLS)
      throw new InvalidArgumentError('tc target: program', 'a TC classifier (ProgramType.SCHED_CLS)', program.name);
    const iface = this.interface(target.interface, 'tc target: interface');
    const direction = target.direction;
    if (direction !== 'ingress' && direction !== 'egress')
      throw new InvalidArgumentError('tc target: direction', "'ingress' or 'egress'", direction);
    if (target.priority !== undefined && (!Number.isInteger(target.priority) || target.priority < 1 || target.priority > 65535)) {
      throw new InvalidArgumentError('tc target: priority', 'an integer from 1 to 65535', target.priority);
    }
    if (target.handle !== undefined && (!Number.isInteger(target.handle) || target.handle < 1 || target.handle > 0xffffffff)) {
      throw new InvalidArgumentError('tc target: handle', 'a positive 32-bit integer', target.handle);
    }
    if (target.replace && (target.priority === undefined || target.handle === undefined)) {
      throw new InvalidArgumentError('tc target: replace', 'a priority and a handle naming the filter to replace', target);
    }
    const list = iface.hooks.tc[direction] as TcAttachment[];
    // tcf_auto_prio: without a priority, one below the first filter's (0xc000 on an empty hook): it runs first.
    const priority = target.priority ?? (list.length > 0 ? Math.max(1, Math.min(...list.map((a) => a.priority)) - 1) : 0xc000);
    const handle = target.handle ?? nextHandle(list, priority);
    const same = list.find((a) => a.priority === priority && a.handle === handle);
    if (same) {
      if (!target.replace) {
        throw new BpfError(Errno.EEXIST, {
          syscall: 'netlink',
          command: 'RTM_NEWTFILTER',
          subject: `program '${program.name}': tc ${direction} filter on '${iface.name}' (mock)`,
          hint: `a filter with priority ${priority} and handle ${handle} exists: pass replace: true to replace it`,
        });
      }
      // Replaced: the old filter is gone (its handle's close then does nothing); the new one takes its place.
      same.attached = false;
      same.program.release();
      list.splice(list.indexOf(same), 1);
    }
    const attachment: TcAttachment = { seq: ++this.#seq, target, program: object, attached: true, priority, handle };
    list.push(attachment);
    list.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    let self: MockLink | undefined;
    const link = this.#link(
      {
        kind: 'tc',
        isLink: false,
        detach: (a) => {
          const i = list.indexOf(a as TcAttachment);
          if (i >= 0) list.splice(i, 1);
          if (self) this.#forget(self);
        },
        update: (a, next) => {
          const nextObject = this.#programObject(next, 'tc link: update');
          if (next.type !== ProgramType.SCHED_CLS)
            throw new InvalidArgumentError('tc link: update', 'an open TC classifier program', next.name);
          swapProgram(a, nextObject);
        },
      },
      attachment,
    );
    self = link;
    return link;
  }

  #attachTcx(program: Program, object: MockProgramObject, target: Extract<AttachTarget, { kind: 'tcx' }>): MockLink {
    if (target.before !== undefined && target.after !== undefined)
      throw new InvalidArgumentError('tcx target', 'either before or after, not both', target);
    if (program.type !== ProgramType.SCHED_CLS)
      throw new InvalidArgumentError('tcx target: program', 'a TC classifier (ProgramType.SCHED_CLS)', program.name);
    const iface = this.interface(target.interface, 'tcx target: interface');
    const direction = target.direction;
    if (direction !== 'ingress' && direction !== 'egress')
      throw new InvalidArgumentError('tcx target: direction', "'ingress' or 'egress'", direction);
    const key = `${iface.ifindex}:${direction}`;
    const revision = this.#revisions.get(key) ?? 1n;
    const subject = `program '${program.name}': tcx ${direction} on '${iface.name}' (mock)`;
    if (target.expectedRevision !== undefined) {
      if (typeof target.expectedRevision !== 'bigint')
        throw new InvalidArgumentError('tcx target: expectedRevision', 'a bigint revision from a query', target.expectedRevision);
      if (target.expectedRevision !== revision) {
        throw new BpfError(Errno.ESTALE, {
          syscall: 'bpf',
          command: 'BPF_LINK_CREATE',
          subject,
          hint: `the hook is at revision ${revision}, not ${target.expectedRevision}`,
        });
      }
    }
    const list = iface.hooks.tcx[direction];
    if (list.some((a) => a.program === object)) {
      throw new BpfError(Errno.EEXIST, {
        syscall: 'bpf',
        command: 'BPF_LINK_CREATE',
        subject,
        hint: 'this program is already on the hook',
      });
    }
    const anchorIndex = (anchor: unknown, side: string): number => {
      const i = list.findIndex((a) => {
        if (anchor instanceof MockLink) return anchor.attachment === a;
        const file = anchor !== null && typeof anchor === 'object' && 'fd' in anchor ? this.kernel.file((anchor as Program).fd) : undefined;
        return file?.object === a.program;
      });
      if (i < 0)
        throw new BpfError(Errno.ENOENT, {
          syscall: 'bpf',
          command: 'BPF_LINK_CREATE',
          subject,
          hint: `the ${side} anchor is not on this hook`,
        });
      return i;
    };
    let at = list.length;
    if (target.before === 'all') at = 0;
    else if (target.after === 'all') at = list.length;
    else if (target.before !== undefined) at = anchorIndex(target.before, 'before');
    else if (target.after !== undefined) at = anchorIndex(target.after, 'after') + 1;
    const attachment: MockAttachment = { seq: ++this.#seq, target, program: object, attached: true };
    list.splice(at, 0, attachment);
    this.#revisions.set(key, revision + 1n);
    let self: MockLink | undefined;
    const link = this.#link(
      {
        kind: 'tcx',
        isLink: true,
        detach: (a) => {
          const i = list.indexOf(a);
          if (i >= 0) list.splice(i, 1);
          this.#revisions.set(key, (this.#revisions.get(key) ?? 1n) + 1n);
          if (self) this.#forget(self);
        },
        update: (a, next) => {
          const nextObject = this.#programObject(next, 'tcx link: update');
          if (next.type !== ProgramType.SCHED_CLS)
            throw new InvalidArgumentError('tcx link: update', 'an open TC classifier program', next.name);
          swapProgram(a, nextObject);
          this.#revisions.set(key, (this.#revisions.get(key) ?? 1n) + 1n);
        },
      },
      attachment,
    );
    self = link;
    return link;
  }

  /**
   * The revision of a tcx hook (what `expectedRevision` compares with).
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.tcxRevision('lo', 'ingress'); // 1n
   */
  tcxRevision(ref: InterfaceRef, direction: 'ingress' | 'egress'): bigint {
    return this.#revisions.get(`${this.interface(ref).ifindex}:${direction}`) ?? 1n;
  }

  /**
   * Links still attached (a test's leak check).
   *
   * @example
   * declare const hooks: MockHooks;
   * hooks.attachedLinks; // 0 after closeAll()
   */
  get attachedLinks(): number {
    let n = 0;
    for (const link of this.#links) if (link.attachment.attached) n++;
    return n;
  }
}

/** Puts `next` on the hook in place of the attachment's program (a reference moves with it). */
function swapProgram(a: MockAttachment, next: MockProgramObject): void {
  next.retain();
  const old = a.program;
  a.program = next;
  old.release();
}

/** The next free handle among the filters of one priority (the kernel's cls_bpf allocates from 1). */
function nextHandle(list: readonly TcAttachment[], priority: number): number {
  let h = 1;
  while (list.some((a) => a.priority === priority && a.handle === h)) h++;
  return h;
}

/**
 * Refuses a program of the wrong type as the kernel backend does: kprobes,
 * kprobe_multi and perf events check the type before any syscall
 * (InvalidArgumentError); tracepoints, raw tracepoints and uprobes leave it to
 * the kernel, whose link creation answers EINVAL (BpfError).
 */
function checkType(program: Program, wanted: readonly number[], kind: string): void {
  if (wanted.includes(program.type)) return;
  const names = wanted.map((t) => `${programTypeName(t)} program (ProgramType.${programTypeName(t).toUpperCase()})`).join(' or ');
  const actual = `a program of type ${programTypeName(program.type)}`;
  if (kind === 'kprobe' || kind === 'kprobe_multi' || kind === 'perf_event') {
    throw new InvalidArgumentError(`${kind} target: program '${program.name}'`, `a ${names}`, actual);
  }
  throw new BpfError(Errno.EINVAL, {
    syscall: 'bpf',
    command: kind === 'raw_tracepoint' ? 'BPF_RAW_TRACEPOINT_OPEN' : 'BPF_LINK_CREATE',
    subject: `${kind} link of program '${program.name}' (mock)`,
    hint: `${actual} cannot attach here: a ${names} can`,
  });
}
