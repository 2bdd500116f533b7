// `pnpm bench events`: bpfkit's event readers against libbpf's consumers.
//
// Drain rows: a SOCKET_FILTER program run COUNT times with BPF_PROG_TEST_RUN's
// repeat fills a buffer with 64-byte records (bpf_ringbuf_output with
// BPF_RB_NO_WAKEUP into an 8 MiB ring buffer, or bpf_perf_event_output into
// the current CPU's 8 MiB perf ring), then the consumer drains it, timed: ns
// per record. bpfkit consumes with `reader.consume(cb)` (the reader from
// `system.openRingBuffer(map)` / `system.openPerfEventArray(map)`), and in a
// second row with the readers' `consumeInPlace(cb)` (no view per record);
// the C baseline (bench/c/events.c) with libbpf's `ring_buffer__consume` /
// `perf_buffer__consume`, in one process serving the rounds (`events serve`:
// no fork between bpfkit's rounds), timed after two untimed ones (which map
// in the pages the consumer reads, past the wrap-around). bpfkit's reader is
// opened once and warmed up by five untimed rounds (the pages, and the JIT).
// Rounds alternate (bpfkit, libbpf, bpfkit, …); the ratio libbpf / bpfkit is
// taken per pair of rounds and the row reports its median and range. Both
// sides run pinned to one CPU (producer and consumer alike), so the records
// land in one perf ring whose pages are mapped in.
//
// End-to-end row: the same producer without BPF_RB_NO_WAKEUP, run as fast
// as it can for E2E_SECONDS into an 8 MiB ring buffer, in rounds that
// alternate bpfkit (a child process, bench/c/events.c `produce`, the
// program's fd inherited as fd 3, while bpfkit's reader consumes through
// `subscribeInPlace` on the event loop) and libbpf (`events e2e`: the same
// producer forked, ring_buffer__poll consuming). The producer runs on one
// CPU and the reader on another (see endToEndRow). The program counts the
// records it could not write (bpf_ringbuf_output failing to reserve room)
// in an array map: the row's `lost` (bpfkit's rounds) and `baselines_lost`.
//
// Knobs: BENCH_EVENTS_COUNT (100000 records a round), BENCH_EVENTS_ROUNDS (9),
// BENCH_EVENTS_E2E_SECONDS (5), BENCH_EVENTS_E2E_ROUNDS (3),
// BENCH_EVENTS_E2E_PIN (1; 0 leaves producer and reader unpinned),
// BENCH_EVENTS_E2E_RT (10: the readers' SCHED_FIFO priority, 0 for the default
// policy), BENCH_EVENTS_E2E_PRODUCER_IDLE (1: the producer under SCHED_IDLE),
// BENCH_EVENTS_CPU (0: the reader's CPU), BENCH_EVENTS_ONLY
// (comma list of ringbuf,perfbuf,e2e).
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import { MapType, ProgramType, u32, u64 } from '@bpfkit/core';
import { bpfAccess, native, possibleCpus, progLoad, progTestRun } from '@bpfkit/syscalls';
import { NativeSystem } from 'bpfkit';
import { compileC, ensureDebianPackage, median, report } from '../lib/harness.mjs';
import fs from 'node:fs';

const COUNT = Number(process.env.BENCH_EVENTS_COUNT ?? 100_000);
const ROUNDS = Number(process.env.BENCH_EVENTS_ROUNDS ?? 9);
const E2E_SECONDS = Number(process.env.BENCH_EVENTS_E2E_SECONDS ?? 5);
const E2E_ROUNDS = Number(process.env.BENCH_EVENTS_E2E_ROUNDS ?? 3);
const E2E_PIN = process.env.BENCH_EVENTS_E2E_PIN !== '0';
const E2E_RT = Number(process.env.BENCH_EVENTS_E2E_RT ?? 10);
const E2E_PRODUCER_IDLE = process.env.BENCH_EVENTS_E2E_PRODUCER_IDLE !== '0';
const CPU = Number(process.env.BENCH_EVENTS_CPU ?? 0);
const ONLY = new Set((process.env.BENCH_EVENTS_ONLY ?? 'ringbuf,perfbuf,e2e').split(',').map((s) => s.trim()));
const RECORD = 64;
const RING_BYTES = 8 << 20;
const PERF_PAGES = 2048; // 8 MiB a CPU with 4 KiB pages
const E2E_REPEAT = 10_000;
const WARMUP_ROUNDS = 5;
/** From the issue: at least this fraction of libbpf's speed. */
const TARGET = 0.3;

const BPF_RB_NO_WAKEUP = 1;
const FUNC_MAP_LOOKUP_ELEM = 1;
const FUNC_PERF_EVENT_OUTPUT = 25;
const FUNC_RINGBUF_OUTPUT = 130;

export async function run() {
  const access = bpfAccess();
  if (!access.available) throw new Error(`bench events needs bpf(): ${access.reason}`);
  if (!Number.isInteger(COUNT) || COUNT < 1 || COUNT * 80 > RING_BYTES)
    throw new Error(`BENCH_EVENTS_COUNT must be 1..${Math.floor(RING_BYTES / 80)} (the records fill one 8 MiB buffer)`);
  ensureDebianPackage('libbpf-dev', () => fs.existsSync('/usr/include/bpf/libbpf.h'));
  const bin = compileC('events', { flags: ['-lbpf'] });
  const started = Date.now();
  const system = new NativeSystem();
  const rows = [];
  const notes = [];
  const restoreAffinity = pinTo(CPU, notes);
  try {
    if (ONLY.has('ringbuf')) rows.push(...(await drainRow(system, bin, 'ringbuf')));
    if (ONLY.has('perfbuf')) rows.push(...(await drainRow(system, bin, 'perfbuf')));
  } finally {
    restoreAffinity();
  }
  if (ONLY.has('e2e')) rows.push(await endToEndRow(system, bin, notes));
  system.close();

  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const took = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `\n${COUNT} records of ${RECORD} bytes a round, ${ROUNDS} rounds each (bpfkit and libbpf interleaved, pinned to CPU ${CPU}); ratio = libbpf / bpfkit per round, median [min–max]; ${took} s; load average ${load} on ${os.cpus().length} CPUs`,
  );
  report('events', rows.filter(Boolean), { unit: 'ns/record' });
  for (const note of notes) console.log(`note: ${note}`);
  const misses = rows
    .filter((r) => r?.ratio !== undefined && r.ratio < TARGET)
    .map((r) => `${r.op}: ${r.ratio.toFixed(2)}x libbpf (target ${TARGET}x)`);
  for (const r of rows) if (r?.lost) misses.push(`${r.op}: lost ${r.lost} records (libbpf lost ${r.baselines_lost?.libbpf ?? '?'})`);
  console.log(misses.length ? `below target:\n  ${misses.join('\n  ')}` : 'every row meets its target');
}

/** Pins the main thread to `cpu` (taskset); returns the undo. */
function pinTo(cpu, notes) {
  const all = `0-${os.cpus().length - 1}`;
  try {
    execFileSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return () => execFileSync('taskset', ['-pc', all, String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    notes.push(`could not pin to CPU ${cpu} (${err.message.split('\n')[0]}): perf rows may pay page faults when the thread moves`);
    return () => {};
  }
}

/** Pins every thread of this process but the main one to `cpu` (taskset); returns the undo. */
function pinOtherThreads(cpu) {
  const all = `0-${os.cpus().length - 1}`;
  const others = fs.readdirSync('/proc/self/task').filter((tid) => tid !== String(process.pid));
  const set = (list, tid) => {
    try {
      execFileSync('taskset', ['-pc', list, tid], { stdio: 'ignore' });
    } catch {
      // A thread that exited meanwhile.
    }
  };
  for (const tid of others) set(String(cpu), tid);
  return () => {
    for (const tid of others) set(all, tid);
  };
}

// ------------------------------------------------------------ programs ---

/** Encodes one `struct bpf_insn` (little endian). */
function insn(code, dst, src, off, imm) {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, code);
  v.setUint8(1, (src << 4) | dst);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return b;
}
const ldMapFd = (dst, fd) => [insn(0x18, dst, 1, 0, fd), insn(0, 0, 0, 0, 0)];

/** The producer of bench/c/events.c, instruction for instruction. */
function loadProducer(kind, mapFd, lostFd, rbFlags) {
  const p = [insn(0xbf, 6, 1, 0, 0), insn(0xb7, 7, 0, 0, 0x5a)];
  for (let i = 1; i <= RECORD / 8; i++) p.push(insn(0x7b, 10, 7, -8 * i, 0));
  if (kind === 'ringbuf') {
    p.push(...ldMapFd(1, mapFd), insn(0xbf, 2, 10, 0, 0), insn(0x07, 2, 0, 0, -RECORD), insn(0xb7, 3, 0, 0, RECORD));
    p.push(insn(0xb7, 4, 0, 0, rbFlags), insn(0x85, 0, 0, 0, FUNC_RINGBUF_OUTPUT));
  } else {
    p.push(insn(0xbf, 1, 6, 0, 0), ...ldMapFd(2, mapFd), insn(0xb4, 3, 0, 0, -1)); // 32-bit mov: BPF_F_CURRENT_CPU
    p.push(insn(0xbf, 4, 10, 0, 0), insn(0x07, 4, 0, 0, -RECORD), insn(0xb7, 5, 0, 0, RECORD));
    p.push(insn(0x85, 0, 0, 0, FUNC_PERF_EVENT_OUTPUT));
  }
  p.push(insn(0x15, 0, 0, 9, 0), insn(0x62, 10, 0, -72, 0), ...ldMapFd(1, lostFd));
  p.push(insn(0xbf, 2, 10, 0, 0), insn(0x07, 2, 0, 0, -72), insn(0x85, 0, 0, 0, FUNC_MAP_LOOKUP_ELEM));
  p.push(insn(0x15, 0, 0, 2, 0), insn(0xb7, 1, 0, 0, 1), insn(0xdb, 0, 1, 0, 0));
  p.push(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));
  const insns = new Uint8Array(p.length * 8);
  for (const [i, b] of p.entries()) insns.set(b, i * 8);
  return progLoad({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL', progName: 'bench_events' }, new Uint8Array(65536));
}

const PACKET = new Uint8Array(64);

/** The maps and program of one kind; `close()` releases them. */
function producer(system, kind, rbFlags) {
  const made = [];
  try {
    const lost = system.createMap(
      { name: 'bench_lost', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 },
      { key: u32, value: u64 },
    );
    made.push(lost);
    const map =
      kind === 'ringbuf'
        ? system.createMap({ name: 'bench_rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: RING_BYTES })
        : system.createMap({ name: 'bench_perf', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: possibleCpus() });
    made.push(map);
    const progFd = loadProducer(kind, map.fd, lost.fd, rbFlags);
    return {
      map,
      progFd,
      lost: () => lost.lookup(0) ?? 0n,
      fill(n) {
        progTestRun({ progFd, dataIn: PACKET, repeat: n });
      },
      close() {
        native.close(progFd);
        for (const m of made) m.close();
      },
    };
  } catch (err) {
    for (const m of made) m.close();
    throw err;
  }
}

// ---------------------------------------------------------- the readers ---

/** bpfkit's reader of the map, through the public API. */
function openReader(system, kind, map) {
  return kind === 'ringbuf' ? system.openRingBuffer(map) : system.openPerfEventArray(map, { pagesPerCpu: PERF_PAGES });
}

// ---------------------------------------------------------- drain rows ---

async function drainRow(system, bin, kind) {
  const prod = producer(system, kind, kind === 'ringbuf' ? BPF_RB_NO_WAKEUP : 0);
  let reader;
  let libbpf;
  try {
    // libbpf's side first: its process starts (a fork) before bpfkit warms up.
    libbpf = await startLibbpf(bin, kind);
    reader = openReader(system, kind, prod.map);
    let seen = 0;
    let bad = 0;
    const onRecord = (record) => {
      seen++;
      if (record.length < RECORD || record[0] !== 0x5a) bad++;
    };
    // The ring buffer reader's own faster drain, where it has one: no view per
    // record, the data area with each record's offset and length.
    const onInPlace = (data, offset, length) => {
      seen++;
      if (length < RECORD || data[offset] !== 0x5a) bad++;
    };
    const inPlace = typeof reader.consumeInPlace === 'function';
    const round = (how) => {
      prod.fill(COUNT);
      if (prod.lost() !== 0n) throw new Error(`bench events: ${kind}: the producer failed to write records`);
      seen = 0;
      const start = process.hrtime.bigint();
      if (how === 'inPlace') reader.consumeInPlace(onInPlace);
      else reader.consume(onRecord);
      const ns = Number(process.hrtime.bigint() - start);
      if (seen !== COUNT || bad) throw new Error(`bench events: ${kind}: ${how} read ${seen} of ${COUNT} records (${bad} bad)`);
      return ns / COUNT;
    };
    // Warm-up, untimed: the pages of the buffer (two rounds reach past the
    // wrap-around, as in the C baseline) and the JIT (the reader's loop is
    // optimized after about three rounds here).
    for (let r = 0; r < WARMUP_ROUNDS; r++) {
      round('consume');
      if (inPlace) round('inPlace');
    }
    const kit = [];
    const kitInPlace = [];
    const lib = [];
    for (let r = 0; r < ROUNDS; r++) {
      kit.push(round('consume'));
      lib.push(await libbpf.round());
      if (inPlace) kitInPlace.push(round('inPlace'));
    }
    const name = kind === 'ringbuf' ? 'ring buffer' : 'perf buffer';
    const rows = [row(`${name} drain, consume(cb) (64-byte records)`, kit, lib)];
    if (inPlace) rows.push(row(`${name} drain, consumeInPlace(cb) (no view per record)`, kitInPlace, lib));
    return rows;
  } finally {
    libbpf?.close();
    reader?.close();
    prod.close();
  }
}

/** A drain row: medians, and the ratio libbpf / bpfkit of each round with the libbpf round next to it. */
function row(op, kit, lib) {
  const ratios = kit.map((k, i) => lib[i] / k);
  return {
    op,
    unit: 'ns/record',
    bpfkit: median(kit),
    baselines: { libbpf: median(lib) },
    ratio: median(ratios),
    ratio_min: Math.min(...ratios),
    ratio_max: Math.max(...ratios),
  };
}

/**
 * The C baseline as one process serving rounds (`events serve`): a line on
 * its stdin runs a timed round, it answers `<kind> <ns per record>`. One
 * process for all rounds, because a fork between bpfkit's rounds would
 * write-protect node's memory and the next drain's allocations would pay
 * the page faults (about 20 ns a record here).
 */
async function startLibbpf(bin, kind) {
  const child = spawn(bin, ['serve', kind, COUNT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiting = [];
  let buffered = '';
  let ended;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  child.on('error', (err) => {
    ended = err;
    for (const w of waiting.splice(0)) w.reject(err);
  });
  child.on('exit', (code) => {
    ended = new Error(`bench events: ${bin} serve ${kind} exited with ${code}`);
    for (const w of waiting.splice(0)) w.reject(ended);
  });
  const next = () =>
    lines.length
      ? Promise.resolve(lines.shift())
      : ended
        ? Promise.reject(ended)
        : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const ready = await next();
  if (ready !== 'ready') throw new Error(`bench events: unexpected output of ${bin}: ${ready}`);
  return {
    async round() {
      child.stdin.write('r\n');
      const line = await next();
      const [op, ns] = line.trim().split(/\s+/);
      if (op !== kind || !Number.isFinite(Number(ns))) throw new Error(`bench events: unexpected output of ${bin}: ${line}`);
      return Number(ns);
    },
    close() {
      child.stdin.end();
    },
  };
}

// ---------------------------------------------------------- end to end ---

/** CPUs of the end-to-end rounds: the reader's (BENCH_EVENTS_CPU) and another for the producer, or none. */
function e2eCpus() {
  const cpus = os.cpus().length;
  if (!E2E_PIN || cpus < 2) return { reader: -1, producer: -1 };
  return { reader: CPU, producer: (CPU + 1) % cpus };
}

/** One bpfkit round: a fresh ring buffer and producer; the reader subscribes in place while the producer runs. */
async function bpfkitEndToEnd(system, bin, cpus) {
  const prod = producer(system, 'ringbuf', 0);
  let reader;
  const restore = cpus.reader >= 0 ? pinTo(cpus.reader, []) : () => {};
  // Node's other threads (V8's GC and compiler workers, libuv's pool) off the reader's CPU: libbpf's
  // consumer is one thread, and so has its CPU to itself.
  const unpinOthers = cpus.reader >= 0 ? pinOtherThreads(cpus.producer) : () => {};
  const unrealtime = realtime(E2E_RT);
  try {
    reader = openReader(system, 'ringbuf', prod.map);
    let received = 0;
    let bad = 0;
    // subscribeInPlace hands each record as (buffer, offset, length) without a view: the way a
    // reader keeps up with a producer this fast (a view costs ~20 ns a record on Node 20).
    const onRecord = (data, offset, length) => {
      received++;
      if (length !== RECORD || data[offset] !== 0x5a) bad++;
    };
    const unsubscribe = reader.subscribeInPlace(onRecord);
    const start = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const mainBefore = mainThreadTicks();
    const child = spawn(bin, ['produce', E2E_SECONDS, E2E_REPEAT, cpus.producer, E2E_PRODUCER_IDLE ? 1 : 0], {
      stdio: ['ignore', 'pipe', 'inherit', prod.progFd],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    unsubscribe();
    reader.consumeInPlace(onRecord); // what is left
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    if (code !== 0) throw new Error(`bench events: the producer exited with ${code}`);
    if (bad) throw new Error(`bench events: end to end: ${bad} bad records`);
    const runs = Number(/runs (\d+)/.exec(out)?.[1] ?? Number.NaN);
    const lost = Number(prod.lost());
    if (runs !== received + lost) throw new Error(`bench events: end to end: ${runs} runs, but ${received} received + ${lost} lost`);
    const busy = (cpu.user + cpu.system) / 1e6 / seconds;
    const mainBusy = (mainThreadTicks() - mainBefore) / 100 / seconds;
    return { rate: received / seconds, lost, received, wakeups: reader.stats().wakeups, busy, mainBusy };
  } finally {
    unrealtime();
    unpinOthers();
    restore();
    reader?.close();
    prod.close();
  }
}

/**
 * Runs the main thread (the reader's) under SCHED_FIFO at `priority` (chrt),
 * with SCHED_RESET_ON_FORK so the producer it spawns runs under the default
 * policy; returns the undo. 0: leaves the policy.
 */
function realtime(priority) {
  if (!(priority > 0)) return () => {};
  execFileSync('chrt', ['--reset-on-fork', '-f', '-p', String(priority), String(process.pid)], { stdio: 'ignore' });
  return () => execFileSync('chrt', ['-o', '-p', '0', String(process.pid)], { stdio: 'ignore' });
}

/** CPU time of the main thread (the reader's), in clock ticks (/proc/self/task/<pid>/stat utime + stime). */
function mainThreadTicks() {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** One libbpf round: bench/c/events.c `e2e`, the same producer and ring_buffer__poll, pinned and prioritised alike. */
function libbpfEndToEnd(bin, cpus) {
  const out = execFileSync(
    bin,
    ['e2e', E2E_SECONDS, E2E_REPEAT, cpus.producer, cpus.reader, Math.max(0, E2E_RT) || 0, E2E_PRODUCER_IDLE ? 1 : 0],
    {
      encoding: 'utf8',
    },
  );
  const m = /received (\d+) lost (\d+) runs (\d+) seconds ([\d.]+) wakeups (\d+) cpu ([\d.]+)/.exec(out);
  if (!m) throw new Error(`bench events: unexpected output of ${bin} e2e: ${out}`);
  const [received, lost, runs, seconds, wakeups, cpu] = m.slice(1).map(Number);
  if (runs !== received + lost) throw new Error(`bench events: libbpf end to end: ${runs} runs, but ${received} received + ${lost} lost`);
  return { rate: received / seconds, lost, received, wakeups, busy: cpu / seconds };
}

/**
 * The end-to-end row: E2E_ROUNDS rounds of each side, interleaved (bpfkit,
 * libbpf, …), each E2E_SECONDS long. The producer runs on one CPU, the
 * reader's thread on another, as the kernel's own ring buffer benchmark
 * places them (selftests/bpf/bench --prod-affinity/--cons-affinity): on 2
 * CPUs, a producer that lands on the reader's CPU delays its wake-ups by a
 * scheduler tick (4 ms here). The rate is the producer's, and the reader's
 * wake-ups pace it: the kernel wakes a reader that has caught up, at the
 * producer's expense (an irq_work per wake-up), so a producer that is not
 * waking anyone writes up to ~29M records/s, 8 MiB in 4 ms. Any stall of
 * the reader that long loses records whatever the reader: on these machines
 * the host's agent (a nice -10 thread) and kdamond take a CPU for 3-5 ms
 * about once a second (seen with `perf record -e sched:sched_switch`),
 * which is why libbpf's rounds are reported beside bpfkit's, losses
 * included. So the producer runs under SCHED_IDLE (E2E_PRODUCER_IDLE): a
 * CPU running only it counts as idle, and the scheduler sends those
 * threads there rather than to the reader's CPU; Node's other threads (GC
 * and compiler workers) are pinned there too, so the reader's CPU is the
 * main thread's, as libbpf's one-threaded consumer has its own. A reader
 * under SCHED_FIFO (E2E_RT) cannot be preempted by them, but is throttled
 * once it takes 95% of a CPU within a second (kernel.sched_rt_runtime_us
 * 950000 of 1000000), for the rest of that second: 50 ms, which loses
 * records just the same. Each wake-up costs a reader 5-6 µs here (a
 * paravirtualised guest: mostly epoll_pwait and the context switch), and a
 * reader that catches up makes the producer wake it again. bpfkit's reader
 * once settled at 75-96% of its CPU, and SCHED_FIFO throttled it; its
 * subscriptions are now moderated (a wake-up that drains a sixteenth of the
 * buffer pauses the wakers for as long as a quarter takes to fill, at most
 * 2 ms: EventReaderCore.moderationDelayMs), it runs at 40-75% (its main
 * thread's time, from /proc, is in the notes), libbpf's at 60-70%, so both
 * readers run under SCHED_FIFO 10 by default: neither is preempted by the
 * machine's other work, neither is throttled. The ratio is bpfkit / libbpf
 * per pair of rounds.
 */
async function endToEndRow(system, bin, notes) {
  const cpus = e2eCpus();
  const kit = [];
  const lib = [];
  for (let r = 0; r < E2E_ROUNDS; r++) {
    kit.push(await bpfkitEndToEnd(system, bin, cpus));
    lib.push(libbpfEndToEnd(bin, cpus));
  }
  const ratios = kit.map((k, i) => k.rate / lib[i].rate);
  const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
  const pinned = cpus.reader >= 0 ? `reader on CPU ${cpus.reader}, producer on CPU ${cpus.producer}` : 'not pinned';
  const policies = [E2E_RT > 0 ? `reader SCHED_FIFO ${E2E_RT}` : undefined, E2E_PRODUCER_IDLE ? 'producer SCHED_IDLE' : undefined].filter(
    Boolean,
  );
  const placement = [pinned, ...policies].join(', ');
  notes.push(
    `end to end (${placement}): bpfkit rounds ${kit.map((k) => `${(k.rate / 1e6).toFixed(2)}M/s lost ${k.lost} (${k.wakeups} wake-ups, node busy ${(k.busy * 100).toFixed(0)}%, main thread ${(k.mainBusy * 100).toFixed(0)}%)`).join(', ')}; ` +
      `libbpf rounds ${lib.map((l) => `${(l.rate / 1e6).toFixed(2)}M/s lost ${l.lost} (${l.wakeups} wake-ups, busy ${(l.busy * 100).toFixed(0)}%)`).join(', ')}`,
  );
  return {
    op: `end to end, ${E2E_SECONDS} s into an 8 MiB ring buffer (subscribeInPlace; ${placement})`,
    unit: 'records/s',
    bpfkit: median(kit.map((k) => k.rate)),
    baselines: { libbpf: median(lib.map((l) => l.rate)) },
    ratio: median(ratios),
    ratio_min: Math.min(...ratios),
    ratio_max: Math.max(...ratios),
    lost: sum(kit, (k) => k.lost),
    records: sum(kit, (k) => k.received),
    baselines_lost: { libbpf: sum(lib, (l) => l.lost) },
  };
}
