// testdata: no-btf (goebpf's Makefiles build with -O2 -target bpf, no -g)
//
// Test object in goebpf's layout (seed 003): a legacy `maps` section of
// goebpf's struct bpf_map_def, whose two pointer fields give a map-in-map
// the template of its inner map and a map a persistent path (pinned there,
// or reused when a compatible map is pinned there); a perf event array
// declared with key/value size and max_entries 0 and a prog array without
// key/value sizes (the loader fills them in);
// an LPM trie without BPF_F_NO_PREALLOC (the loader adds it); programs in
// goebpf's sections xdp, socket_filter, tc_cls and tc_act.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// goebpf's bpf_helpers.h declares it so: five u32, then two pointers.
struct bpf_map_def {
  __u32 map_type;
  __u32 key_size;
  __u32 value_size;
  __u32 max_entries;
  __u32 map_flags;
  void *inner_map_def;
  const char *persistent_path;
};

#define BPF_MAP_DEF(name) struct bpf_map_def SEC("maps") name

BPF_MAP_DEF(inner_template) = {
    .map_type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 4,
};

BPF_MAP_DEF(outer) = {
    .map_type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u32),
    .max_entries = 2,
    .inner_map_def = &inner_template,
};

// The test rewrites this path (in a copy of the object) to one inside a private bpffs:
// the placeholder is long enough to hold it.
BPF_MAP_DEF(counters) = {
    .map_type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 4,
    .persistent_path = "/sys/fs/bpf/bpfkit_goebpf_counters_placeholder_long_enough_for_a_private_bpffs_path",
};

BPF_MAP_DEF(perf_events) = {
    .map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
};

// goebpf leaves key and value sizes of fd holders to the loader too.
BPF_MAP_DEF(jump_table) = {
    .map_type = BPF_MAP_TYPE_PROG_ARRAY,
    .max_entries = 2,
};

struct lpm_key {
  __u32 prefixlen;
  __u32 addr;
};

BPF_MAP_DEF(blocklist) = {
    .map_type = BPF_MAP_TYPE_LPM_TRIE,
    .key_size = sizeof(struct lpm_key),
    .value_size = sizeof(__u64),
    .max_entries = 16,
};

static __attribute__((always_inline)) void count(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&counters, &slot);
  if (v)
    __sync_fetch_and_add(v, 1);
}

SEC("xdp")
int xdp_prog(struct xdp_md *ctx) {
  struct lpm_key key = {.prefixlen = 32, .addr = 0x0100007f};
  count(0);
  if (bpf_map_lookup_elem(&blocklist, &key))
    return XDP_DROP;
  __u32 zero = 0;
  void *inner = bpf_map_lookup_elem(&outer, &zero);
  if (inner) {
    __u64 *v = bpf_map_lookup_elem(inner, &zero);
    if (v)
      __sync_fetch_and_add(v, 1);
  }
  __u64 sample = 7;
  bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &sample, sizeof(sample));
  return XDP_PASS;
}

SEC("socket_filter")
int socket_prog(struct __sk_buff *skb) {
  count(1);
  return skb->len;
}

SEC("tc_cls")
int tc_cls_prog(struct __sk_buff *skb) {
  count(2);
  return 0; // TC_ACT_OK
}

SEC("tc_act")
int tc_act_prog(struct __sk_buff *skb) {
  count(3);
  return 0;
}

char _license[] SEC("license") = "GPL";
