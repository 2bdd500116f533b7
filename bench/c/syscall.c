// Baseline for `pnpm bench syscall`: the cost of one BPF_MAP_LOOKUP_ELEM on
// an array map, made with the raw bpf() system call in a tight loop; of a
// bpf() the kernel refuses at once (a bad fd: entry and exit alone); and of
// that refused call followed by reading one byte from each of 32 pages, which
// shows what a process pays per page it touches between system calls.
// Prints "<op> <ns per op>" lines.
#include "bench.h"
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 1000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 7;
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  int fd = sys_bpf(BPF_MAP_CREATE, &attr);
  if (fd < 0) { perror("BPF_MAP_CREATE"); return 1; }
  uint32_t key = 0;
  uint64_t value = 0;
  double samples[64];
  if (rounds > 64) rounds = 64;
  for (int r = -1; r < rounds; r++) { // r == -1 is the warm-up
    long n = r < 0 ? (iterations < 100000 ? iterations : 100000) : iterations;
    double start = now_ns();
    for (long i = 0; i < n; i++) {
      memset(&attr, 0, sizeof(attr));
      attr.map_fd = fd;
      attr.key = (uint64_t)(uintptr_t)&key;
      attr.value = (uint64_t)(uintptr_t)&value;
      if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr) < 0) { perror("BPF_MAP_LOOKUP_ELEM"); return 1; }
    }
    if (r >= 0) samples[r] = (now_ns() - start) / n;
  }
  qsort(samples, rounds, sizeof(double), cmp_double);
  printf("array_lookup %.2f\n", samples[rounds / 2]);
  close(fd);

  // The refused call, bare and with 32 pages read after it (one line in each, on different cache sets, of a
  // buffer touched beforehand); then the 32 reads alone, without system calls between.
  enum { PAGES = 32 };
  static volatile uint8_t pages[PAGES * 4096 + 512];
#define PAGE_AT(p) ((p) * 4096 + 64 * ((p) & 7))
  for (int p = 0; p < PAGES; p++) pages[PAGE_AT(p)] = (uint8_t)p;
  // Each: whether it makes the refused call, whether it reads the pages (volatile: every read happens).
  static const struct { const char *name; int call, touch; } modes[] = {
    {"bad_fd", 1, 0}, {"bad_fd_32_pages", 1, 1}, {"pages_32", 0, 1},
  };
  for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
    for (int r = -1; r < rounds; r++) {
      long n = r < 0 ? (iterations < 100000 ? iterations : 100000) : iterations;
      double start = now_ns();
      for (long i = 0; i < n; i++) {
        if (modes[m].call) {
          memset(&attr, 0, sizeof(attr));
          attr.map_fd = (uint32_t)-1;
          attr.key = (uint64_t)(uintptr_t)&key;
          attr.value = (uint64_t)(uintptr_t)&value;
          if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr) == 0) { fprintf(stderr, "bpf() with a bad fd succeeded\n"); return 1; }
        }
        if (modes[m].touch)
          for (int p = 0; p < PAGES; p++) (void)pages[PAGE_AT(p)];
      }
      if (r >= 0) samples[r] = (now_ns() - start) / n;
    }
    qsort(samples, rounds, sizeof(double), cmp_double);
    printf("%s %.2f\n", modes[m].name, samples[rounds / 2]);
  }
  return 0;
}
