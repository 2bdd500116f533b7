// Test object for the Manager's attach conveniences: probe programs that count their runs in
// globals and return a value of their own, one per kind of hook.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 kprobes = 0;
__u64 kretprobes = 0;
__u64 uprobes = 0;
__u64 uretprobes = 0;
__u64 raw = 0;

SEC("kprobe")
int on_kprobe(void *ctx) {
  __sync_fetch_and_add(&kprobes, 1);
  return 0;
}

SEC("kretprobe")
int on_kretprobe(void *ctx) {
  __sync_fetch_and_add(&kretprobes, 1);
  return 0;
}

SEC("uprobe")
int on_uprobe(void *ctx) {
  __sync_fetch_and_add(&uprobes, 1);
  return 0;
}

SEC("uretprobe")
int on_uretprobe(void *ctx) {
  __sync_fetch_and_add(&uretprobes, 1);
  return 0;
}

SEC("raw_tracepoint")
int on_raw(void *ctx) {
  __sync_fetch_and_add(&raw, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
