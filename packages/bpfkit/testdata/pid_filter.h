// The PID filter the bpfkit Manager keeps (PidFilter in packages/bpfkit/src/manager/pid-filter.ts),
// as a program consults it: include this header, call pid_filter_pass() first.
//
// - pid_filter (hash): key { pid as its own pid namespace sees it, 0, st_dev and st_ino of
//   /proc/<pid>/ns/pid }, value PID_FILTER_ALLOW or PID_FILTER_BLOCK. The all-zero key holds the
//   verdict for processes not listed (absent: the filter is off, everything passes).
// - pid_namespaces (array): the namespaces of the listed pids, { st_dev, st_ino }, the unused
//   slots zero. bpf_get_ns_current_pid_tgid() answers only for the namespace the task runs in,
//   so the program asks each until one answers: the task's pid as that namespace sees it.
// pid_filter is pinned by name, as Beyla pins its valid_pids, so objects loaded with the same
// pinPath (or, within one Manager, by sharing) consult one filter; load with pinPath or ignorePinning.
#ifndef BPFKIT_PID_FILTER_H
#define BPFKIT_PID_FILTER_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PID_FILTER_ALLOW 1
#define PID_FILTER_BLOCK 2
#define PID_FILTER_NAMESPACES 8

struct pid_filter_key {
  __u32 pid;
  __u32 pad;
  __u64 ns_dev;
  __u64 ns_ino;
};

struct pid_namespace {
  __u64 dev;
  __u64 ino;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct pid_filter_key);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} pid_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PID_FILTER_NAMESPACES);
  __type(key, __u32);
  __type(value, struct pid_namespace);
} pid_namespaces SEC(".maps");

// Whether the current process passes the filter.
static __always_inline int pid_filter_pass(void) {
  struct pid_filter_key key = {};
  __u8 *verdict = bpf_map_lookup_elem(&pid_filter, &key);
  if (!verdict) return 1;
  int pass_unlisted = *verdict == PID_FILTER_ALLOW;
  for (__u32 i = 0; i < PID_FILTER_NAMESPACES; i++) {
    __u32 slot = i;
    struct pid_namespace *ns = bpf_map_lookup_elem(&pid_namespaces, &slot);
    if (!ns || !ns->ino) break;
    struct bpf_pidns_info info = {};
    if (bpf_get_ns_current_pid_tgid(ns->dev, ns->ino, &info, sizeof(info))) continue;
    key.pid = info.tgid;
    key.ns_dev = ns->dev;
    key.ns_ino = ns->ino;
    verdict = bpf_map_lookup_elem(&pid_filter, &key);
    if (verdict) return *verdict == PID_FILTER_ALLOW;
    break;
  }
  return pass_unlisted;
}

#endif
