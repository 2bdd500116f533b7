// Test object for typed views of a collection's maps and for constants: a
// hash keyed by a struct, a per-CPU array, a struct-valued array, and a
// constant that each load sets (or leaves as compiled).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
};

struct stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct flow);
  __type(value, __u64);
  __uint(max_entries, 64);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 2);
} hits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct stats);
  __uint(max_entries, 1);
} totals SEC(".maps");

const volatile __u32 drop_protocol = 6;

SEC("xdp")
int count(struct xdp_md *ctx) {
  __u32 zero = 0;
  __u64 *hit = bpf_map_lookup_elem(&hits, &zero);
  if (hit)
    *hit += 1;
  struct stats *s = bpf_map_lookup_elem(&totals, &zero);
  if (s) {
    s->packets += 1;
    s->bytes += ctx->data_end - ctx->data;
  }
  struct flow f = {.saddr = drop_protocol, .daddr = 2, .sport = 3, .dport = 4};
  __u64 one = 1;
  bpf_map_update_elem(&flows, &f, &one, BPF_ANY);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
