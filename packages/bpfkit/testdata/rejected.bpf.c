// Test object for the loader: one program the verifier accepts and one it
// rejects (it reads a map value without checking the lookup for NULL), with
// line info so the error can point at the source line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} values SEC(".maps");

SEC("socket")
int fine(struct __sk_buff *skb) {
  return 0;
}

SEC("socket")
int unchecked_lookup(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&values, &key);
  return *v; // no NULL check: the verifier refuses this
}

char LICENSE[] SEC("license") = "GPL";
