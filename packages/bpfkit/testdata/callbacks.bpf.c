// Test object for the loader: programs that pass a static function to each
// helper that takes a callback (bpf_loop, bpf_for_each_map_elem,
// bpf_timer_set_callback, bpf_find_vma, bpf_user_ringbuf_drain): clang emits
// an ld_imm64 of the function's address, relocated against .text, which the
// loader turns into a BPF_PSEUDO_FUNC load of the subprogram appended to the
// program. And a global function with hidden visibility (libbpf marks it
// static in the func BTF so the verifier checks it in its caller's context),
// beside a plain program, so that one program's trouble shows on that
// program only.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map;
struct task_struct;
struct vm_area_struct;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 4);
} values SEC(".maps");

// results[0] loop sum, [1] for_each sum, [2] timer fired, [3] find_vma found,
// [4] user ring buffer samples, [5] hidden global's value, [6] plain program runs
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 8);
} results SEC(".maps");

struct timer_elem {
  struct bpf_timer timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct timer_elem);
  __uint(max_entries, 1);
} timers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
  __uint(max_entries, 4096);
} user_rb SEC(".maps");

static void add_result(__u32 slot, __u64 value) {
  __u64 *r = bpf_map_lookup_elem(&results, &slot);
  if (r)
    __sync_fetch_and_add(r, value);
}

static long add_index(__u32 index, void *ctx) {
  *(__u64 *)ctx += index;
  return 0;
}

SEC("xdp")
int loops(struct xdp_md *ctx) {
  __u64 sum = 0;
  bpf_loop(10, add_index, &sum, 0);
  add_result(0, sum);
  return XDP_PASS;
}

static long sum_value(struct bpf_map *map, __u32 *key, __u64 *value, void *ctx) {
  *(__u64 *)ctx += *value;
  return 0;
}

SEC("xdp")
int for_each(struct xdp_md *ctx) {
  __u64 sum = 0;
  bpf_for_each_map_elem(&values, sum_value, &sum, 0);
  add_result(1, sum);
  return XDP_PASS;
}

static int timer_fired(void *map, __u32 *key, struct timer_elem *elem) {
  add_result(2, 1);
  return 0;
}

SEC("xdp")
int timer(struct xdp_md *ctx) {
  __u32 key = 0;
  struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
  if (!elem)
    return XDP_ABORTED;
  bpf_timer_init(&elem->timer, &timers, 1 /* CLOCK_MONOTONIC */);
  bpf_timer_set_callback(&elem->timer, timer_fired);
  bpf_timer_start(&elem->timer, 1000 /* ns */, 0);
  return XDP_PASS;
}

static long vma_found(struct task_struct *task, struct vm_area_struct *vma, void *ctx) {
  *(__u64 *)ctx = 1;
  return 0;
}

// find_vma takes a BTF task pointer: a raw tracepoint program, test-run with a context.
SEC("raw_tp/sys_enter")
int find_vma(void *ctx) {
  __u64 found = 0;
  struct task_struct *task = bpf_get_current_task_btf();
  // The address of the program's own stack is mapped in no vma of a user task: use the
  // user stack pointer the test passes as the context's first argument instead.
  __u64 addr = ((__u64 *)ctx)[0];
  bpf_find_vma(task, addr, vma_found, &found, 0);
  add_result(3, found);
  return 0;
}

static long count_sample(struct bpf_dynptr *dynptr, void *ctx) {
  *(__u64 *)ctx += 1;
  return 0;
}

SEC("xdp")
int drain(struct xdp_md *ctx) {
  __u64 samples = 0;
  bpf_user_ringbuf_drain(&user_rb, count_sample, &samples, 0);
  add_result(4, samples);
  return XDP_PASS;
}

// Checked on its own (global), `*res = 42` would dereference a pointer the verifier
// must assume null: hidden visibility makes it static in the func BTF, checked in
// the caller's context where `res` is the caller's stack.
__hidden __noinline int fill(__u64 *res) {
  *res = 42;
  return 0;
}

SEC("xdp")
int hidden_global(struct xdp_md *ctx) {
  __u64 value = 0;
  fill(&value);
  add_result(5, value);
  return XDP_PASS;
}

SEC("xdp")
int plain(struct xdp_md *ctx) {
  add_result(6, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
