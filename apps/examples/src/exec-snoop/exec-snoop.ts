/**
 * exec-snoop: prints pid, parent pid, comm and file name of every exec, from
 * two tracepoints (sched_process_fork, sched_process_exec) and a ring buffer
 * (bpf/exec_snoop.bpf.c), records decoded through the object's own
 * `struct event`, through the skeleton `bpfkit gen types` made of the object
 * (src/skeletons/exec-snoop.ts).
 *
 * On the kernel it watches the whole machine; with `--mock` the same
 * program runs in the mock's BPF virtual machine, and the example plays a
 * few forks and execs into the tracepoints itself.
 *
 *   node apps/examples/dist/exec-snoop/main.js [--mock] [--json] [--seconds N]
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MockSystem, openSystem } from 'bpfkit';
import type { System } from 'bpfkit';
import { ExecSnoopRecords, loadExecSnoop } from '../skeletons/exec-snoop.js';
import { tracepointFormat } from '../tracefs.js';

/** One exec, as the program reports it. */
export interface ExecEvent {
  pid: number;
  ppid: number;
  comm: string;
  filename: string;
}

/** Options of {@link runExecSnoop}. */
export interface ExecSnoopOptions {
  backend?: 'auto' | 'kernel' | 'mock';
  /** JSON lines instead of a table. */
  json?: boolean;
  /** Stops after this long (default: until `signal` aborts). */
  durationMs?: number;
  signal?: AbortSignal;
  /** Where lines go (default: stdout). */
  log?: (line: string) => void;
  /** Called with every event, after it is printed (tests watch for theirs). */
  onEvent?: (event: ExecEvent) => void;
  /** Called once the programs are attached (tests start their execs then). */
  onReady?: (system: System) => void;
}

const OBJECT = fileURLToPath(new URL('../../bpf/exec_snoop.bpf.o', import.meta.url));

/**
 * Whether this kernel's sched_process_fork record holds its comms inline
 * (`char parent_comm[16]`, older kernels) rather than as `__data_loc`
 * strings: read from the tracepoint's format file, or, without tracefs,
 * from the kernel's BTF of the record.
 */
export function forkCommsInline(system: System): boolean {
  if (system.kind === 'mock') return false; // the mock plays 6.18's layout (see playActivity)
  const format = tracepointFormat('sched', 'sched_process_fork');
  if (format !== undefined) return /\bchar parent_comm\[16\]/.test(format);
  try {
    const btf = fs.readFileSync('/sys/kernel/btf/vmlinux');
    // `__data_loc_parent_comm` is the member of the data_loc layout in `struct trace_event_raw_sched_process_fork`.
    return !btf.includes('__data_loc_parent_comm');
  } catch {
    return false;
  }
}

/**
 * Runs exec-snoop until `durationMs` passes or `signal` aborts.
 *
 * @example
 * await runExecSnoop({ backend: 'mock', durationMs: 1000 });
 */
export async function runExecSnoop(options: ExecSnoopOptions = {}): Promise<ExecEvent[]> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  using system = await openSystem({ backend: options.backend ?? 'auto' });
  // The generated skeleton (src/skeletons/exec-snoop.ts): typed constants, maps, programs and record codec.
  using skel = loadExecSnoop(system, OBJECT, { constants: { fork_comm_inline: forkCommsInline(system) ? 1 : 0 } });
  using _fork = skel.programs.on_fork.attach({ kind: 'tracepoint', group: 'sched', name: 'sched_process_fork' });
  using _exec = skel.programs.on_exec.attach({ kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' });
  using reader = system.openRingBuffer(skel.maps.events, { codec: ExecSnoopRecords.events });

  if (!options.json) log(`${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'COMM'.padEnd(16)} FILENAME`);
  const seen: ExecEvent[] = [];
  const print = (record: ExecEvent) => {
    // A process forked before the example started has no parent in the map: ask /proc.
    const ppid = record.ppid || (system.kind === 'kernel' ? parentFromProc(record.pid) : 0);
    const e: ExecEvent = { pid: record.pid, ppid, comm: record.comm, filename: record.filename };
    seen.push(e);
    log(options.json ? JSON.stringify(e) : `${String(e.pid).padStart(7)} ${String(e.ppid).padStart(7)} ${e.comm.padEnd(16)} ${e.filename}`);
    options.onEvent?.(e);
  };
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = options.durationMs === undefined ? undefined : setTimeout(onAbort, options.durationMs);
  try {
    const unsubscribe = reader.subscribe(print);
    options.onReady?.(system);
    if (system instanceof MockSystem) playActivity(system);
    if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    unsubscribe();
    reader.consume(print); // what arrived after the last wake-up
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  return seen;
}

/** The parent of a process from /proc/<pid>/stat (0 once it has exited). */
function parentFromProc(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The comm field may hold spaces and parentheses: the fields after it follow the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/** The processes the mock run plays: a shell that forks and execs a few programs. */
const PLAYED = [
  { parent: 4100, child: 4101, comm: 'ls', filename: '/usr/bin/ls' },
  { parent: 4100, child: 4102, comm: 'cat', filename: '/usr/bin/cat' },
  { parent: 4102, child: 4103, comm: 'grep', filename: '/usr/bin/grep' },
];

/**
 * Fires the tracepoints as the kernel would for the processes of PLAYED:
 * the records laid out as 6.18's format files say (`__data_loc` strings
 * after the fixed fields), the exec'ing task's comm in the environment.
 */
export function playActivity(mock: MockSystem): void {
  for (const p of PLAYED) {
    mock.fire({ kind: 'tracepoint', group: 'sched', name: 'sched_process_fork' }, forkRecord(p.parent, p.child));
    mock.environment.comm = p.comm;
    mock.environment.pid = mock.environment.tgid = p.child;
    mock.fire({ kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' }, execRecord(p.child, p.filename));
  }
}

/** A `__data_loc` field: offset in the low 16 bits, length in the high. */
const dataLoc = (offset: number, length: number) => ((length << 16) | offset) >>> 0;

function forkRecord(parent: number, child: number): Uint8Array {
  const strings = new TextEncoder().encode('sh\0sh\0');
  const bytes = new Uint8Array(24 + strings.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, dataLoc(24, 3), true);
  view.setInt32(12, parent, true);
  view.setUint32(16, dataLoc(27, 3), true);
  view.setInt32(20, child, true);
  bytes.set(strings, 24);
  return bytes;
}

function execRecord(pid: number, filename: string): Uint8Array {
  const name = new TextEncoder().encode(`${filename}\0`);
  const bytes = new Uint8Array(20 + name.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, dataLoc(20, name.length), true);
  view.setInt32(12, pid, true);
  view.setInt32(16, pid, true);
  bytes.set(name, 20);
  return bytes;
}
