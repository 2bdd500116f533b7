// SPDX-License-Identifier: MIT
// libbpf-load <obj.o>: load a BPF object with libbpf as its tool's user space would before
// attaching: maps whose size the tool sets at run time (max_entries 0, stack_trace value_size 0)
// get a size, and each program the kernel or libbpf refuses (its load fails, or its attach target
// is missing from this kernel) is turned off (autoload false) and the object loaded again.
// Prints 'loaded <name> <tag>' for each program loaded and 'skipped <name>: <why>' for the others.
// Part of scripts/real-world-objects.sh; built there with `cc … -lbpf`.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SKIP 512
static char failed[256], why[512];
static int verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap) {
  char buf[8192];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (verbose) fputs(buf, stderr);
  const char *p = strstr(buf, "prog '");
  if (p && !failed[0] &&
      (strstr(buf, "failed to load") || strstr(buf, "failed to find kernel BTF type ID") ||
       strstr(buf, "BPF program load failed"))) {
    sscanf(p, "prog '%255[^']'", failed);
    snprintf(why, sizeof why, "%s", p);
    why[strcspn(why, "\n")] = 0;
  }
  return 0;
}

int main(int argc, char **argv) {
  static char skip[MAX_SKIP][256];
  int nskip = 0;
  if (argc != 2) return fprintf(stderr, "usage: libbpf-load <obj.o>\n"), 2;
  verbose = getenv("V") != NULL;
  libbpf_set_print(print_fn);
  for (;;) {
    struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
    if (!obj) return fprintf(stderr, "open %s failed\n", argv[1]), 2;
    struct bpf_map *m;
    bpf_object__for_each_map(m, obj) {
      if (bpf_map__type(m) == BPF_MAP_TYPE_STACK_TRACE && bpf_map__value_size(m) == 0)
        bpf_map__set_value_size(m, 127 * 8);
      if (bpf_map__max_entries(m) == 0 && bpf_map__type(m) != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
        bpf_map__set_max_entries(m, bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF ? 256 * 1024 : 1024);
    }
    struct bpf_program *p;
    int enabled = 0;
    bpf_object__for_each_program(p, obj) {
      for (int i = 0; i < nskip; i++)
        if (!strcmp(skip[i], bpf_program__name(p))) bpf_program__set_autoload(p, false);
      enabled += bpf_program__autoload(p);
    }
    if (!enabled) {
      printf("nothing left to load\n");
      bpf_object__close(obj);
      return 1;
    }
    failed[0] = 0;
    int err = bpf_object__load(obj);
    if (!err) {
      bpf_object__for_each_program(p, obj) {
        if (!bpf_program__autoload(p)) continue;
        struct bpf_prog_info info = {0};
        __u32 len = sizeof info;
        bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
        printf("loaded %s ", bpf_program__name(p));
        for (int i = 0; i < 8; i++) printf("%02x", info.tag[i]);
        printf("\n");
      }
      bpf_object__close(obj);
      return nskip ? 1 : 0;
    }
    bpf_object__close(obj);
    if (!failed[0] || nskip == MAX_SKIP) return printf("object failed: %d\n", err), 2;
    for (int i = 0; i < nskip; i++)
      if (!strcmp(skip[i], failed)) return printf("object failed again at %s: %d\n", failed, err), 2;
    printf("skipped %s: %s\n", failed, why);
    snprintf(skip[nskip++], 256, "%s", failed);
  }
}
