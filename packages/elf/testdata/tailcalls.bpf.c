// Test object for the loader: a prog array initialised in its definition
// (.values = { [slot] = &program }), tail calls through it, and a
// map-in-map initialised with another map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct answer_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
};

struct answer_map answers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct answer_map);
} outer SEC(".maps") = {
  .values = { [1] = &answers },
};

SEC("xdp")
int tail_pass(struct xdp_md *ctx) {
  return XDP_PASS;
}

SEC("xdp")
int tail_drop(struct xdp_md *ctx) {
  return XDP_DROP;
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, int(void *));
} jump_table SEC(".maps") = {
  .values = { [0] = (void *)&tail_pass, [2] = (void *)&tail_drop },
};

const volatile __u32 slot = 0;

SEC("xdp")
int dispatch(struct xdp_md *ctx) {
  __u32 key = 1;
  void *inner = bpf_map_lookup_elem(&outer, &key);
  if (inner) {
    __u32 zero = 0;
    __u64 *v = bpf_map_lookup_elem(inner, &zero);
    if (v) *v += 1;
  }
  bpf_tail_call(ctx, &jump_table, slot);
  return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
