// flow-monitor (after netobserv's FlowFetcher): TC programs on ingress and
// egress aggregate packets into flows in a per-CPU hash map keyed like
// netobserv's flow id; flows that end (TCP FIN or RST) also go out at once
// through a ring buffer; the skb:kfree_skb tracepoint counts drops per
// reason. User space evicts the aggregated flows periodically.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_DROP_REASONS 256

struct flow_id {
  __u32 saddr;  // network byte order
  __u32 daddr;
  __u16 sport;  // host byte order
  __u16 dport;
  __u8 proto;
  __u8 direction;  // 0 ingress, 1 egress
  __u16 pad;
  __u32 ifindex;
};

struct flow_metrics {
  __u64 packets;
  __u64 bytes;
  __u64 first_seen_ns;
  __u64 last_seen_ns;
  __u8 tcp_flags;  // every flag seen, OR-ed
  __u8 pad[7];
};

// A flow that ended (FIN or RST), sent as soon as it is seen.
struct flow_event {
  struct flow_id id;
  struct flow_metrics metrics;  // this CPU's aggregate so far
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __type(key, struct flow_id);
  __type(value, struct flow_metrics);
  __uint(max_entries, 65536);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} ended_flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);    // enum skb_drop_reason
  __type(value, __u64);  // drops
  __uint(max_entries, MAX_DROP_REASONS);
} drops SEC(".maps");

// Where kfree_skb's `reason` sits in the tracepoint record: 36 since rx_sk joined the record
// (6.11), 28 before; user space reads the format file and sets it.
const volatile __u32 kfree_reason_offset = 36;

struct flow_event *unused_flow_event __attribute__((unused));

static __always_inline int account(struct __sk_buff *skb, __u8 direction) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_UNSPEC;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || ip->ihl < 5) return TC_ACT_UNSPEC;
  struct flow_id id = {
      .saddr = ip->saddr, .daddr = ip->daddr, .proto = ip->protocol, .direction = direction, .ifindex = skb->ifindex};
  __u8 flags = 0;
  void *l4 = (void *)ip + ip->ihl * 4;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr *tcp = l4;
    if ((void *)(tcp + 1) > end) return TC_ACT_UNSPEC;
    id.sport = bpf_ntohs(tcp->source);
    id.dport = bpf_ntohs(tcp->dest);
    flags = ((__u8 *)tcp)[13];
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr *udp = l4;
    if ((void *)(udp + 1) > end) return TC_ACT_UNSPEC;
    id.sport = bpf_ntohs(udp->source);
    id.dport = bpf_ntohs(udp->dest);
  }
  __u64 now = bpf_ktime_get_ns();
  struct flow_metrics *m = bpf_map_lookup_elem(&flows, &id);
  if (m) {
    // This CPU's slot: no other CPU writes it.
    m->packets += 1;
    m->bytes += skb->len;
    m->last_seen_ns = now;
    m->tcp_flags |= flags;
  } else {
    struct flow_metrics fresh = {.packets = 1, .bytes = skb->len, .first_seen_ns = now, .last_seen_ns = now, .tcp_flags = flags};
    bpf_map_update_elem(&flows, &id, &fresh, BPF_ANY);
    m = &fresh;
  }
  // FIN (0x01) or RST (0x04): the flow ends, user space hears of it now.
  if (flags & 0x05) {
    struct flow_event *e = bpf_ringbuf_reserve(&ended_flows, sizeof(*e), 0);
    if (e) {
      e->id = id;
      e->metrics = *m;
      bpf_ringbuf_submit(e, 0);
    }
  }
  return TC_ACT_UNSPEC;  // tcx: TCX_NEXT, the same value: the packet goes on
}

SEC("tc")
int flow_ingress(struct __sk_buff *skb) { return account(skb, 0); }

SEC("tc")
int flow_egress(struct __sk_buff *skb) { return account(skb, 1); }

SEC("tracepoint/skb/kfree_skb")
int count_drop(void *ctx) {
  __u32 reason = 0;
  bpf_probe_read_kernel(&reason, sizeof(reason), (char *)ctx + kfree_reason_offset);
  if (reason >= MAX_DROP_REASONS) reason = 0;
  __u64 *n = bpf_map_lookup_elem(&drops, &reason);
  if (n) *n += 1;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
