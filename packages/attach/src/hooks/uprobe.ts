/**
 * uprobes and uretprobes: one probe through the uprobe PMU, or many through
 * an uprobe_multi link.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import { AttachType, BpfError, Errno, InvalidArgumentError, NotSupportedError, attachTypeName, kernelReleaseAtLeast } from '@bpfkit/core';
import type { Link, Program, UprobeMultiTarget, UprobeTarget } from '@bpfkit/core';
import { elfFunctionSymbol } from '@bpfkit/elf';
import { PERF_FLAG_FD_CLOEXEC, linkCreate, perfEventOpen } from '@bpfkit/syscalls';
import { ldSoCachePath } from '../ld-so-cache.js';
import { KernelLink } from '../link.js';
import { attachPerfEventFd, probePmu } from './perf-link.js';

/** `BPF_F_UPROBE_MULTI_RETURN` (uapi bpf.h): the uprobe_multi link runs at function return. */
const UPROBE_MULTI_RETURN = 1;

const isU64 = (v: unknown): v is bigint => typeof v === 'bigint' && BigInt.asUintN(64, v) === v;

/**
 * A uprobe (or uretprobe with `ret`) on `symbol` (from `.symtab` or
 * `.dynsym`, PIE and shared objects mapped through their program headers)
 * plus `offset`, or at a file offset: a uprobe PMU perf event (4.17) linked
 * with BPF_LINK_CREATE (5.15, with `cookie`), or on older kernels given the
 * program by PERF_EVENT_IOC_SET_BPF; for one process (`pid`) or all (then on
 * CPU 0, as the kernel requires one of them).
 *
 * A uretprobe's `pid` filter decides in which processes the breakpoint is
 * placed: where another probe on the same function watches other
 * processes, some kernels (seen on 6.12, not on 6.18) run the uretprobe's
 * program on their returns too.
 *
 * @example
 * using link = attachUprobe(prog, { kind: 'uprobe', binary: 'libc.so.6', symbol: 'malloc', pid: process.pid });
 */
export function attachUprobe(program: Program, target: UprobeTarget): Link {
  const binary = resolveBinary(target.binary);
  if (target.offset !== undefined && (!Number.isSafeInteger(target.offset) || target.offset < 0)) {
    throw new InvalidArgumentError('uprobe target: offset', 'a file offset (a non-negative integer)', target.offset);
  }
  if (target.symbol === undefined && target.offset === undefined) {
    throw new InvalidArgumentError('uprobe target', 'a symbol, an offset, or both (offset then counts from the symbol)', target);
  }
  if (target.pid !== undefined && (!Number.isInteger(target.pid) || target.pid <= 0))
    throw new InvalidArgumentError('uprobe target: pid', 'a process id', target.pid);
  if (target.cookie !== undefined && !isU64(target.cookie))
    throw new InvalidArgumentError('uprobe target: cookie', 'an unsigned 64-bit bigint', target.cookie);
  let offset = target.offset ?? 0;
  if (target.symbol !== undefined) offset += symbolOffset(readElf(binary), binary, target.symbol, 'uprobe target: symbol');
  const where = `${binary}${target.symbol ? `:${target.symbol}` : ''}+0x${offset.toString(16)}`;
  const label = `${target.ret ? 'uretprobe' : 'uprobe'} link '${where}' of program '${program.name}'`;
  const pmu = probePmu('uprobe');
  const perfFd = perfEventOpen(
    { type: pmu.type, config: target.ret ? 1n << BigInt(pmu.retprobeBit) : 0n, uprobePath: binary, probeOffset: BigInt(offset) },
    target.pid ?? -1,
    target.pid === undefined ? 0 : -1,
    -1,
    PERF_FLAG_FD_CLOEXEC,
    { subject: label },
  );
  return attachPerfEventFd(program, perfFd, target, label, target.cookie);
}

function readElf(binary: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(binary));
}

/** The file offset of function `symbol` of `binary`, or an error naming it. */
function symbolOffset(elf: Uint8Array, binary: string, symbol: unknown, argument: string): number {
  if (typeof symbol !== 'string' || !symbol) throw new InvalidArgumentError(argument, 'a function name', symbol);
  const found = elfFunctionSymbol(elf, symbol);
  if (!found) throw new InvalidArgumentError(argument, `a function defined in ${binary} (.symtab or .dynsym)`, symbol);
  return found.fileOffset;
}

/** Directories the dynamic loader searches by default, for this machine's architecture. */
function libraryDirs(): string[] {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'x64' ? 'x86_64-linux-gnu' : undefined;
  return [...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []), '/lib64', '/usr/lib64', '/lib', '/usr/lib'];
}

/** LD_LIBRARY_PATH's absolute directories. */
function envLibraryDirs(): string[] {
  return (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.startsWith('/'));
}

/**
 * An absolute path as given; a bare library name (`libc.so.6`) found the
 * way the dynamic loader finds it: LD_LIBRARY_PATH, then /etc/ld.so.cache,
 * then the architecture's and the default library directories.
 *
 * @example
 * resolveBinary('libc.so.6'); // '/lib/x86_64-linux-gnu/libc.so.6'
 */
export function resolveBinary(binary: string): string {
  if (typeof binary !== 'string' || !binary)
    throw new InvalidArgumentError('uprobe target: binary', 'a path or a shared library name', binary);
  if (binary.startsWith('/')) {
    if (!fs.existsSync(binary)) throw new InvalidArgumentError('uprobe target: binary', 'an existing file', binary);
    return binary;
  }
  if (binary.includes('/'))
    throw new InvalidArgumentError('uprobe target: binary', 'an absolute path, or a library name without a directory', binary);
  for (const dir of envLibraryDirs()) {
    const candidate = `${dir}/${binary}`;
    if (fs.existsSync(candidate)) return candidate;
  }
  const cached = ldSoCachePath(binary);
  if (cached !== undefined && fs.existsSync(cached)) return cached;
  for (const dir of libraryDirs()) {
    const candidate = `${dir}/${binary}`;
    if (fs.existsSync(candidate)) return candidate;
  }
  const searched = [...envLibraryDirs(), '/etc/ld.so.cache', ...libraryDirs()];
  throw new InvalidArgumentError('uprobe target: binary', `a library in ${searched.join(', ')}`, binary);
}

/**
 * Several uprobes (or uretprobes with `ret`) in one binary through one
 * uprobe_multi link (6.6): at functions `symbols` (resolved like
 * {@link attachUprobe} does) and file `offsets`, for one process (`pid`)
 * or all, with one cookie per probe (symbols first, then offsets). The
 * program must be a kprobe program loaded with expected attach type
 * BPF_TRACE_UPROBE_MULTI (libbpf's `uprobe.multi`).
 *
 * @throws NotSupportedError on a kernel without uprobe_multi links
 * @example
 * using link = attachUprobeMulti(prog, { kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['malloc', 'free'], cookies: [1n, 2n] });
 */
export function attachUprobeMulti(program: Program, target: UprobeMultiTarget): KernelLink {
  const expected = (program as { expectedAttachType?: number }).expectedAttachType;
  if (expected !== undefined && expected !== AttachType.TRACE_UPROBE_MULTI) {
    throw new InvalidArgumentError(
      `uprobe_multi target: program '${program.name}'`,
      'a kprobe program loaded with expectedAttachType AttachType.TRACE_UPROBE_MULTI (libbpf: SEC("uprobe.multi/…"))',
      `expected attach type ${expected === 0 ? '0 (none)' : attachTypeName(expected)}`,
    );
  }
  const binary = resolveBinary(target.binary);
  const { symbols = [], offsets = [], cookies, pid, ret = false } = target;
  if (!Array.isArray(symbols)) throw new InvalidArgumentError('uprobe_multi target: symbols', 'an array of function names', symbols);
  if (!Array.isArray(offsets)) throw new InvalidArgumentError('uprobe_multi target: offsets', 'an array of file offsets', offsets);
  if (symbols.length + offsets.length === 0) throw new InvalidArgumentError('uprobe_multi target', 'at least one symbol or offset', 'none');
  for (const o of offsets)
    if (!Number.isSafeInteger(o) || o < 0)
      throw new InvalidArgumentError('uprobe_multi target: offsets', 'file offsets (non-negative integers)', o);
  if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0))
    throw new InvalidArgumentError('uprobe_multi target: pid', 'a process id', pid);
  const total = symbols.length + offsets.length;
  if (cookies !== undefined) {
    if (!Array.isArray(cookies) || cookies.length !== total)
      throw new InvalidArgumentError(
        'uprobe_multi target: cookies',
        `one cookie per probe (${total}: symbols first, then offsets)`,
        cookies,
      );
    for (const c of cookies) if (!isU64(c)) throw new InvalidArgumentError('uprobe_multi target: cookies', 'unsigned 64-bit bigints', c);
  }
  const elf = symbols.length > 0 ? readElf(binary) : undefined;
  const fileOffsets = [...symbols.map((s) => symbolOffset(elf!, binary, s, 'uprobe_multi target: symbols')), ...offsets];
  const names = [...symbols, ...offsets.map((o) => `0x${o.toString(16)}`)];
  const label = `${ret ? 'uretprobe' : 'uprobe'}_multi link '${binary}' (${names.join(', ')}) of program '${program.name}'`;
  let fd: number;
  try {
    fd = linkCreate(
      {
        progFd: program.fd,
        attachType: AttachType.TRACE_UPROBE_MULTI,
        uprobeMulti: {
          path: binary,
          offsets: new Uint8Array(BigUint64Array.from(fileOffsets.map(BigInt)).buffer),
          ...(cookies !== undefined ? { cookies: new Uint8Array(BigUint64Array.from(cookies).buffer) } : {}),
          cnt: total,
          flags: ret ? UPROBE_MULTI_RETURN : 0,
          pid: pid ?? 0,
        },
      },
      { subject: label },
    );
  } catch (err) {
    if (err instanceof BpfError) {
      if (err.errno === Errno.EOPNOTSUPP || err.errno === Errno.ENOTSUPP)
        throw new NotSupportedError('the uprobe_multi link', '6.6', 'this kernel is built without CONFIG_UPROBES');
      if (err.errno === Errno.EINVAL && !kernelReleaseAtLeast(os.release(), 6, 6))
        throw new NotSupportedError('the uprobe_multi link', '6.6', `this kernel is ${os.release()}`);
      if (err.errno === Errno.ESRCH && pid !== undefined)
        throw new InvalidArgumentError('uprobe_multi target: pid', 'a running process', pid);
    }
    throw err;
  }
  return new KernelLink(fd, target, label);
}
