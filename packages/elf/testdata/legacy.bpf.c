// Test object for the loader: a map in the legacy `maps` section (the
// struct bpf_map_def layout libbpf 0.x read), used by a socket filter.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_counts = {
  .type = BPF_MAP_TYPE_ARRAY,
  .key_size = sizeof(__u32),
  .value_size = sizeof(__u64),
  .max_entries = 4,
};

SEC("socket")
int count_legacy(struct __sk_buff *skb) {
  __u32 key = 2;
  __u64 *v = bpf_map_lookup_elem(&legacy_counts, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
