// Baseline for `pnpm bench maps`: element operations on a large
// BPF_MAP_TYPE_HASH map (u32 keys, u64 values) and lookups on an equally
// large BPF_MAP_TYPE_ARRAY, made with the raw bpf() system call.
//
//   maps <count> <rounds> <warmup> <max_entries>
//
// Each round inserts keys 0..count-1, looks every one up, walks the map with
// next-key (looking up each key), reads it whole with BPF_MAP_LOOKUP_BATCH
// (4096 elements per call) and deletes every key, so the map is empty again
// for the next round. A first round on `warmup` keys is not timed. Prints
// "<op> <ns per element>" lines (the median of the rounds).
#include <errno.h>
#include "bench.h"
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BATCH 4096
#define MAX_ROUNDS 64

enum { OP_UPDATE, OP_LOOKUP, OP_ITERATE, OP_BATCH, OP_DELETE, OP_ARRAY_LOOKUP, OPS };
static const char *op_names[OPS] = {
  "hash_update", "hash_lookup", "hash_iterate", "hash_lookup_batch", "hash_delete", "array_lookup",
};


static int map_create(uint32_t type, uint32_t max_entries) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = type;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = max_entries;
  return sys_bpf(BPF_MAP_CREATE, &attr);
}

static int elem(int cmd, int fd, const void *key, void *value, uint64_t flags) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = fd;
  attr.key = (uint64_t)(uintptr_t)key;
  attr.value = (uint64_t)(uintptr_t)value;
  attr.flags = flags;
  return sys_bpf(cmd, &attr);
}

static int next_key(int fd, const void *key, void *next) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = fd;
  attr.key = (uint64_t)(uintptr_t)key;
  attr.next_key = (uint64_t)(uintptr_t)next;
  return sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr);
}

static int fail(const char *what, long i) {
  fprintf(stderr, "maps: %s failed at element %ld: %s\n", what, i, strerror(errno));
  return -1;
}

static uint32_t keys_out[BATCH];
static uint64_t values_out[BATCH];

/** One round on the hash map; fills ns[op] with ns per element. */
static int hash_round(int fd, long n, double *ns) {
  double t;
  uint64_t value;

  t = now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t key = (uint32_t)i;
    value = (uint64_t)i;
    if (elem(BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_ANY) < 0) return fail("BPF_MAP_UPDATE_ELEM", i);
  }
  ns[OP_UPDATE] = (now_ns() - t) / n;

  t = now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t key = (uint32_t)i;
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &key, &value, 0) < 0 || value != (uint64_t)i) return fail("BPF_MAP_LOOKUP_ELEM", i);
  }
  ns[OP_LOOKUP] = (now_ns() - t) / n;

  t = now_ns();
  long visited = 0;
  uint32_t cur, next;
  int rc = next_key(fd, NULL, &cur);
  while (rc == 0) {
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &cur, &value, 0) == 0) visited++;
    else if (errno != ENOENT) return fail("BPF_MAP_LOOKUP_ELEM (iteration)", visited);
    rc = next_key(fd, &cur, &next);
    cur = next;
  }
  if (errno != ENOENT) return fail("BPF_MAP_GET_NEXT_KEY", visited);
  if (visited != n) { fprintf(stderr, "maps: iteration visited %ld of %ld\n", visited, n); return -1; }
  ns[OP_ITERATE] = (now_ns() - t) / n;

  t = now_ns();
  long total = 0;
  uint64_t in_batch = 0, out_batch = 0;
  for (int first = 1;; first = 0) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.batch.map_fd = fd;
    attr.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&in_batch;
    attr.batch.out_batch = (uint64_t)(uintptr_t)&out_batch;
    attr.batch.keys = (uint64_t)(uintptr_t)keys_out;
    attr.batch.values = (uint64_t)(uintptr_t)values_out;
    attr.batch.count = BATCH;
    rc = sys_bpf(BPF_MAP_LOOKUP_BATCH, &attr);
    if (rc < 0 && errno != ENOENT) return fail("BPF_MAP_LOOKUP_BATCH", total);
    total += attr.batch.count;
    if (rc < 0) break; // ENOENT: no more elements
    in_batch = out_batch;
  }
  if (total != n) { fprintf(stderr, "maps: batch lookup read %ld of %ld\n", total, n); return -1; }
  ns[OP_BATCH] = (now_ns() - t) / n;

  t = now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t key = (uint32_t)i;
    if (elem(BPF_MAP_DELETE_ELEM, fd, &key, NULL, 0) < 0) return fail("BPF_MAP_DELETE_ELEM", i);
  }
  ns[OP_DELETE] = (now_ns() - t) / n;
  return 0;
}

static int array_round(int fd, long n, double *ns) {
  uint64_t value;
  double t = now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t key = (uint32_t)i;
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &key, &value, 0) < 0 || value != (uint64_t)i) return fail("BPF_MAP_LOOKUP_ELEM (array)", i);
  }
  ns[OP_ARRAY_LOOKUP] = (now_ns() - t) / n;
  return 0;
}

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 1000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  long warmup = argc > 3 ? atol(argv[3]) : 100000;
  long max_entries = argc > 4 ? atol(argv[4]) : 1048576;
  if (rounds < 1) rounds = 1;
  if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
  if (count < 1 || count > max_entries) { fprintf(stderr, "maps: count must be 1..max_entries\n"); return 2; }
  if (warmup > count) warmup = count;

  int status = 1;
  int hash = -1, array = -1;
  static double samples[OPS][MAX_ROUNDS];
  double ns[OPS];

  hash = map_create(BPF_MAP_TYPE_HASH, (uint32_t)max_entries);
  if (hash < 0) { perror("BPF_MAP_CREATE (hash)"); goto out; }
  array = map_create(BPF_MAP_TYPE_ARRAY, (uint32_t)max_entries);
  if (array < 0) { perror("BPF_MAP_CREATE (array)"); goto out; }
  for (long i = 0; i < count; i++) { // the array's values, not timed
    uint32_t key = (uint32_t)i;
    uint64_t value = (uint64_t)i;
    if (elem(BPF_MAP_UPDATE_ELEM, array, &key, &value, BPF_ANY) < 0) { fail("BPF_MAP_UPDATE_ELEM (array)", i); goto out; }
  }

  for (int r = -1; r < rounds; r++) { // r == -1 is the warm-up
    long n = r < 0 ? warmup : count;
    if (n < 1) continue;
    if (hash_round(hash, n, ns) < 0 || array_round(array, n, ns) < 0) goto out;
    if (r >= 0) for (int op = 0; op < OPS; op++) samples[op][r] = ns[op];
  }
  for (int op = 0; op < OPS; op++) {
    qsort(samples[op], rounds, sizeof(double), cmp_double);
    printf("%s %.2f\n", op_names[op], samples[op][rounds / 2]);
  }
  status = 0;
out:
  if (hash >= 0) close(hash);
  if (array >= 0) close(array);
  return status;
}
