// Test object for @bpfkit/elf: two programs call the same subprograms in .text (which call
// each other; they use a map and .bss), as bcc's tcprtt does (its fentry and kprobe programs share
// handle_tcp_rcv_established). Linking the first must leave the section intact for the second,
// also when the object's bytes come as a Node Buffer (whose slice() is a view, not a copy).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 4);
} counts SEC(".maps");

__u64 calls;

static __attribute__((noinline)) int bump(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&counts, &slot);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}

static __attribute__((noinline)) int twice(__u32 slot) {
  return bump(slot) + bump(slot + 1);
}

static __attribute__((noinline)) int handle(__u32 slot) {
  int n = bump(slot + 2);
  calls++;
  return n + twice(slot);
}

// Calls twice() alone: this program places bump() after twice(), .text has it before, so
// linking rewrites the offset of twice()'s calls to bump(); second() must still find bump().
SEC("xdp")
int first(struct xdp_md *ctx) {
  twice(0);
  return XDP_PASS;
}

SEC("socket")
int second(struct __sk_buff *skb) {
  handle(2);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
