// Test object for @bpfkit/elf: BTF maps (hash with typed key/value, ring
// buffer, map-in-map), a legacy-free layout, global data (.rodata constants,
// .bss, .data), a subprogram, and programs in several sections.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct flow);
  __type(value, __u64);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16);
} events SEC(".maps");

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 1);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps");

const volatile __u32 target_pid = 0;
const volatile __s16 delta = -1;
__u64 packets = 0;
__u32 initialised = 7;

static __noinline int add_one(int x) {
  return x + 1;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx) {
  struct flow key = {};
  __u64 one = 1, *v;
  key.saddr = target_pid;
  v = bpf_map_lookup_elem(&flows, &key);
  if (v)
    __sync_fetch_and_add(v, 1);
  else
    bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
  packets++;
  return add_one(XDP_PASS - 1 + delta + 1);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(void *ctx) {
  __u32 *slot = bpf_ringbuf_reserve(&events, sizeof(__u32), 0);
  if (!slot)
    return 0;
  *slot = initialised;
  bpf_ringbuf_submit(slot, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
