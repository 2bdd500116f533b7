/**
 * Attaching a program to each hook the kernel offers, through a link.
 *
 * @module
 */
import fs from 'node:fs';
import { AttachType, attachTypeName, InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import type { AttachTarget, Program } from '@bpfkit/core';
import { elfFunctionSymbol } from '@bpfkit/elf';
import { linkCreate, native, PERF_FLAG_FD_CLOEXEC, PerfType, perfEventOpen, rawTracepointOpen } from '@bpfkit/syscalls';
import { KernelLink } from './link.js';
import { tracepointId } from './tracefs.js';

/**
 * Attaches a loaded program to a hook and returns the link that holds it.
 * Raw tracepoints, tracepoints, cgroups and uprobes attach today; the
 * other hooks answer NotSupportedError naming the hook.
 *
 * @example
 * using link = attachProgram(prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
 */
export function attachProgram(program: Program, target: AttachTarget): KernelLink {
  if (program.closed || program.fd < 0) throw new InvalidArgumentError('attach: program', 'an open kernel program', program.name);
  switch (target.kind) {
    case 'raw_tracepoint': {
      if (typeof target.name !== 'string' || !target.name)
        throw new InvalidArgumentError('raw_tracepoint target: name', 'a tracepoint name', target.name);
      const fd = rawTracepointOpen(program.fd, target.name, undefined, {
        subject: `program '${program.name}': attach to raw tracepoint '${target.name}'`,
      });
      return new KernelLink(fd, target, `raw_tracepoint link '${target.name}' of program '${program.name}'`);
    }
    case 'tracepoint':
      return attachTracepoint(program, target);
    case 'cgroup':
      return attachCgroup(program, target);
    case 'uprobe':
      return attachUprobe(program, target);
    default:
      throw new NotSupportedError(
        `attaching programs to '${target.kind}'`,
        undefined,
        'it attaches raw tracepoints, tracepoints, cgroups and uprobes so far; run other programs with testRun() meanwhile',
        'bpfkit',
      );
  }
}

/**
 * A tracepoint: a PERF_TYPE_TRACEPOINT perf event (pid -1, CPU 0: the
 * program runs on every CPU all the same) with the program linked to it
 * ({@link linkPerfEvent}).
 */
function attachTracepoint(program: Program, target: Extract<AttachTarget, { kind: 'tracepoint' }>): KernelLink {
  const label = `tracepoint link '${target.group}:${target.name}' of program '${program.name}'`;
  const id = tracepointId(target.group, target.name);
  const perfFd = perfEventOpen({ type: PerfType.PERF_TYPE_TRACEPOINT, config: id }, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  return linkPerfEvent(program, perfFd, target, label);
}

/**
 * A cgroup (v2) hook: a cgroup link (BPF_LINK_CREATE on the cgroup's
 * directory fd, 5.7) for `target.attachType` (`AttachType.CGROUP_INET_EGRESS`,
 * …). The link holds the cgroup, so the directory fd is closed at once.
 */
function attachCgroup(program: Program, target: Extract<AttachTarget, { kind: 'cgroup' }>): KernelLink {
  if (typeof target.path !== 'string' || !target.path)
    throw new InvalidArgumentError('cgroup target: path', 'a cgroup v2 directory', target.path);
  const label = `cgroup link '${target.path}' (${attachTypeName(target.attachType)}) of program '${program.name}'`;
  let cgroupFd: number;
  try {
    cgroupFd = fs.openSync(target.path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error';
    throw new InvalidArgumentError('cgroup target: path', 'a cgroup v2 directory this process can open', `${target.path} (${code})`);
  }
  try {
    const fd = linkCreate(
      { progFd: program.fd, targetFd: cgroupFd, attachType: target.attachType, ...(target.flags ? { flags: target.flags } : {}) },
      { subject: label },
    );
    return new KernelLink(fd, target, label);
  } finally {
    fs.closeSync(cgroupFd);
  }
}

/** The perf PMU of dynamic probes: its type number, and the config bit that makes a return probe. */
function probePmu(name: 'kprobe' | 'uprobe'): { type: number; retprobeBit: number } {
  const dir = `/sys/bus/event_source/devices/${name}`;
  let type: string;
  try {
    type = fs.readFileSync(`${dir}/type`, 'utf8');
  } catch {
    const config = name === 'kprobe' ? 'CONFIG_KPROBES / CONFIG_KPROBE_EVENTS' : 'CONFIG_UPROBE_EVENTS';
    throw new NotSupportedError(`${name}s through the ${name} PMU`, '4.17', `this kernel has no ${dir} (built without ${config})`);
  }
  // format/retprobe reads "config:<bit>" (bit 0 on every kernel so far).
  const format = /config:(\d+)/.exec(fs.existsSync(`${dir}/format/retprobe`) ? fs.readFileSync(`${dir}/format/retprobe`, 'utf8') : '');
  return { type: Number.parseInt(type.trim(), 10), retprobeBit: format ? Number(format[1]) : 0 };
}

/**
 * A uprobe (or uretprobe with `ret`) on `symbol` (from `.symtab` or
 * `.dynsym`, PIE and shared objects mapped through their program headers)
 * plus `offset`, or at a file offset: a uprobe PMU perf event (4.17) linked
 * with BPF_LINK_CREATE (5.15), for one process (`pid`) or all (then on CPU
 * 0, as the kernel requires one of them).
 */
function attachUprobe(program: Program, target: Extract<AttachTarget, { kind: 'uprobe' }>): KernelLink {
  const binary = resolveBinary(target.binary);
  if (target.offset !== undefined && (!Number.isInteger(target.offset) || target.offset < 0)) {
    throw new InvalidArgumentError('uprobe target: offset', 'a file offset (a non-negative integer)', target.offset);
  }
  if (target.symbol === undefined && target.offset === undefined) {
    throw new InvalidArgumentError('uprobe target', 'a symbol, an offset, or both (offset then counts from the symbol)', target);
  }
  if (target.pid !== undefined && (!Number.isInteger(target.pid) || target.pid <= 0))
    throw new InvalidArgumentError('uprobe target: pid', 'a process id', target.pid);
  let offset = target.offset ?? 0;
  if (target.symbol !== undefined) {
    const symbol = elfFunctionSymbol(new Uint8Array(fs.readFileSync(binary)), target.symbol);
    if (!symbol)
      throw new InvalidArgumentError('uprobe target: symbol', `a function defined in ${binary} (.symtab or .dynsym)`, target.symbol);
    offset += symbol.fileOffset;
  }
  const where = `${binary}${target.symbol ? `:${target.symbol}` : ''}+0x${offset.toString(16)}`;
  const label = `${target.ret ? 'uretprobe' : 'uprobe'} link '${where}' of program '${program.name}'`;
  const pmu = probePmu('uprobe');
  const perfFd = perfEventOpen(
    { type: pmu.type, config: target.ret ? 1n << BigInt(pmu.retprobeBit) : 0n, uprobePath: binary, probeOffset: BigInt(offset) },
    target.pid ?? -1,
    target.pid === undefined ? 0 : -1,
    -1,
    PERF_FLAG_FD_CLOEXEC,
  );
  return linkPerfEvent(program, perfFd, target, label);
}

/** Directories the dynamic loader searches by default, for this machine's architecture. */
function libraryDirs(): string[] {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'x64' ? 'x86_64-linux-gnu' : undefined;
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  return [...fromEnv, ...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []), '/lib64', '/usr/lib64', '/lib', '/usr/lib'];
}

/**
 * An absolute path as given; a bare library name (`libc.so.6`) found where
 * the dynamic loader looks without its cache: LD_LIBRARY_PATH, then the
 * architecture's and the default library directories.
 */
function resolveBinary(binary: string): string {
  if (typeof binary !== 'string' || !binary)
    throw new InvalidArgumentError('uprobe target: binary', 'a path or a shared library name', binary);
  if (binary.startsWith('/')) {
    if (!fs.existsSync(binary)) throw new InvalidArgumentError('uprobe target: binary', 'an existing file', binary);
    return binary;
  }
  if (binary.includes('/'))
    throw new InvalidArgumentError('uprobe target: binary', 'an absolute path, or a library name without a directory', binary);
  for (const dir of libraryDirs()) {
    const candidate = `${dir}/${binary}`;
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new InvalidArgumentError('uprobe target: binary', `a library in ${libraryDirs().join(', ')}`, binary);
}

/**
 * Links `program` to the perf event `perfFd` (BPF_LINK_CREATE, attach type
 * BPF_PERF_EVENT, 5.15) and closes `perfFd` whatever happens: the link holds
 * the perf event itself (bpf_perf_link keeps a reference to its file).
 */
function linkPerfEvent(program: Program, perfFd: number, target: AttachTarget, label: string): KernelLink {
  try {
    const fd = linkCreate({ progFd: program.fd, targetFd: perfFd, attachType: AttachType.PERF_EVENT }, { subject: label });
    return new KernelLink(fd, target, label);
  } finally {
    native.close(perfFd);
  }
}
