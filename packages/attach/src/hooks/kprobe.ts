/**
 * kprobes and kretprobes (kprobe PMU, tracefs fallback) and kprobe_multi links.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import {
  AttachType,
  BpfError,
  Errno,
  InvalidArgumentError,
  NotSupportedError,
  ProgramType,
  attachTypeName,
  kernelReleaseAtLeast,
  programTypeName,
} from '@bpfkit/core';
import type { Link, Program, KprobeMultiTarget, KprobeTarget } from '@bpfkit/core';
import { PERF_FLAG_FD_CLOEXEC, PerfType, cStringArray, linkCreate, perfEventOpen } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { availableFilterFunctions, tracefsDir } from '../tracefs.js';
import { KprobeEventLink, addKprobeEvent, kprobeEventsFile, removeKprobeEvent } from './kprobe-events.js';
import { attachPerfEventFd, probePmu } from './perf-link.js';

const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe';
/** A kernel symbol as kallsyms spells it (`do_unlinkat`, `foo.isra.0`), optionally `module:` first. */
const SYMBOL = /^(?:[A-Za-z0-9_-]+:)?[A-Za-z_.][A-Za-z0-9_.]*$/;
/** `BPF_F_KPROBE_MULTI_RETURN` (uapi bpf.h): the kprobe_multi link runs at function return. */
const KPROBE_MULTI_RETURN = 1;

/** Refuses a program that is not a kprobe program, before the kernel answers a bare EINVAL. */
function checkKprobeProgram(program: Program, kind: string): void {
  if (program.type !== ProgramType.KPROBE) {
    throw new InvalidArgumentError(
      `${kind} target: program '${program.name}'`,
      'a kprobe program (ProgramType.KPROBE)',
      `a program of type ${programTypeName(program.type)}`,
    );
  }
}

/** How many symbols /proc/kallsyms lists under `symbol` (`module:name` counts that module's only); undefined when it cannot be read. */
function kallsymsCount(symbol: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/kallsyms', 'utf8');
  } catch {
    return undefined;
  }
  const colon = symbol.indexOf(':');
  const module = colon < 0 ? undefined : symbol.slice(0, colon);
  const name = colon < 0 ? symbol : symbol.slice(colon + 1);
  let n = 0;
  for (const line of text.split('\n')) {
    // "<address> <type> <name>", then "\t[<module>]" for a module's symbol.
    if (!line.includes(name)) continue;
    const space = line.indexOf(' ', line.indexOf(' ') + 1);
    if (space < 0) continue;
    const tab = line.indexOf('\t', space);
    if ((tab < 0 ? line.slice(space + 1) : line.slice(space + 1, tab)) !== name) continue;
    if (module !== undefined && (tab < 0 || line.slice(tab + 1) !== `[${module}]`)) continue;
    n++;
  }
  return n;
}

/** Why a kprobe on `symbol+offset` failed, in words that name the culprit. */
function explainKprobeError(err: unknown, target: KprobeTarget, label: string): unknown {
  if (!(err instanceof BpfError)) return err;
  const offset = target.offset ?? 0;
  switch (err.errno) {
    case Errno.ENOENT:
    case Errno.EINVAL: {
      const count = kallsymsCount(target.symbol);
      if (count === 0)
        return new InvalidArgumentError('kprobe target: symbol', 'a kernel function (one listed in /proc/kallsyms)', target.symbol);
      if (err.errno === Errno.EINVAL && offset !== 0) {
        return new InvalidArgumentError('kprobe target: offset', `an offset inside ${target.symbol} that the kernel can probe`, offset);
      }
      return new BpfError(
        err.errno,
        {
          syscall: err.syscall,
          command: err.command,
          subject: label,
          hint: `the kernel refuses to probe ${target.symbol} (a function on the kprobe blacklist, notrace, or inlined away?)`,
        },
        { cause: err },
      );
    }
    case Errno.EILSEQ:
      return new InvalidArgumentError('kprobe target: offset', `an offset at an instruction boundary of ${target.symbol}`, offset);
    case Errno.EADDRNOTAVAIL:
      return new InvalidArgumentError(
        'kprobe target: symbol',
        'a symbol naming one function (several share this name: give "module:symbol", or attach them all with kprobe_multi)',
        target.symbol,
      );
    default:
      return err;
  }
}

/** `kprobe_events` when the kernel has it, undefined otherwise (also when tracefs cannot be mounted). */
function kprobeEventsIfAny(): string | undefined {
  try {
    return kprobeEventsFile();
  } catch {
    return undefined;
  }
}

/** A kernel without any kprobes: neither the PMU nor tracefs kprobe events. */
function noKprobes(): NotSupportedError {
  let where: string;
  try {
    where = `${tracefsDir()}/kprobe_events`;
  } catch {
    where = 'tracefs kprobe_events (tracefs could not be mounted)';
  }
  return new NotSupportedError(
    'attaching kprobes',
    undefined,
    `this kernel is built without CONFIG_KPROBES: it has neither the kprobe PMU (${KPROBE_PMU}) nor ${where}`,
  );
}

/**
 * A kprobe (or kretprobe with `ret`) on a kernel function, at `offset`
 * bytes into it: through the kprobe PMU (4.17: a perf event naming the
 * function) or, with `method: 'tracefs'` or without the PMU, a probe event
 * written to tracefs `kprobe_events` (`p:bpfkit_<pid>_<n>/<name> symbol+off`),
 * removed again when the link closes or the attach fails. The perf event is
 * linked with BPF_LINK_CREATE (5.15; `cookie` needs it), or on older kernels
 * given the program by PERF_EVENT_IOC_SET_BPF.
 *
 * @throws NotSupportedError on a kernel built without CONFIG_KPROBES
 * @throws InvalidArgumentError for a symbol the kernel does not have, an offset it cannot probe, a kretprobe with an offset
 * @example
 * using link = attachKprobe(prog, { kind: 'kprobe', symbol: 'do_unlinkat' });
 */
export function attachKprobe(program: Program, target: KprobeTarget): Link {
  checkKprobeProgram(program, 'kprobe');
  const { symbol, ret = false, cookie, method } = target;
  if (typeof symbol !== 'string' || !SYMBOL.test(symbol) || symbol.length > 511)
    throw new InvalidArgumentError('kprobe target: symbol', 'a kernel function name such as "do_unlinkat" (or "module:function")', symbol);
  const offset = target.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new InvalidArgumentError('kprobe target: offset', 'a non-negative integer (bytes into the function)', target.offset);
  if (ret && offset !== 0)
    throw new InvalidArgumentError('kprobe target: offset', '0 for a kretprobe (return probes sit on the function entry)', offset);
  if (cookie !== undefined && (typeof cookie !== 'bigint' || BigInt.asUintN(64, cookie) !== cookie))
    throw new InvalidArgumentError('kprobe target: cookie', 'an unsigned 64-bit bigint', cookie);
  if (method !== undefined && method !== 'pmu' && method !== 'tracefs')
    throw new InvalidArgumentError('kprobe target: method', "'pmu' or 'tracefs'", method);

  const hasPmu = fs.existsSync(`${KPROBE_PMU}/type`);
  const where = `${symbol}${offset ? `+0x${offset.toString(16)}` : ''}`;
  const label = `${ret ? 'kretprobe' : 'kprobe'} '${where}' of program '${program.name}'`;
  const chosen = method ?? (hasPmu ? 'pmu' : 'tracefs');
  if (chosen === 'pmu') {
    if (!hasPmu && kprobeEventsIfAny() === undefined) throw noKprobes();
    const pmu = probePmu('kprobe');
    let perfFd: number;
    try {
      perfFd = perfEventOpen(
        { type: pmu.type, config: ret ? 1n << BigInt(pmu.retprobeBit) : 0n, kprobeFunc: symbol, probeOffset: BigInt(offset) },
        -1,
        0,
        -1,
        PERF_FLAG_FD_CLOEXEC,
        { subject: label },
      );
    } catch (err) {
      throw explainKprobeError(err, target, label);
    }
    return attachPerfEventFd(program, perfFd, target, label, cookie);
  }
  if (kprobeEventsIfAny() === undefined) {
    if (!hasPmu) throw noKprobes();
    throw new NotSupportedError(
      'attaching kprobes through tracefs',
      undefined,
      `this kernel has no ${tracefsDir()}/kprobe_events (CONFIG_KPROBE_EVENTS); the kprobe PMU (method 'pmu') is there`,
    );
  }
  let event: ReturnType<typeof addKprobeEvent>;
  try {
    event = addKprobeEvent(symbol, offset, ret);
  } catch (err) {
    throw explainKprobeError(err, target, label);
  }
  try {
    const perfFd = perfEventOpen({ type: PerfType.PERF_TYPE_TRACEPOINT, config: event.id }, -1, 0, -1, PERF_FLAG_FD_CLOEXEC, {
      subject: `${label} (probe event ${event.group}/${event.name})`,
    });
    const attachment = attachPerfEventFd(program, perfFd, target, label, cookie);
    return new KprobeEventLink(attachment, event, target, label);
  } catch (err) {
    try {
      removeKprobeEvent(event);
    } catch {
      // The attach error says more than a failed cleanup would.
    }
    throw err;
  }
}

/** A glob (`*`, `?`) as an anchored regular expression. */
function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** The functions a kprobe_multi target names: its symbols, or the matches of its pattern. */
function multiSymbols(target: KprobeMultiTarget): string[] {
  const { symbols, pattern } = target;
  if ((symbols === undefined) === (pattern === undefined))
    throw new InvalidArgumentError(
      'kprobe_multi target',
      'either symbols (kernel function names) or pattern (a glob over available_filter_functions)',
      symbols === undefined ? 'neither' : 'both',
    );
  if (symbols !== undefined) {
    if (!Array.isArray(symbols) || symbols.length === 0)
      throw new InvalidArgumentError('kprobe_multi target: symbols', 'a non-empty array of kernel function names', symbols);
    const seen = new Set<string>();
    for (const s of symbols) {
      if (typeof s !== 'string' || !SYMBOL.test(s) || s.includes(':'))
        throw new InvalidArgumentError('kprobe_multi target: symbols', 'kernel function names such as "do_unlinkat"', s);
      if (seen.has(s)) throw new InvalidArgumentError('kprobe_multi target: symbols', 'each function once', s);
      seen.add(s);
    }
    return [...symbols];
  }
  if (typeof pattern !== 'string' || !/^[A-Za-z0-9_.*?]+$/.test(pattern))
    throw new InvalidArgumentError('kprobe_multi target: pattern', 'a glob of function name characters, * and ?', pattern);
  if (target.cookies !== undefined)
    throw new InvalidArgumentError(
      'kprobe_multi target: cookies',
      'symbols to go with them (a pattern matches functions in no order one can pair cookies with)',
      'a pattern',
    );
  const re = globRegExp(pattern);
  const names = new Set<string>();
  for (const f of availableFilterFunctions()) {
    // Entries ftrace could not resolve are listed as __ftrace_invalid_address___<n>.
    if (re.test(f.name) && !f.name.startsWith('__ftrace_invalid_address__')) names.add(f.name);
  }
  if (names.size === 0)
    throw new InvalidArgumentError(
      'kprobe_multi target: pattern',
      `a glob matching at least one function of ${tracefsDir()}/available_filter_functions`,
      pattern,
    );
  return [...names];
}

/** Writes u64s in host byte order. */
function u64Array(values: readonly bigint[]): Uint8Array {
  return new Uint8Array(BigUint64Array.from(values).buffer);
}

/**
 * Several kernel functions through one kprobe_multi link (5.18, fprobe):
 * `symbols` by name, or every function of `available_filter_functions`
 * matching `pattern`; at their entry, or their return with `ret`; with one
 * cookie per symbol. The program must be a kprobe program loaded with
 * expected attach type BPF_TRACE_KPROBE_MULTI (libbpf's `kprobe.multi`).
 *
 * @throws NotSupportedError on a kernel without fprobe (CONFIG_FPROBE)
 * @throws InvalidArgumentError for an empty or duplicate symbol list, a pattern matching nothing, functions the kernel does not have, cookies that do not pair with the symbols
 * @example
 * using link = attachKprobeMulti(prog, { kind: 'kprobe_multi', symbols: ['do_unlinkat', 'do_rmdir'], cookies: [1n, 2n] });
 */
export function attachKprobeMulti(program: Program, target: KprobeMultiTarget): KernelLink {
  checkKprobeProgram(program, 'kprobe_multi');
  const expected = (program as { expectedAttachType?: number }).expectedAttachType;
  if (expected !== undefined && expected !== AttachType.TRACE_KPROBE_MULTI) {
    throw new InvalidArgumentError(
      `kprobe_multi target: program '${program.name}'`,
      'a kprobe program loaded with expectedAttachType AttachType.TRACE_KPROBE_MULTI (libbpf: SEC("kprobe.multi/…"))',
      `expected attach type ${expected === 0 ? '0 (none)' : attachTypeName(expected)}`,
    );
  }
  const names = multiSymbols(target);
  const { cookies, ret = false } = target;
  if (cookies !== undefined) {
    if (!Array.isArray(cookies) || cookies.length !== names.length)
      throw new InvalidArgumentError('kprobe_multi target: cookies', `one cookie per symbol (${names.length})`, cookies);
    for (const c of cookies)
      if (typeof c !== 'bigint' || BigInt.asUintN(64, c) !== c)
        throw new InvalidArgumentError('kprobe_multi target: cookies', 'unsigned 64-bit bigints', c);
  }
  const shown = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
  const label = `${ret ? 'kretprobe' : 'kprobe'}_multi link on ${shown} of program '${program.name}'`;
  const syms = cStringArray(names);
  let fd: number;
  try {
    fd = linkCreate(
      {
        progFd: program.fd,
        attachType: AttachType.TRACE_KPROBE_MULTI,
        kprobeMulti: {
          flags: ret ? KPROBE_MULTI_RETURN : 0,
          cnt: names.length,
          syms,
          ...(cookies !== undefined ? { cookies: u64Array(cookies) } : {}),
        },
      },
      { subject: label },
    );
  } catch (err) {
    throw explainMultiError(err, names);
  }
  return new KernelLink(fd, target, label);
}

/** Why a kprobe_multi link failed, naming missing functions or the missing kernel feature. */
function explainMultiError(err: unknown, names: readonly string[]): unknown {
  if (!(err instanceof BpfError)) return err;
  if (err.errno === Errno.EOPNOTSUPP || err.errno === Errno.ENOTSUPP)
    return new NotSupportedError('the kprobe_multi link', '5.18', 'this kernel is built without CONFIG_FPROBE');
  if (err.errno === Errno.EINVAL && !kernelReleaseAtLeast(os.release(), 5, 18))
    return new NotSupportedError('the kprobe_multi link', '5.18', `this kernel is ${os.release()}`);
  if (err.errno === Errno.ESRCH || err.errno === Errno.ENOENT) {
    let known: Set<string> | undefined;
    try {
      known = new Set(availableFilterFunctions().map((f) => f.name));
    } catch {
      known = undefined;
    }
    const missing = known ? names.filter((n) => !known.has(n)) : [];
    if (missing.length > 0)
      return new InvalidArgumentError(
        'kprobe_multi target: symbols',
        `functions of ${tracefsDir()}/available_filter_functions`,
        missing.join(', '),
      );
  }
  return err;
}
