// testdata: no-btf (goebpf's Makefiles build with -O2 -target bpf, no -g)
//
// Seed of the parser's mutation test and `pnpm fuzz` in goebpf's layout: a
// `maps` section of goebpf's 40-byte struct bpf_map_def (relocations at
// offsets 24 and 32 of an entry for inner_map_def and persistent_path), no
// BTF, programs in goebpf's sections xdp, socket_filter and tc_cls, calls
// to a subprogram of .text, a callback address (bpf_loop) and a tail call.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// goebpf's bpf_helpers.h: five u32, 4 bytes of padding, two pointers (40 bytes).
struct bpf_map_def {
  __u32 map_type;
  __u32 key_size;
  __u32 value_size;
  __u32 max_entries;
  __u32 map_flags;
  void *inner_map_def;
  const char *persistent_path;
};

struct bpf_map_def SEC("maps") seed_inner = {
    .map_type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u32),
    .max_entries = 8,
};

struct bpf_map_def SEC("maps") seed_outer = {
    .map_type = BPF_MAP_TYPE_HASH_OF_MAPS,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u32),
    .max_entries = 4,
    .inner_map_def = &seed_inner,
};

struct bpf_map_def SEC("maps") seed_counts = {
    .map_type = BPF_MAP_TYPE_PERCPU_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 3,
    .persistent_path = "/sys/fs/bpf/seed_counts",
};

struct bpf_map_def SEC("maps") seed_jumps = {
    .map_type = BPF_MAP_TYPE_PROG_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u32),
    .max_entries = 2,
    .persistent_path = "/sys/fs/bpf/seed_jumps",
};

static __attribute__((noinline)) int bump(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&seed_counts, &slot);
  if (!v)
    return 0;
  __sync_fetch_and_add(v, 1);
  return 1;
}

static long step(__u64 index, void *ctx) {
  bump(index & 1);
  return 0;
}

SEC("xdp")
int seed_xdp(struct xdp_md *ctx) {
  __u32 zero = 0;
  void *inner = bpf_map_lookup_elem(&seed_outer, &zero);
  if (inner && bpf_map_lookup_elem(inner, &zero))
    return XDP_DROP;
  bpf_loop(4, step, 0, 0);
  bpf_tail_call(ctx, &seed_jumps, 0);
  return bump(0) ? XDP_PASS : XDP_ABORTED;
}

SEC("socket_filter")
int seed_socket(struct __sk_buff *skb) {
  return bump(1) ? skb->len : 0;
}

SEC("tc_cls")
int seed_tc(struct __sk_buff *skb) {
  bump(2);
  return 0;
}

char _license[] SEC("license") = "GPL";
