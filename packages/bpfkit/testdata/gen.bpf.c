// Test object for `bpfkit gen types`: a ring buffer and a perf event array
// whose records are one struct each (the skeleton infers them from the sizes
// the program reserves and outputs), a hash
// keyed by a struct whose value is the record (bitfields, an enum, an
// anonymous union), a per-CPU array, `.rodata` constants of several types
// (an integer, a struct, a signed 64-bit value, an enum), and `.data` and
// `.bss` variables.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum kind { KIND_EXEC = 1, KIND_EXIT = 2 };

struct event {
  __u32 pid;
  enum kind kind;
  char comm[16];
  __u64 ts;
  __u8 flags : 3;
  __u8 urgent : 1;
  union {
    __u32 code;
    __s32 status;
  };
};

struct key {
  __u32 id;
  __u16 port;
  __u8 proto;
  __u8 pad;
};

struct note {
  __u32 pid;
  __s32 code;
  __u32 seq;
};

struct config {
  __u32 min_size;
  __u16 ports[2];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} notes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct key);
  __type(value, struct event);
  __uint(max_entries, 16);
} last SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1);
} counts SEC(".maps");

const volatile __u32 target_pid = 0;
const volatile struct config cfg = {.min_size = 64, .ports = {80, 443}};
const volatile __s64 offset = -1;
const volatile enum kind report = KIND_EXEC;
__u64 seen = 0;
__u32 version = 7;
// The last note sent, kept in .bss. It also puts struct note in the BTF:
// clang leaves out types that only local variables use.
struct note last_note = {};

SEC("xdp")
int emit(struct xdp_md *ctx) {
  __u32 zero = 0;
  __u64 *c = bpf_map_lookup_elem(&counts, &zero);
  if (c)
    *c += 1;
  seen += 1;
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
  if (!e)
    return XDP_PASS;
  e->pid = target_pid;
  e->kind = report;
  e->ts = offset + cfg.min_size + cfg.ports[1];
  e->flags = 5;
  e->urgent = 1;
  e->code = version;
  __builtin_memcpy(e->comm, "gen", 4);
  __builtin_memset(e->comm + 4, 0, sizeof(e->comm) - 4);
  struct key k = {.id = target_pid, .port = cfg.ports[0], .proto = 6, .pad = 0};
  bpf_map_update_elem(&last, &k, e, BPF_ANY);
  bpf_ringbuf_submit(e, 0);
  struct note n = {.pid = target_pid, .code = -7, .seq = (__u32)seen};
  last_note = n;
  bpf_perf_event_output(ctx, &notes, BPF_F_CURRENT_CPU, &n, sizeof(n));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
