/**
 * For the tracing, LSM, iterator and struct_ops tests: the running
 * kernel's BTF (type ids and member offsets the programs are loaded and
 * written against) and hand-assembled programs. Test-only.
 */
import fs from 'node:fs';
import os from 'node:os';
import { BtfKind, parseBtf } from '@bpfkit/elf';
import type { Btf, BtfType } from '@bpfkit/elf';
import { native } from '@bpfkit/syscalls';
import { assemble, countInto, I } from './packet-programs.js';
import type { Item } from './packet-programs.js';

export { I };

let vmlinux: Btf | undefined;

/** /sys/kernel/btf/vmlinux, parsed once (seconds under the QEMU guest). */
export function kernelBtf(): Btf {
  vmlinux ??= parseBtf(new Uint8Array(fs.readFileSync('/sys/kernel/btf/vmlinux')));
  return vmlinux;
}

/** The kernel type `name` of `kind`, which the test cannot do without. */
export function kernelType(name: string, kind: number): BtfType {
  const t = kernelBtf().find(name, kind);
  if (!t) throw new Error(`this kernel's BTF has no ${name} (kind ${kind})`);
  return t;
}

/** The BTF id of kernel function `name` (what fentry, fexit, fmod_ret, LSM and iterator programs load with). */
export const kernelFunc = (name: string): number => kernelType(name, BtfKind.FUNC).id;

/** Byte offset of member `member` (a name, or an index for anonymous unions) of kernel struct `struct`. */
export function memberOffset(struct: string, member: string | number): number {
  const members = kernelType(struct, BtfKind.STRUCT).members ?? [];
  const m = typeof member === 'number' ? members[member] : members.find((x) => x.name === member);
  if (!m) throw new Error(`struct ${struct} of this kernel has no member ${member}`);
  return m.bitOffset / 8;
}

/** Index of member `member` of kernel struct `struct` (a struct_ops program's expected attach type). */
export function memberIndex(struct: string, member: string): number {
  const i = (kernelType(struct, BtfKind.STRUCT).members ?? []).findIndex((x) => x.name === member);
  if (i < 0) throw new Error(`struct ${struct} of this kernel has no member ${member}`);
  return i;
}

/** Why a test filtering on `bpf_get_current_pid_tgid() >> 32 == process.pid` cannot run here, if it cannot. */
export function pidFilterUnavailable(): string | undefined {
  // The init pid namespace's inode is fixed (PROC_PID_INIT_INO); elsewhere process.pid is not the kernel's tgid.
  const ns = fs.readlinkSync('/proc/self/ns/pid');
  return ns === 'pid:[4026531836]'
    ? undefined
    : `this process is in a pid namespace (${ns}), so process.pid is not the tgid the program sees`;
}

/** Why an LSM program would never run here (the bpf LSM is not in the kernel's active list), if so. */
export function bpfLsmInactive(): string | undefined {
  const dir = '/sys/kernel/security';
  const read = () => fs.readFileSync(`${dir}/lsm`, 'utf8').trim();
  let list: string | undefined;
  if (fs.existsSync(`${dir}/lsm`)) list = read();
  else if (fs.existsSync(dir) && native.mount('securityfs', dir, 'securityfs', 0, null) === 0) {
    try {
      list = read();
    } finally {
      native.umount(dir, 0);
    }
  }
  if (list === undefined) return `cannot tell whether the bpf LSM is active: no ${dir}/lsm, and securityfs could not be mounted`;
  return list.split(',').includes('bpf') ? undefined : `the bpf LSM is not active (${dir}/lsm lists ${list}): boot with lsm=…,bpf`;
}

/** `if (bpf_get_current_pid_tgid() >> 32 != pid) goto other`; clobbers r0-r5. */
const unlessPid = (pid: number, other: string): Item[] => [
  I(0x85, { imm: 14 }), // call bpf_get_current_pid_tgid
  I(0x77, { dst: 0, imm: 32 }), // r0 >>= 32
  I(0x55, { dst: 0, imm: pid }, other), // if r0 != pid goto other
];

/** `array[slot] = reg` in the array map `mapFd` (reg one of r6-r9); clobbers r0-r5. */
const storeInto = (mapFd: number, slot: number, reg: number, done: string): Item[] => [
  I(0x18, { dst: 1, src: 1, imm: mapFd }),
  I(0x62, { dst: 10, offset: -4, imm: slot }),
  I(0xbf, { dst: 2, src: 10 }),
  I(0x07, { dst: 2, imm: -4 }),
  I(0x85, { imm: 1 }), // bpf_map_lookup_elem
  I(0x15, { dst: 0 }, done),
  I(0x7b, { dst: 0, src: reg }), // *(u64 *)(r0 + 0) = reg
];

const exit = (value: number): Item[] => [I(0xb7, { dst: 0, imm: value }), I(0x95)];

/** fentry: counts in slot 0, stores `bpf_get_attach_cookie()` in slot 1, returns 0. */
export const fentryProgram = (mapFd: number) =>
  assemble([
    I(0xbf, { dst: 6, src: 1 }), // r6 = ctx
    ...countInto(mapFd, 0, 'counted'),
    'counted',
    I(0xbf, { dst: 1, src: 6 }),
    I(0x85, { imm: 174 }), // call bpf_get_attach_cookie
    I(0xbf, { dst: 7, src: 0 }),
    ...storeInto(mapFd, 1, 7, 'out'),
    'out',
    ...exit(0),
  ]);

/** fexit on a one-argument function: counts in slot 0, stores the function's return value (ctx[1]) in slot 1. */
export const fexitProgram = (mapFd: number) =>
  assemble([
    I(0xbf, { dst: 6, src: 1 }),
    ...countInto(mapFd, 0, 'counted'),
    'counted',
    I(0x79, { dst: 7, src: 6, offset: 8 }), // r7 = ctx[1]: the return value, after the one argument
    ...storeInto(mapFd, 1, 7, 'out'),
    'out',
    ...exit(0),
  ]);

/** fmod_ret: counts in slot 0 and makes the function return `value` without running it. */
export const fmodRetProgram = (mapFd: number, value: number) => assemble([...countInto(mapFd, 0, 'out'), 'out', ...exit(value)]);

/** Counts in slot 0 the runs in process `pid`, returns 0 (tp_btf, perf_event…). */
export const countPidProgram = (mapFd: number, pid: number) =>
  assemble([...unlessPid(pid, 'out'), ...countInto(mapFd, 0, 'out'), 'out', ...exit(0)]);

/** LSM: for process `pid`, counts in slot 0 and denies (-EPERM); allows everyone else. */
export const denyPidProgram = (mapFd: number, pid: number) =>
  assemble([...unlessPid(pid, 'allow'), ...countInto(mapFd, 0, 'deny'), 'deny', ...exit(-1), 'allow', ...exit(0)]);

/**
 * A task iterator writing each task's pid and tgid (two u32s, host order)
 * with bpf_seq_write; offsets from this kernel's BTF.
 */
export function taskIterProgram(): Uint8Array {
  const task = memberOffset('bpf_iter__task', 1); // union { struct task_struct *task; }
  const meta = memberOffset('bpf_iter__task', 0); // union { struct bpf_iter_meta *meta; }
  const seq = memberOffset('bpf_iter_meta', 0); // union { struct seq_file *seq; }
  return assemble([
    I(0xbf, { dst: 6, src: 1 }), // r6 = ctx
    I(0x79, { dst: 7, src: 6, offset: task }), // r7 = ctx->task
    I(0x15, { dst: 7 }, 'out'), // the last call has no task
    I(0x61, { dst: 1, src: 7, offset: memberOffset('task_struct', 'pid') }),
    I(0x63, { dst: 10, src: 1, offset: -8 }),
    I(0x61, { dst: 1, src: 7, offset: memberOffset('task_struct', 'tgid') }),
    I(0x63, { dst: 10, src: 1, offset: -4 }),
    I(0x79, { dst: 1, src: 6, offset: meta }),
    I(0x79, { dst: 1, src: 1, offset: seq }), // r1 = ctx->meta->seq
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -8 }),
    I(0xb7, { dst: 3, imm: 8 }),
    I(0x85, { imm: 127 }), // bpf_seq_write(seq, &rec, 8)
    'out',
    ...exit(0),
  ]);
}

/** "%d\n" and its NUL as the u32 a store writes at r10 - 16 on this machine. */
const FORMAT = new DataView(Uint8Array.of(0x25, 0x64, 0x0a, 0).buffer).getInt32(0, os.endianness() === 'LE');

/** A task iterator printing each task's tgid as a decimal line with bpf_seq_printf (the format on the stack). */
export function taskPrintfProgram(): Uint8Array {
  return assemble([
    I(0xbf, { dst: 6, src: 1 }),
    I(0x79, { dst: 7, src: 6, offset: memberOffset('bpf_iter__task', 1) }),
    I(0x15, { dst: 7 }, 'out'),
    I(0x61, { dst: 1, src: 7, offset: memberOffset('task_struct', 'tgid') }),
    I(0x7b, { dst: 10, src: 1, offset: -8 }), // u64 args[1] = { tgid }
    I(0x62, { dst: 10, offset: -16, imm: FORMAT }), // char fmt[4] = "%d\n"
    I(0x79, { dst: 1, src: 6, offset: memberOffset('bpf_iter__task', 0) }),
    I(0x79, { dst: 1, src: 1, offset: memberOffset('bpf_iter_meta', 0) }),
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -16 }),
    I(0xb7, { dst: 3, imm: 4 }),
    I(0xbf, { dst: 4, src: 10 }),
    I(0x07, { dst: 4, imm: -8 }),
    I(0xb7, { dst: 5, imm: 8 }),
    I(0x85, { imm: 126 }), // bpf_seq_printf(seq, fmt, 4, args, 8)
    'out',
    ...exit(0),
  ]);
}

/** A cgroup iterator writing each cgroup's id (`cgrp->kn->id`, a u64: its directory's inode number) with bpf_seq_write. */
export function cgroupIdIterProgram(): Uint8Array {
  return assemble([
    I(0xbf, { dst: 6, src: 1 }),
    I(0x79, { dst: 7, src: 6, offset: memberOffset('bpf_iter__cgroup', 1) }), // r7 = ctx->cgroup
    I(0x15, { dst: 7 }, 'out'),
    I(0x79, { dst: 1, src: 7, offset: memberOffset('cgroup', 'kn') }),
    I(0x79, { dst: 1, src: 1, offset: memberOffset('kernfs_node', 'id') }),
    I(0x7b, { dst: 10, src: 1, offset: -8 }),
    I(0x79, { dst: 1, src: 6, offset: memberOffset('bpf_iter__cgroup', 0) }),
    I(0x79, { dst: 1, src: 1, offset: memberOffset('bpf_iter_meta', 0) }),
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -8 }),
    I(0xb7, { dst: 3, imm: 8 }),
    I(0x85, { imm: 127 }), // bpf_seq_write(seq, &id, 8)
    'out',
    ...exit(0),
  ]);
}

/** A map element iterator writing each key (`keySize` bytes) with bpf_seq_write. */
export function mapKeysIterProgram(keySize: number): Uint8Array {
  const ctx = 'bpf_iter__bpf_map_elem';
  return assemble([
    I(0xbf, { dst: 6, src: 1 }),
    I(0x79, { dst: 2, src: 6, offset: memberOffset(ctx, 2) }), // r2 = ctx->key (union { void *key; })
    I(0x15, { dst: 2 }, 'out'),
    I(0x79, { dst: 1, src: 6, offset: memberOffset(ctx, 0) }),
    I(0x79, { dst: 1, src: 1, offset: memberOffset('bpf_iter_meta', 0) }),
    I(0xb7, { dst: 3, imm: keySize }),
    I(0x85, { imm: 127 }), // bpf_seq_write(seq, key, keySize)
    'out',
    ...exit(0),
  ]);
}

/** A struct_ops function returning `value` (for tcp_congestion_ops: ssthresh, undo_cwnd; 0 for the void ones). */
export const returnProgram = (value: number) => assemble(exit(value));
