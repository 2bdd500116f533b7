// uprobe-latency (after Beyla): a uprobe and a uretprobe on one function of a
// running program time each call, per thread, into a log2 histogram of
// microseconds (as bcc's funclatency does), with a call count and the total.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SLOTS 32

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u64);    // pid_tgid of the calling thread
  __type(value, __u64);  // when the call started (ns)
  __uint(max_entries, 10240);
} starts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);    // floor(log2(µs)), 0 for under 2 µs
  __type(value, __u64);  // calls
  __uint(max_entries, SLOTS);
} histogram SEC(".maps");

__u64 calls = 0;
__u64 total_ns = 0;

SEC("uprobe")
int on_enter(void *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u64 now = bpf_ktime_get_ns();
  bpf_map_update_elem(&starts, &id, &now, BPF_ANY);
  return 0;
}

SEC("uretprobe")
int on_return(void *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u64 *start = bpf_map_lookup_elem(&starts, &id);
  if (!start) return 0;  // entered before we attached
  __u64 ns = bpf_ktime_get_ns() - *start;
  bpf_map_delete_elem(&starts, &id);
  __u64 us = ns / 1000;
  __u32 slot = 0;
  while (us > 1 && slot < SLOTS - 1) {  // bounded: at most 31 steps
    us >>= 1;
    slot++;
  }
  __u64 *n = bpf_map_lookup_elem(&histogram, &slot);
  if (n) __sync_fetch_and_add(n, 1);
  __sync_fetch_and_add(&calls, 1);
  __sync_fetch_and_add(&total_ns, ns);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
