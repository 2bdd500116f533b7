// Test object for the loader: programs verified against the kernel's BTF of
// what they attach to (tp_btf needs attach_btf_id; fentry too, and this
// kernel's lockdown refuses it), reading task fields with CO-RE.
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
  int pid;
  int tgid;
} __attribute__((preserve_access_index));

__u64 switches = 0;
__s32 last_next_pid = -1;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next) {
  switches++;
  last_next_pid = BPF_CORE_READ(next, pid);
  return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(on_unlink, int dfd) {
  switches++;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
