/**
 * uprobes and uretprobes: one probe through the uprobe PMU, or many through
 * an uprobe_multi link.
 *
 * @module
 */
import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import type { Program, UprobeMultiTarget, UprobeTarget } from '@bpfkit/core';
import { elfFunctionSymbol } from '@bpfkit/elf';
import { PERF_FLAG_FD_CLOEXEC, perfEventOpen } from '@bpfkit/syscalls';
import type { KernelLink } from '../link.js';
import { notBuiltYet } from './not-built.js';
import { linkPerfEvent, probePmu } from './perf-link.js';

/**
 * A uprobe (or uretprobe with `ret`) on `symbol` (from `.symtab` or
 * `.dynsym`, PIE and shared objects mapped through their program headers)
 * plus `offset`, or at a file offset: a uprobe PMU perf event (4.17) linked
 * with BPF_LINK_CREATE (5.15), for one process (`pid`) or all (then on CPU
 * 0, as the kernel requires one of them).
 */
export function attachUprobe(program: Program, target: UprobeTarget): KernelLink {
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
  return linkPerfEvent(program, perfFd, target, label, target.cookie);
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
export function resolveBinary(binary: string): string {
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

/** Several uprobes in one binary through one uprobe_multi link (6.6). */
export function attachUprobeMulti(_program: Program, target: UprobeMultiTarget): KernelLink {
  return notBuiltYet(target.kind);
}
