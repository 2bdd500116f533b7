// exec-snoop: every exec with its pid, parent pid, comm and file name, from
// two tracepoints and a ring buffer.
//
// sched_process_fork records each new task's parent in an LRU map;
// sched_process_exec looks the parent up and sends the event. The fork
// record's layout changed: its comms were `char[16]` inline until they became
// `__data_loc` strings (6.x), so user space reads the tracepoint's format and
// sets `fork_comm_inline` before load (a constant: the verifier drops the
// other branch).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define COMM_LEN 16
#define FILENAME_LEN 256

struct event {
  __u32 pid;
  __u32 ppid;
  char comm[COMM_LEN];
  char filename[FILENAME_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, __u32);    // child pid
  __type(value, __u32);  // parent pid
  __uint(max_entries, 16384);
} parents SEC(".maps");

const volatile __u8 fork_comm_inline = 0;

// The records as /sys/kernel/tracing/events/sched/*/format lay them out, after
// the 8 bytes of common fields.
struct fork_data_loc {
  __u64 common;
  __u32 parent_comm;  // __data_loc: offset in the low 16 bits, length in the high
  __s32 parent_pid;
  __u32 child_comm;
  __s32 child_pid;
};

struct fork_inline {
  __u64 common;
  char parent_comm[COMM_LEN];
  __s32 parent_pid;
  char child_comm[COMM_LEN];
  __s32 child_pid;
};

struct exec_record {
  __u64 common;
  __u32 filename;  // __data_loc
  __s32 pid;
  __s32 old_pid;
};

// The record type of the ring buffer, named in the object's BTF (a pointer no code uses), so user
// space decodes records with `collection.codec('struct event')`.
struct event *unused_event __attribute__((unused));

SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx) {
  __u32 parent = 0, child = 0;
  // Read at an offset chosen by the constant: clang folds the two layouts into one pointer
  // computation, which the verifier refuses for plain context loads (a modified ctx pointer),
  // so the fields are read with bpf_probe_read_kernel (the record is kernel memory).
  __u32 parent_at = fork_comm_inline ? __builtin_offsetof(struct fork_inline, parent_pid)
                                     : __builtin_offsetof(struct fork_data_loc, parent_pid);
  __u32 child_at = fork_comm_inline ? __builtin_offsetof(struct fork_inline, child_pid)
                                    : __builtin_offsetof(struct fork_data_loc, child_pid);
  bpf_probe_read_kernel(&parent, sizeof(parent), (char *)ctx + parent_at);
  bpf_probe_read_kernel(&child, sizeof(child), (char *)ctx + child_at);
  bpf_map_update_elem(&parents, &child, &parent, BPF_ANY);
  return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct exec_record *ctx) {
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  __u32 pid = ctx->pid;
  e->pid = pid;
  __u32 *parent = bpf_map_lookup_elem(&parents, &pid);
  e->ppid = parent ? *parent : 0;  // 0: forked before we started watching
  bpf_get_current_comm(&e->comm, sizeof(e->comm));
  bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), (void *)ctx + (ctx->filename & 0xffff));
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
