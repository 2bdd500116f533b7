// Test object for the Manager: tracepoint programs on openat and getcwd that send a record for
// each call of the processes the PID filter lets through, to a ring buffer and a perf event
// array, and count them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "pid_filter.h"

struct event {
  __u32 pid;
  __u32 kind;
  __u64 seq;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

// Which kinds of record this object sends (bit 0: openat, bit 1: getcwd).
const volatile __u32 kinds = 3;

__u64 passed = 0;

static __always_inline int emit(void *ctx, __u32 kind) {
  if (!(kinds & (1u << kind))) return 0;
  if (!pid_filter_pass()) return 0;
  struct event e = {
    .pid = bpf_get_current_pid_tgid() >> 32,
    .kind = kind,
    .seq = __sync_fetch_and_add(&passed, 1),
  };
  bpf_ringbuf_output(&events, &e, sizeof(e), 0);
  bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(void *ctx) {
  return emit(ctx, 0);
}

SEC("tracepoint/syscalls/sys_enter_getcwd")
int on_getcwd(void *ctx) {
  return emit(ctx, 1);
}

char LICENSE[] SEC("license") = "GPL";
