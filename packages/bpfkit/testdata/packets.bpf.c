// Test object for test runs of programs that change the packet's size:
// XDP programs that grow and shrink it at the tail, push bytes in front of
// it, and TC programs that change its tail. Each marks what it added.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_grow(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_tail(ctx, 16))
    return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 1 > end)
    return XDP_ABORTED;
  *(__u8 *)data = 0xaa;
  return XDP_PASS;
}

SEC("xdp")
int xdp_shrink(struct xdp_md *ctx) {
  return bpf_xdp_adjust_tail(ctx, -16) ? XDP_ABORTED : XDP_PASS;
}

SEC("xdp")
int xdp_push_head(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, -8))
    return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 8 > end)
    return XDP_ABORTED;
  __builtin_memset(data, 0xbb, 8);
  return XDP_PASS;
}

SEC("tc")
int tc_grow(struct __sk_buff *skb) {
  return bpf_skb_change_tail(skb, skb->len + 10, 0) ? 2 /* TC_ACT_SHOT */ : 0 /* TC_ACT_OK */;
}

SEC("tc")
int tc_shrink(struct __sk_buff *skb) {
  return bpf_skb_change_tail(skb, skb->len - 10, 0) ? 2 : 0;
}

char LICENSE[] SEC("license") = "GPL";
