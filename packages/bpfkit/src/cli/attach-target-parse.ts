/**
 * The compact attach-target syntax of `bpfkit prog attach`
 * (`xdp:veth0:generic`, `tracepoint:sched:sched_process_exec`, …), parsed
 * into the {@link AttachTarget} union. Pure: no kernel, no file system.
 *
 * @module
 */
import { attachTypeFromName, attachTypeName, attachTypeNames, InvalidArgumentError } from '@bpfkit/core';
import type { AttachTarget, IterTarget, NetfilterTarget, PerfEventTarget, XdpTarget } from '@bpfkit/core';

/** One line per target kind: the syntax `parseAttachTarget` accepts (shown by `bpfkit prog --help` and in its errors). */
export const ATTACH_TARGET_SYNTAX: Readonly<Record<string, string>> = {
  xdp: 'xdp:<interface>[:native|generic|offload][:link|netlink]',
  tc: 'tc:<interface>:ingress|egress[:<priority>]',
  tcx: 'tcx:<interface>:ingress|egress',
  kprobe: 'kprobe:<function>[+<offset>]',
  kretprobe: 'kretprobe:<function>',
  kprobe_multi: 'kprobe_multi:<function>[,<function>…] or kprobe_multi:<glob>',
  kretprobe_multi: 'kretprobe_multi:<function>[,<function>…] or kretprobe_multi:<glob>',
  uprobe: 'uprobe:<binary>:<symbol>[+<offset>] or uprobe:<binary>:<0xfile offset>',
  uretprobe: 'uretprobe:<binary>:<symbol> or uretprobe:<binary>:<0xfile offset>',
  uprobe_multi: 'uprobe_multi:<binary>:<symbol>[,<symbol>…]',
  uretprobe_multi: 'uretprobe_multi:<binary>:<symbol>[,<symbol>…]',
  tracepoint: 'tracepoint:<group>:<name> (or tp:)',
  raw_tracepoint: 'raw_tracepoint:<name> (or raw_tp:)',
  tracing: 'fentry, fexit, fmod_ret, tp_btf, freplace or tracing (the function was chosen when the program was loaded)',
  lsm: 'lsm (the hook was chosen when the program was loaded)',
  perf_event: 'perf_event:hardware|software|<type>:<event>|<config>[:<N>hz|:<period>]',
  cgroup: 'cgroup:<cgroup directory>:<attach type, e.g. cgroup_inet_ingress>',
  flow_dissector: 'flow_dissector[:<netns path>]',
  sk_lookup: 'sk_lookup[:<netns path>]',
  netfilter: 'netfilter:ipv4|ipv6:pre_routing|local_in|forward|local_out|post_routing:<priority>[:defrag]',
  iter: 'iter[:pid=<pid>|tid=<tid>]',
};

/** Spellings that name the same kind as another. */
const ALIASES: Readonly<Record<string, string>> = {
  tp: 'tracepoint',
  raw_tp: 'raw_tracepoint',
  fentry: 'tracing',
  fexit: 'tracing',
  fmod_ret: 'tracing',
  tp_btf: 'tracing',
  freplace: 'tracing',
};

/** Kinds that need an object of the attaching process (a socket fd, a map), so a shell cannot name them. */
const LIBRARY_ONLY: Readonly<Record<string, string>> = {
  socket: 'a socket filter attaches to a socket of the process that owns it',
  reuseport: 'a reuseport program attaches to a socket of the process that owns it',
  sockmap: 'an sk_msg/sk_skb program attaches to a sockmap held by the process that fills it',
};

const HARDWARE_EVENTS: Readonly<Record<string, number>> = {
  cycles: 0,
  'cpu-cycles': 0,
  instructions: 1,
  'cache-references': 2,
  'cache-misses': 3,
  'branch-instructions': 4,
  branches: 4,
  'branch-misses': 5,
  'bus-cycles': 6,
  'stalled-cycles-frontend': 7,
  'stalled-cycles-backend': 8,
  'ref-cycles': 9,
};

const SOFTWARE_EVENTS: Readonly<Record<string, number>> = {
  'cpu-clock': 0,
  'task-clock': 1,
  'page-faults': 2,
  'context-switches': 3,
  'cpu-migrations': 4,
  'minor-faults': 5,
  'major-faults': 6,
  'alignment-faults': 7,
  'emulation-faults': 8,
  dummy: 9,
  'bpf-output': 10,
  'cgroup-switches': 11,
};

/** PERF_TYPE_* by name. */
const PERF_TYPES: Readonly<Record<string, number>> = { hardware: 0, software: 1, tracepoint: 2, hw_cache: 3, raw: 4, breakpoint: 5 };

const NETFILTER_HOOKS: readonly NetfilterTarget['hook'][] = ['pre_routing', 'local_in', 'forward', 'local_out', 'post_routing'];

/** Attach types a cgroup target takes: every `cgroup_*` one, and `lsm_cgroup`. */
const CGROUP_ATTACH_TYPES: readonly string[] = attachTypeNames.filter((n) => n.startsWith('cgroup_') || n === 'lsm_cgroup');

/** An unsigned integer in decimal or `0x` hex, or undefined. */
function unsigned(text: string): number | undefined {
  if (!/^(?:0x[0-9a-f]+|\d+)$/i.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A C identifier as kernel functions and tracepoints are named (GCC suffixes like `.isra.0` included). */
const KERNEL_NAME = /^[A-Za-z_][\w.]*$/;
/** A symbol of a user binary: anything without the separators (C++ mangled names, `malloc@@GLIBC_2.2.5`). */
const USER_SYMBOL = /^[^\s:+,]+$/;

/**
 * Parses a compact attach target, as `bpfkit prog attach` takes it from a
 * shell, into an {@link AttachTarget}. Every kind is in
 * {@link ATTACH_TARGET_SYNTAX}; a bad one is refused with the syntax of its
 * kind (or, for an unknown kind, the list of them all).
 *
 * @throws InvalidArgumentError for text that is not a target this syntax describes
 * @example
 * parseAttachTarget('xdp:veth0:generic'); // { kind: 'xdp', interface: 'veth0', mode: 'generic' }
 * parseAttachTarget('kretprobe:do_unlinkat'); // { kind: 'kprobe', symbol: 'do_unlinkat', ret: true }
 * parseAttachTarget('uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc');
 */
export function parseAttachTarget(text: string): AttachTarget {
  if (typeof text !== 'string' || !text.trim()) throw unknownKind(text);
  const colon = text.indexOf(':');
  const written = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
  const rest = colon < 0 ? undefined : text.slice(colon + 1);
  const fields = rest === undefined ? [] : rest.split(':');
  if (Object.hasOwn(LIBRARY_ONLY, written)) {
    throw new InvalidArgumentError(
      'attach target',
      `a target a shell can name (${LIBRARY_ONLY[written]}: attach it with program.attach() in that process)`,
      text,
    );
  }
  const kind = ALIASES[written] ?? written;
  const syntax = ATTACH_TARGET_SYNTAX[kind];
  if (syntax === undefined) throw unknownKind(text);
  // fentry, fexit…, lsm: the kind as written, not the whole line with its explanation.
  const shown = kind === 'tracing' || kind === 'lsm' ? written : syntax;
  const bad = (problem: string): InvalidArgumentError => new InvalidArgumentError('attach target', `${shown} (${problem})`, text);
  const count = (min: number, max: number) => {
    if (fields.length < min || fields.length > max || fields.some((f) => f === '')) {
      throw bad(min === max ? `${min} field${min === 1 ? '' : 's'} after '${written}:'` : `${min} to ${max} fields after '${written}:'`);
    }
  };

  switch (kind) {
    case 'xdp': {
      count(1, 3);
      const target: XdpTarget = { kind: 'xdp', interface: iface(fields[0]!, bad) };
      for (const f of fields.slice(1)) {
        if (f === 'native' || f === 'generic' || f === 'offload') {
          if (target.mode) throw bad('one mode');
          target.mode = f;
        } else if (f === 'link' || f === 'netlink') {
          if (target.method) throw bad('one method');
          target.method = f;
        } else throw bad(`'${f}' is neither a mode (native, generic, offload) nor a method (link, netlink)`);
      }
      return target;
    }
    case 'tc': {
      count(2, 3);
      const priority = fields[2] === undefined ? undefined : unsigned(fields[2]);
      if (fields[2] !== undefined && (priority === undefined || priority < 1 || priority > 0xffff)) throw bad('the priority is 1 to 65535');
      return { kind: 'tc', interface: iface(fields[0]!, bad), direction: direction(fields[1]!, bad), ...(priority ? { priority } : {}) };
    }
    case 'tcx':
      count(2, 2);
      return { kind: 'tcx', interface: iface(fields[0]!, bad), direction: direction(fields[1]!, bad) };
    case 'kprobe':
    case 'kretprobe': {
      count(1, 1);
      const [symbol, offsetText] = fields[0]!.split('+', 2) as [string, string | undefined];
      if (!KERNEL_NAME.test(symbol)) throw bad('a kernel function name');
      if (offsetText === undefined) return { kind: 'kprobe', symbol, ...(kind === 'kretprobe' ? { ret: true } : {}) };
      if (kind === 'kretprobe') throw bad('a kretprobe is at the function, without an offset');
      const offset = unsigned(offsetText);
      if (offset === undefined) throw bad('the offset is a number of bytes (decimal or 0x hex)');
      return { kind: 'kprobe', symbol, offset };
    }
    case 'kprobe_multi':
    case 'kretprobe_multi': {
      count(1, 1);
      const ret = kind === 'kretprobe_multi' ? { ret: true } : {};
      const list = fields[0]!;
      if (/[*?]/.test(list)) {
        if (list.includes(',') || !/^[\w.*?]+$/.test(list)) throw bad('one glob of * and ? over function names');
        return { kind: 'kprobe_multi', pattern: list, ...ret };
      }
      const symbols = list.split(',');
      if (!symbols.every((s) => KERNEL_NAME.test(s))) throw bad('kernel function names separated by commas');
      return { kind: 'kprobe_multi', symbols, ...ret };
    }
    case 'uprobe':
    case 'uretprobe': {
      const [binary, where] = binaryAndRest(rest, bad);
      const ret = kind === 'uretprobe' ? { ret: true } : {};
      const fileOffset = /^0x/i.test(where) ? unsigned(where) : undefined;
      if (fileOffset !== undefined) return { kind: 'uprobe', binary, offset: fileOffset, ...ret };
      const [symbol, offsetText] = where.split('+', 2) as [string, string | undefined];
      if (!USER_SYMBOL.test(symbol) || /^\d/.test(symbol)) throw bad('a symbol name, or a file offset in 0x hex');
      if (offsetText === undefined) return { kind: 'uprobe', binary, symbol, ...ret };
      if (kind === 'uretprobe') throw bad('a uretprobe is at the function, without an offset');
      const offset = unsigned(offsetText);
      if (offset === undefined) throw bad('the offset is a number of bytes (decimal or 0x hex)');
      return { kind: 'uprobe', binary, symbol, offset };
    }
    case 'uprobe_multi':
    case 'uretprobe_multi': {
      const [binary, list] = binaryAndRest(rest, bad);
      const symbols = list.split(',');
      if (!symbols.every((s) => USER_SYMBOL.test(s) && !/^\d/.test(s))) throw bad('symbol names separated by commas');
      return { kind: 'uprobe_multi', binary, symbols, ...(kind === 'uretprobe_multi' ? { ret: true } : {}) };
    }
    case 'tracepoint':
      count(2, 2);
      if (!KERNEL_NAME.test(fields[0]!) || !KERNEL_NAME.test(fields[1]!)) throw bad('a group and an event name from tracefs events/');
      return { kind: 'tracepoint', group: fields[0]!, name: fields[1]! };
    case 'raw_tracepoint':
      count(1, 1);
      if (!KERNEL_NAME.test(fields[0]!)) throw bad('a tracepoint name');
      return { kind: 'raw_tracepoint', name: fields[0]! };
    case 'tracing':
    case 'lsm':
      if (rest !== undefined) {
        throw bad(
          `nothing after '${written}': its ${kind === 'lsm' ? 'hook' : 'function'} was fixed when the program was loaded (its section name)`,
        );
      }
      return { kind };
    case 'perf_event':
      return perfEvent(fields, bad, count);
    case 'cgroup': {
      const [path, typeText] = binaryAndRest(rest, bad);
      const type = attachTypeFromName(typeText) ?? attachTypeFromName(`cgroup_${typeText}`);
      if (type === undefined || !CGROUP_ATTACH_TYPES.includes(attachTypeName(type))) {
        throw bad(`the attach type is one of ${CGROUP_ATTACH_TYPES.join(', ')}`);
      }
      return { kind: 'cgroup', path, attachType: type };
    }
    case 'flow_dissector':
    case 'sk_lookup':
      if (rest === undefined) return { kind };
      if (!rest) throw bad('a network namespace path after the colon');
      return { kind, netns: rest };
    case 'netfilter': {
      count(3, 4);
      const [family, hook, priorityText, flag] = fields as [string, string, string, string | undefined];
      if (family !== 'ipv4' && family !== 'ipv6') throw bad('the family is ipv4 or ipv6');
      if (!(NETFILTER_HOOKS as readonly string[]).includes(hook)) throw bad(`the hook is one of ${NETFILTER_HOOKS.join(', ')}`);
      if (!/^-?\d+$/.test(priorityText)) throw bad('the priority is an integer');
      const priority = Number(priorityText);
      // INT_MIN and INT_MAX are NF_IP_PRI_FIRST/LAST, which the kernel reserves (bpf_nf_check_pf_and_hooks).
      if (priority <= -0x80000000 || priority >= 0x7fffffff) throw bad('the priority is between INT_MIN and INT_MAX, both excluded');
      if (flag !== undefined && flag !== 'defrag') throw bad(`the last field is 'defrag' or nothing`);
      return { kind: 'netfilter', family, hook: hook as NetfilterTarget['hook'], priority, ...(flag ? { defrag: true } : {}) };
    }
    case 'iter': {
      count(0, 1);
      if (fields.length === 0) return { kind: 'iter' };
      const m = /^(pid|tid)=(\d+)$/.exec(fields[0]!);
      const id = m ? unsigned(m[2]!) : undefined;
      if (!m || !id) throw bad('pid=<pid> or tid=<tid>, a positive number');
      const task: NonNullable<IterTarget['task']> = m[1] === 'pid' ? { pid: id } : { tid: id };
      return { kind: 'iter', task };
    }
    default:
      throw unknownKind(text);
  }
}

function unknownKind(text: unknown): InvalidArgumentError {
  return new InvalidArgumentError('attach target', `<kind>:<details>, one of: ${Object.values(ATTACH_TARGET_SYNTAX).join('; ')}`, text);
}

type Bad = (problem: string) => InvalidArgumentError;

/** `<interface>`: an index (digits) or a name (at most 15 bytes, IFNAMSIZ). */
function iface(text: string, bad: Bad): string | number {
  if (/^\d+$/.test(text)) {
    const index = Number(text);
    if (index > 0 && index <= 0x7fffffff) return index;
    throw bad('an interface index is a positive number');
  }
  if (text.length > 15 || /[\s/]/.test(text)) throw bad('an interface name of at most 15 characters, without / or spaces');
  return text;
}

function direction(text: string, bad: Bad): 'ingress' | 'egress' {
  if (text === 'ingress' || text === 'egress') return text;
  throw bad('the direction is ingress or egress');
}

/** `<path>:<last>`: a path that may itself hold colons, then the last field. */
function binaryAndRest(rest: string | undefined, bad: Bad): [string, string] {
  const at = rest?.lastIndexOf(':') ?? -1;
  if (rest === undefined || at <= 0 || at === rest.length - 1) throw bad('a path, a colon, and what follows it');
  return [rest.slice(0, at), rest.slice(at + 1)];
}

function perfEvent(fields: string[], bad: Bad, count: (min: number, max: number) => void): PerfEventTarget {
  count(2, 3);
  const [typeText, configText, sampling] = fields as [string, string, string | undefined];
  const type = PERF_TYPES[typeText] ?? unsigned(typeText);
  if (type === undefined || type > 0xffffffff) throw bad(`the type is ${Object.keys(PERF_TYPES).join(', ')} or a PMU type number`);
  const names = type === 0 ? HARDWARE_EVENTS : type === 1 ? SOFTWARE_EVENTS : {};
  const named = names[configText];
  const number = /^(?:0x[0-9a-f]+|\d+)$/i.test(configText) ? BigInt(configText) : undefined;
  const config = named !== undefined ? BigInt(named) : number;
  if (config === undefined || config >= 1n << 64n) {
    const known = Object.keys(names);
    throw bad(`the event is a config number${known.length ? ` or one of ${known.join(', ')}` : ''}`);
  }
  const target: PerfEventTarget = { kind: 'perf_event', type, config };
  if (sampling === undefined) return target;
  const hz = /^(\d+)hz$/i.exec(sampling);
  if (hz) {
    const frequency = Number(hz[1]);
    if (!frequency || !Number.isSafeInteger(frequency)) throw bad('a frequency of at least 1hz');
    return { ...target, sampleFrequency: frequency };
  }
  if (!/^\d+$/.test(sampling) || BigInt(sampling) === 0n) throw bad('the sampling is <N>hz or a period (a positive number of events)');
  return { ...target, samplePeriod: BigInt(sampling) };
}
