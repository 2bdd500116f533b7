// Test object for @bpfkit/elf's BTF.ext and CO-RE support. No vmlinux.h: the
// kernel types are declared here, minimal, with preserve_access_index, so
// every access is a CO-RE relocation that the loader resolves against the
// running kernel's BTF.
//
// Every program is of a type the kernel can test-run (XDP, tc) and writes
// what it computed into `results` (.bss), one __u64 per slot of
// `enum result_slot` below, so a test can compare them with the kernel BTF:
//
//   slot  program       value
//   0     core_fields   offsetof(task_struct, pid)            (FIELD_BYTE_OFFSET)
//   1     core_fields   current->pid (thread id, probe read)
//   2     core_fields   current->tgid (process id)
//   3     core_fields   current->real_parent->tgid (parent pid, subprogram)
//   4     core_fields   sizeof(task_struct.comm) = 16          (FIELD_BYTE_SIZE)
//   5     core_fields   field exists task_struct.pid = 1       (FIELD_EXISTS)
//   6     core_fields   field exists task_struct___future.bpfkit_future_field = 0
//   7     core_fields   0x600d when the missing field is skipped (its read is poisoned, dead code)
//   8     core_fields   byte offset of the word holding task_struct.in_execve (bitfield)
//   9     core_fields   byte size of that word
//   10    core_fields   LSHIFT_U64 of in_execve
//   11    core_fields   RSHIFT_U64 of in_execve (63 for a 1-bit field)
//   12    core_fields   SIGNED of in_execve (0)
//   13    core_fields   current->in_execve (BPF_CORE_READ_BITFIELD_PROBED), 0 or 1
//   14    core_fields   current->comm[0] (array access, probe read)
//   16    core_types    type exists struct task_struct = 1     (TYPE_EXISTS)
//   17    core_types    type exists struct bpfkit_missing = 0
//   18    core_types    sizeof(struct task_struct) in the kernel (TYPE_SIZE)
//   19    core_types    kernel BTF id of struct task_struct    (TYPE_ID_TARGET)
//   20    core_types    local BTF id of struct task_struct     (TYPE_ID_LOCAL)
//   21    core_types    type matches task_struct___match = 1   (TYPE_MATCHES)
//   22    core_types    type matches task_struct___nomatch = 0
//   23    core_types    enum value exists BPF_MAP_TYPE_USER_RINGBUF = 1 (ENUMVAL_EXISTS)
//   24    core_types    enum value exists BPF_MAP_TYPE_BPFKIT_NONE = 0
//   25    core_types    enum value BPF_MAP_TYPE_BLOOM_FILTER = 30 (local value 1000) (ENUMVAL_VALUE)
//   26    core_types    enum value BPF_FUNC_get_current_task_btf (158)
//   32    core_direct   current->tgid read by a direct load (LDX offset relocated)
//   33    core_direct   current->flags, declared u64 here, u32 in the kernel (load size narrowed)
//   34    core_direct   current->real_parent->tgid (direct loads)
//   35    core_direct   current->real_parent->tgid (the subprogram, probe read)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
  int pid;
  int tgid;
  struct task_struct *real_parent;
  unsigned int in_execve : 1;
  char comm[16];
} __attribute__((preserve_access_index));

// A flavour (essential name task_struct) with a field no kernel has.
struct task_struct___future {
  int bpfkit_future_field;
} __attribute__((preserve_access_index));

// `flags` is `unsigned int` in the kernel: the 8-byte load shrinks to 4 bytes.
struct task_struct___wide {
  unsigned long long flags;
} __attribute__((preserve_access_index));

// Matches the kernel's task_struct (pid_t is int there).
struct task_struct___match {
  int pid;
  int tgid;
};

// Does not match: pid is 4 bytes in the kernel.
struct task_struct___nomatch {
  unsigned long long pid;
};

struct bpfkit_missing {
  int x;
};

// Enumerators with a flavour suffix match the kernel's by essential name; the
// local values are deliberately wrong so relocation visibly changes them.
enum bpf_map_type___bpfkit {
  BPF_MAP_TYPE_USER_RINGBUF___bpfkit = 1,
  BPF_MAP_TYPE_BPFKIT_NONE___bpfkit = 2,
  BPF_MAP_TYPE_BLOOM_FILTER___bpfkit = 1000,
};

enum result_slot {
  R_PID_OFFSET = 0, R_PID, R_TGID, R_PARENT_TGID, R_COMM_SIZE, R_PID_EXISTS, R_FUTURE_EXISTS, R_FUTURE_SKIPPED,
  R_BF_OFFSET, R_BF_SIZE, R_BF_LSHIFT, R_BF_RSHIFT, R_BF_SIGNED, R_BF_VALUE, R_COMM0,
  R_TYPE_EXISTS = 16, R_TYPE_MISSING, R_TYPE_SIZE, R_TYPE_ID_KERNEL, R_TYPE_ID_LOCAL, R_TYPE_MATCHES, R_TYPE_NOMATCH,
  R_ENUM_EXISTS, R_ENUM_MISSING, R_ENUM_VALUE, R_ENUM_FUNC,
  R_DIRECT_TGID = 32, R_DIRECT_FLAGS, R_DIRECT_PARENT_TGID, R_DIRECT_SUBPROG,
  RESULT_COUNT = 40,
};

__u64 results[RESULT_COUNT];

// A subprogram with its own CO-RE relocations: linked into two programs.
static __noinline __u64 parent_tgid(struct task_struct *task) {
  return BPF_CORE_READ(task, real_parent, tgid);
}

SEC("xdp")
int core_fields(struct xdp_md *ctx) {
  struct task_struct *task = (void *)bpf_get_current_task();
  struct task_struct___future *future = (void *)task;
  char c = 0;

  results[R_PID_OFFSET] = bpf_core_field_offset(task->pid);
  results[R_PID] = BPF_CORE_READ(task, pid);
  results[R_TGID] = BPF_CORE_READ(task, tgid);
  results[R_PARENT_TGID] = parent_tgid(task);
  results[R_COMM_SIZE] = bpf_core_field_size(task->comm);
  results[R_PID_EXISTS] = bpf_core_field_exists(task->pid);
  results[R_FUTURE_EXISTS] = bpf_core_field_exists(future->bpfkit_future_field);
  if (bpf_core_field_exists(future->bpfkit_future_field))
    results[R_FUTURE_SKIPPED] = BPF_CORE_READ(future, bpfkit_future_field);
  else
    results[R_FUTURE_SKIPPED] = 0x600d;
  results[R_BF_OFFSET] = bpf_core_field_offset(task->in_execve);
  results[R_BF_SIZE] = bpf_core_field_size(task->in_execve);
  results[R_BF_LSHIFT] = __CORE_RELO(task, in_execve, LSHIFT_U64);
  results[R_BF_RSHIFT] = __CORE_RELO(task, in_execve, RSHIFT_U64);
  results[R_BF_SIGNED] = __CORE_RELO(task, in_execve, SIGNED);
  results[R_BF_VALUE] = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
  bpf_core_read(&c, 1, &task->comm[0]);
  results[R_COMM0] = c;
  return XDP_PASS;
}

SEC("xdp")
int core_types(struct xdp_md *ctx) {
  results[R_TYPE_EXISTS] = bpf_core_type_exists(struct task_struct);
  results[R_TYPE_MISSING] = bpf_core_type_exists(struct bpfkit_missing);
  results[R_TYPE_SIZE] = bpf_core_type_size(struct task_struct);
  results[R_TYPE_ID_KERNEL] = bpf_core_type_id_kernel(struct task_struct);
  results[R_TYPE_ID_LOCAL] = bpf_core_type_id_local(struct task_struct);
  results[R_TYPE_MATCHES] = bpf_core_type_matches(struct task_struct___match);
  results[R_TYPE_NOMATCH] = bpf_core_type_matches(struct task_struct___nomatch);
  results[R_ENUM_EXISTS] = bpf_core_enum_value_exists(enum bpf_map_type___bpfkit, BPF_MAP_TYPE_USER_RINGBUF___bpfkit);
  results[R_ENUM_MISSING] = bpf_core_enum_value_exists(enum bpf_map_type___bpfkit, BPF_MAP_TYPE_BPFKIT_NONE___bpfkit);
  results[R_ENUM_VALUE] = bpf_core_enum_value(enum bpf_map_type___bpfkit, BPF_MAP_TYPE_BLOOM_FILTER___bpfkit);
  results[R_ENUM_FUNC] = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_get_current_task_btf);
  return XDP_PASS;
}

SEC("tc")
int core_direct(struct __sk_buff *skb) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct task_struct___wide *wide = (void *)task;

  results[R_DIRECT_TGID] = task->tgid;
  results[R_DIRECT_FLAGS] = wide->flags;
  results[R_DIRECT_PARENT_TGID] = task->real_parent->tgid;
  results[R_DIRECT_SUBPROG] = parent_tgid(task);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
