// xdp-blocklist: drops IPv4 packets whose source address falls in a blocked
// CIDR, as goebpf's xdp example does: an LPM trie of rules (prefix → rule
// id) that user space edits while the program runs, and a per-CPU packet
// counter per rule.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_RULES 1024

struct cidr {
  __u32 prefixlen;  // LPM trie keys start with the prefix length in bits
  __u32 addr;       // IPv4 address, network byte order
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct cidr);
  __type(value, __u32);  // rule id: the index of its counter
  __uint(max_entries, MAX_RULES);
  __uint(map_flags, BPF_F_NO_PREALLOC);  // the kernel requires it of LPM tries
} blocklist SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);  // packets dropped by the rule
  __uint(max_entries, MAX_RULES);
} rule_hits SEC(".maps");

// Packets seen and passed, for the summary line.
__u64 packets_seen = 0;
__u64 packets_passed = 0;

SEC("xdp")
int xdp_blocklist(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_PASS;
  __sync_fetch_and_add(&packets_seen, 1);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) goto pass;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) goto pass;
  struct cidr key = {.prefixlen = 32, .addr = ip->saddr};
  __u32 *rule = bpf_map_lookup_elem(&blocklist, &key);
  if (!rule) goto pass;
  __u64 *hits = bpf_map_lookup_elem(&rule_hits, rule);
  if (hits) *hits += 1;  // per CPU: no atomic needed
  return XDP_DROP;
pass:
  __sync_fetch_and_add(&packets_passed, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
