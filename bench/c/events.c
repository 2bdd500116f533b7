// Baseline for `pnpm bench events`: libbpf's consumers draining buffers the
// kernel filled.
//
//   events ringbuf <count> <rounds>   ring_buffer__consume on a RINGBUF map
//   events perfbuf <count> <rounds>   perf_buffer__consume on a PERF_EVENT_ARRAY
//   events serve ringbuf|perfbuf <count>  the same, one round per line read
//                                     on stdin (see serve())
//   events produce <seconds> <repeat> [cpu] [idle]  the end-to-end producer:
//                                     runs the program whose fd is 3
//                                     (inherited) with BPF_PROG_TEST_RUN,
//                                     `repeat` runs a call, for `seconds`
//                                     (pinned to `cpu`; under SCHED_IDLE
//                                     when `idle` is 1); prints "runs <n>"
//   events e2e <seconds> <repeat> <producer cpu> <consumer cpu> [rt priority] [idle]
//                                     the end-to-end baseline: the same
//                                     producer in a child process, libbpf's
//                                     ring_buffer__poll consuming (under
//                                     SCHED_FIFO at that priority when it is
//                                     above 0; the producer under SCHED_IDLE
//                                     when `idle` is 1); prints
//                                     "received <n> lost <n> runs <n> seconds <s>"
//                                     (a cpu of -1: not pinned)
//
// A round: a SOCKET_FILTER program (hand-assembled below) is run `count`
// times with BPF_PROG_TEST_RUN's repeat; each run writes one 64-byte record
// (bpf_ringbuf_output with BPF_RB_NO_WAKEUP, or bpf_perf_event_output to the
// current CPU) and counts failed writes in an array map. Then the buffer is
// drained with libbpf's consume call, timed. The buffer and consumer are
// made once; an untimed first round maps in the pages the consumer reads
// (twice, past the wrap-around; else page faults dominate). Prints "<mode> <ns per record>" per round.
// The JavaScript side (bench/suites/events.mjs) assembles the same program.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

#define RECORD 64
#define RING_BYTES (8u << 20)
#define PERF_PAGES 2048 /* per CPU: 8 MiB with 4 KiB pages */

static struct bpf_insn prog[64];
static int n_insns;

static void emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  prog[n_insns++] = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static void emit_map_fd(uint8_t dst, int fd) {
  emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
  emit(0, 0, 0, 0, 0);
}

static void die(const char *what, int err) {
  fprintf(stderr, "events: %s: %s\n", what, strerror(err < 0 ? -err : err));
  exit(1);
}

/*
 * The producer: one 64-byte record per run (from the stack), failed writes
 * counted in lost[0]:
 *   r6 = ctx; 8 x *(u64 *)(r10 - 8i) = 0x5a
 *   ringbuf: r0 = bpf_ringbuf_output(map, r10 - 64, 64, flags)
 *   perf:    r0 = bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, r10 - 64, 64)
 *   if r0 != 0: v = lookup(lost, 0); if v: lock *v += 1
 *   return 0
 */
static int load_producer(int ringbuf, int map_fd, int lost_fd, int rb_flags) {
  n_insns = 0;
  emit(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
  emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 0x5a);
  for (int i = 1; i <= RECORD / 8; i++) emit(BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_7, -8 * i, 0);
  if (ringbuf) {
    emit_map_fd(BPF_REG_1, map_fd);
    emit(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
    emit(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -RECORD);
    emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, RECORD);
    emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, rb_flags);
    emit(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output);
  } else {
    emit(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
    emit_map_fd(BPF_REG_2, map_fd);
    emit(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, -1); /* 32-bit: 0xffffffff, no ctx bytes */
    emit(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0);
    emit(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -RECORD);
    emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, RECORD);
    emit(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_output);
  }
  emit(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 9, 0); /* written: to the exit */
  emit(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -72, 0);
  emit_map_fd(BPF_REG_1, lost_fd);
  emit(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  emit(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -72);
  emit(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
  emit(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0);
  emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1);
  emit(BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_0, BPF_REG_1, 0, BPF_ADD);
  emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

  static char log[65536];
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
  int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bench_events", "GPL", prog, n_insns, &opts);
  if (fd < 0) {
    fprintf(stderr, "%s\n", log);
    die("bpf_prog_load", fd);
  }
  return fd;
}

/* Runs the program `repeat` times on a 64-byte packet. */
static void test_run(int prog_fd, unsigned repeat) {
  static unsigned char pkt[64];
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = repeat);
  int err = bpf_prog_test_run_opts(prog_fd, &opts);
  if (err) die("bpf_prog_test_run_opts", err);
}

static uint64_t lost_count(int lost_fd) {
  uint32_t key = 0;
  uint64_t v = 0;
  int err = bpf_map_lookup_elem(lost_fd, &key, &v);
  if (err) die("lookup lost", err);
  return v;
}

static long seen;

static int on_ring_record(void *ctx, void *data, size_t size) {
  (void)ctx;
  if (size != RECORD || ((unsigned char *)data)[0] != 0x5a) {
    fprintf(stderr, "events: bad ring record (%zu bytes)\n", size);
    exit(1);
  }
  seen++;
  return 0;
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size) {
  (void)ctx;
  (void)cpu;
  if (size < RECORD || ((unsigned char *)data)[0] != 0x5a) {
    fprintf(stderr, "events: bad perf sample (%u bytes)\n", size);
    exit(1);
  }
  seen++;
}

static void on_perf_lost(void *ctx, int cpu, __u64 n) {
  (void)ctx;
  fprintf(stderr, "events: %llu samples lost on cpu %d\n", (unsigned long long)n, cpu);
  exit(1);
}

/*
 * The maps, the program and libbpf's consumer are made once per process; the
 * first round (untimed) also maps in the pages the consumer reads, so the
 * timed rounds measure the consumer, not page faults.
 */
static int lost_fd, map_fd, prog_fd;
static struct ring_buffer *rb;
static struct perf_buffer *pb;

static void setup(int ring, int rb_flags) {
  lost_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_lost", 4, 8, 1, NULL);
  if (lost_fd < 0) die("create lost map", lost_fd);
  if (ring) {
    map_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bench_rb", 0, 0, RING_BYTES, NULL);
    if (map_fd < 0) die("create ringbuf", map_fd);
    prog_fd = load_producer(1, map_fd, lost_fd, rb_flags);
    rb = ring_buffer__new(map_fd, on_ring_record, NULL, NULL);
    if (!rb) die("ring_buffer__new", errno);
  } else {
    map_fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "bench_perf", 4, 4, libbpf_num_possible_cpus(), NULL);
    if (map_fd < 0) die("create perf event array", map_fd);
    prog_fd = load_producer(0, map_fd, lost_fd, 0);
    pb = perf_buffer__new(map_fd, PERF_PAGES, on_perf_sample, on_perf_lost, NULL, NULL);
    if (!pb) die("perf_buffer__new", errno);
  }
}

/* Fills the buffer with `count` records, drains it with libbpf; returns ns per record of the consume call. */
static double round_ns(int ring, long count) {
  test_run(prog_fd, count);
  if (lost_count(lost_fd)) die(ring ? "records did not fit the ring buffer" : "bpf_perf_event_output failed", ENOSPC);
  seen = 0;
  double start = now_ns();
  int got = ring ? ring_buffer__consume(rb) : perf_buffer__consume(pb);
  double ns = now_ns() - start;
  if (got < 0) die(ring ? "ring_buffer__consume" : "perf_buffer__consume", got);
  if (seen != count) {
    fprintf(stderr, "events: %s read %ld of %ld records\n", ring ? "ring_buffer__consume" : "perf_buffer__consume", seen, count);
    exit(1);
  }
  return ns / count;
}

/* Pins the calling thread to `cpu` (-1: leaves it). */
static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set)) die("sched_setaffinity", errno);
}

/* The end-to-end producer: test runs of `fd` for `seconds`; returns the runs. */
static long produce_runs(int fd, double seconds, unsigned repeat) {
  double end = now_ns() + seconds * 1e9;
  long runs = 0;
  while (now_ns() < end) {
    test_run(fd, repeat);
    runs += repeat;
  }
  return runs;
}

/* Runs the calling thread under SCHED_IDLE when `idle` (else leaves it). */
static void idle_policy(int idle) {
  if (!idle) return;
  struct sched_param param = {.sched_priority = 0};
  if (sched_setscheduler(0, SCHED_IDLE, &param)) die("sched_setscheduler", errno);
}

static int produce(double seconds, unsigned repeat, int cpu, int idle) {
  pin(cpu);
  idle_policy(idle);
  printf("runs %ld\n", produce_runs(3, seconds, repeat));
  return 0;
}

/*
 * The end-to-end baseline: the producer of `produce` in a child process (a
 * fork: it inherits the program), libbpf's ring_buffer__poll in this one
 * until the child exits, then a last consume. The child's run count comes
 * back through a pipe.
 */
/* Runs the calling thread under SCHED_FIFO at `priority` (0: leaves it). */
static void realtime(int priority) {
  if (priority <= 0) return;
  struct sched_param param = {.sched_priority = priority};
  if (sched_setscheduler(0, SCHED_FIFO, &param)) die("sched_setscheduler", errno);
}

static int e2e(double seconds, unsigned repeat, int producer_cpu, int consumer_cpu, int rt_priority, int producer_idle) {
  libbpf_set_print(NULL);
  pin(consumer_cpu);
  setup(1, 0); /* the producer wakes the consumer: no BPF_RB_NO_WAKEUP */
  int fds[2];
  if (pipe(fds)) die("pipe", errno);
  double start = now_ns();
  pid_t child = fork();
  if (child < 0) die("fork", errno);
  if (child == 0) {
    close(fds[0]);
    pin(producer_cpu);
    idle_policy(producer_idle);
    long runs = produce_runs(prog_fd, seconds, repeat);
    if (write(fds[1], &runs, sizeof(runs)) != sizeof(runs)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  realtime(rt_priority); /* the consumer only: the child forked before */
  int status = 0;
  seen = 0;
  long wakeups = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    int err = ring_buffer__poll(rb, 100);
    if (err < 0 && err != -EINTR) die("ring_buffer__poll", err);
    if (err > 0) wakeups++;
  }
  ring_buffer__consume(rb);
  double took = (now_ns() - start) / 1e9;
  long runs = -1;
  if (read(fds[0], &runs, sizeof(runs)) != sizeof(runs) || !WIFEXITED(status) || WEXITSTATUS(status)) die("producer failed", EIO);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  printf("received %ld lost %llu runs %ld seconds %.3f wakeups %ld cpu %.3f\n", seen, (unsigned long long)lost_count(lost_fd), runs, took, wakeups, cpu);
  ring_buffer__free(rb);
  close(prog_fd);
  close(map_fd);
  close(lost_fd);
  return 0;
}

/*
 * `events serve ringbuf|perfbuf <count>`: sets up and warms up as above, then
 * runs one timed round for each line read on stdin, printing its result, until
 * end of file. The benchmark interleaves its rounds with bpfkit's this way
 * without starting a process per round (a fork write-protects the whole
 * parent's memory, which the next allocations in node then pay for).
 */
static int serve(int argc, char **argv) {
  int ring = argc > 2 && strcmp(argv[2], "ringbuf") == 0;
  if (!ring && (argc < 3 || strcmp(argv[2], "perfbuf") != 0)) die("serve: unknown mode", EINVAL);
  long count = argc > 3 ? atol(argv[3]) : 100000;
  libbpf_set_print(NULL);
  setup(ring, BPF_RB_NO_WAKEUP);
  round_ns(ring, count);
  round_ns(ring, count);
  printf("ready\n");
  fflush(stdout);
  char line[64];
  while (fgets(line, sizeof(line), stdin)) {
    printf("%s %.3f\n", argv[2], round_ns(ring, count));
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: events ringbuf|perfbuf <count> <rounds> | events serve ringbuf|perfbuf <count> | events produce <seconds> <repeat> [cpu] [idle] | events e2e <seconds> <repeat> <producer cpu> <consumer cpu> [rt priority] [idle]\n");
    return 2;
  }
  if (strcmp(argv[1], "serve") == 0) return serve(argc, argv);
  if (strcmp(argv[1], "produce") == 0)
    return produce(argc > 2 ? atof(argv[2]) : 5, argc > 3 ? atoi(argv[3]) : 10000, argc > 4 ? atoi(argv[4]) : -1, argc > 5 ? atoi(argv[5]) : 0);
  if (strcmp(argv[1], "e2e") == 0)
    return e2e(argc > 2 ? atof(argv[2]) : 5, argc > 3 ? atoi(argv[3]) : 10000, argc > 4 ? atoi(argv[4]) : -1, argc > 5 ? atoi(argv[5]) : -1, argc > 6 ? atoi(argv[6]) : 0, argc > 7 ? atoi(argv[7]) : 0);
  int ring = strcmp(argv[1], "ringbuf") == 0;
  if (!ring && strcmp(argv[1], "perfbuf") != 0) die("unknown mode", EINVAL);
  long count = argc > 2 ? atol(argv[2]) : 100000;
  int rounds = argc > 3 ? atoi(argv[3]) : 1;
  libbpf_set_print(NULL);
  setup(ring, BPF_RB_NO_WAKEUP);
  round_ns(ring, count); /* warm-up, untimed: twice, so both mappings of the */
  round_ns(ring, count); /* ring buffer's data (the wrap-around) are mapped in */
  for (int r = 0; r < rounds; r++) printf("%s %.3f\n", argv[1], round_ns(ring, count));
  if (rb) ring_buffer__free(rb);
  if (pb) perf_buffer__free(pb);
  close(prog_fd);
  close(map_fd);
  close(lost_fd);
  return 0;
}
