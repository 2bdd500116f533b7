// Test object for the loader: __kconfig and __ksym externs. A socket filter
// (test-runnable here) writes what it resolved into .bss for the test to
// compare with /proc/config.gz, uname, kallsyms and the kernel's BTF.
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

// libbpf 1.1's bpf_helpers.h has enum libbpf_tristate but not bpf_ksym_exists().
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) (!!(sym))
#endif

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern int CONFIG_HZ __kconfig;
extern char CONFIG_LOCALVERSION[16] __kconfig;
extern bool CONFIG_BPFKIT_NO_SUCH_OPTION __kconfig __weak;

// A per-CPU kernel variable by BTF (typed ksym; weak, since the kernel finds
// it through kallsyms and data symbols need CONFIG_KALLSYMS_ALL), a kernel
// symbol's address (typeless ksym), kernel functions (kfuncs, weak: older
// kernels lack them), one of them absent everywhere.
extern const int bpf_prog_active __ksym __weak;
extern const void __x64_sys_bpf __ksym;
extern void bpf_rcu_read_lock(void) __ksym __weak;   // kfuncs since 6.2
extern void bpf_rcu_read_unlock(void) __ksym __weak;
extern void bpfkit_no_such_kfunc(void) __ksym __weak;

__u32 kernel_version = 0;
__u32 bpf_syscall = 0;
__u32 bpf_jit = 0;
__s32 hz = 0;
char localversion[16] = {};
__u32 missing_option = 0;
__u64 sys_bpf_address = 0;
__s32 prog_active = -1;
__u32 kfunc_exists = 0;
__u32 missing_kfunc_exists = 0;

SEC("socket")
int read_externs(struct __sk_buff *skb) {
  kernel_version = LINUX_KERNEL_VERSION;
  bpf_syscall = CONFIG_BPF_SYSCALL;
  bpf_jit = CONFIG_BPF_JIT;
  hz = CONFIG_HZ;
  __builtin_memcpy(localversion, CONFIG_LOCALVERSION, sizeof(localversion));
  missing_option = CONFIG_BPFKIT_NO_SUCH_OPTION;
  sys_bpf_address = (__u64)&__x64_sys_bpf;
  if (bpf_ksym_exists(&bpf_prog_active)) {
    const int *active = bpf_this_cpu_ptr(&bpf_prog_active);
    prog_active = *active;
  }
  if (bpf_ksym_exists(bpf_rcu_read_lock) && bpf_ksym_exists(bpf_rcu_read_unlock)) {
    bpf_rcu_read_lock();
    bpf_rcu_read_unlock();
    kfunc_exists = 1;
  }
  missing_kfunc_exists = bpf_ksym_exists(bpfkit_no_such_kfunc);
  if (bpf_ksym_exists(bpfkit_no_such_kfunc)) bpfkit_no_such_kfunc();
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
