// Test object for the loader: a TCP congestion control declared as a
// struct_ops map in .struct_ops.link (stored by a map update, registered
// only by a link, so loading it changes nothing on the machine). The local
// struct_ops type lists only the members used, at offsets of its own: the
// loader places them into the kernel's layout by name.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct sock;

struct tcp_congestion_ops {
  __u32 (*ssthresh)(struct sock *sk);
  void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
  __u32 (*undo_cwnd)(struct sock *sk);
  void (*init)(struct sock *sk);
  char name[16];
  __u32 flags;
} __attribute__((preserve_access_index));

__u64 calls = 0;

SEC("struct_ops/bpfkit_ssthresh")
__u32 BPF_PROG(bpfkit_ssthresh, struct sock *sk) {
  calls++;
  return 2;
}

SEC("struct_ops/bpfkit_cong_avoid")
void BPF_PROG(bpfkit_cong_avoid, struct sock *sk, __u32 ack, __u32 acked) {
  calls++;
}

SEC("struct_ops/bpfkit_undo_cwnd")
__u32 BPF_PROG(bpfkit_undo_cwnd, struct sock *sk) {
  return 10;
}

SEC("struct_ops/bpfkit_init")
void BPF_PROG(bpfkit_init, struct sock *sk) {
  calls = 0;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops bpfkit_cc = {
  .ssthresh = (void *)bpfkit_ssthresh,
  .cong_avoid = (void *)bpfkit_cong_avoid,
  .undo_cwnd = (void *)bpfkit_undo_cwnd,
  .init = (void *)bpfkit_init,
  .name = "bpfkit_cc",
  .flags = 1, // TCP_CONG_NON_RESTRICTED
};
