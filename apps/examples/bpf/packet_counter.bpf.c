// The demo's BPF program: an XDP program that counts IPv4 packets per IP
// protocol in a hash map, the bytes it saw in a global, and drops one
// protocol chosen by user space before load (a `const volatile` constant).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u8);     // IP protocol
  __type(value, __u64);  // packets
  __uint(max_entries, 256);
} packets_by_protocol SEC(".maps");

const volatile __u8 drop_protocol = 0;  // 0: drop nothing
__u64 bytes_seen = 0;
__u64 dropped = 0;

SEC("xdp")
int count_packets(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return XDP_PASS;
  __u8 proto = ip->protocol;
  __u64 one = 1;
  __u64 *count = bpf_map_lookup_elem(&packets_by_protocol, &proto);
  if (count) __sync_fetch_and_add(count, 1);
  else bpf_map_update_elem(&packets_by_protocol, &proto, &one, BPF_NOEXIST);
  __sync_fetch_and_add(&bytes_seen, (__u64)(end - data));
  if (drop_protocol && proto == drop_protocol) {
    __sync_fetch_and_add(&dropped, 1);
    return XDP_DROP;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
