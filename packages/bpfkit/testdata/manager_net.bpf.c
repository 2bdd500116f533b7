// Test object for the Manager on network hooks: an XDP program and a TC program that count the
// packets they see and send a record for each to a ring buffer, letting every packet through.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct packet_event {
  __u32 hook; // 1 xdp, 2 tc
  __u32 len;
  __u64 seq;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 64 * 1024);
} packets SEC(".maps");

__u64 xdp_seen = 0;
__u64 tc_seen = 0;

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  struct packet_event e = {
    .hook = 1,
    .len = ctx->data_end - ctx->data,
    .seq = __sync_fetch_and_add(&xdp_seen, 1),
  };
  bpf_ringbuf_output(&packets, &e, sizeof(e), 0);
  return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb) {
  struct packet_event e = {
    .hook = 2,
    .len = skb->len,
    .seq = __sync_fetch_and_add(&tc_seen, 1),
  };
  bpf_ringbuf_output(&packets, &e, sizeof(e), 0);
  return 0; // TC_ACT_OK
}

char LICENSE[] SEC("license") = "GPL";
