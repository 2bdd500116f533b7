// close, perf_event_open, ioctl, netlink and socket calls, rlimits, memory locking, mount.
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "addon.h"

namespace bpfkit {
namespace {

// close(fd). Never retried on EINTR: on Linux the fd is gone either way.
Napi::Value Close(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "close");
  int fd = RequireInt32(info[0], "close: fd");
  return Result(info.Env(), close(fd));
}

// perfEventOpen(attr, pid, cpu, groupFd, flags); PERF_FLAG_FD_CLOEXEC is always added.
Napi::Value PerfEventOpen(const Napi::CallbackInfo& info) {
  RequireArgs(info, 5, "perfEventOpen");
  size_t len = 0;
  void* attr = RequireBytes(info[0], "perfEventOpen: attr", &len);
  int pid = RequireInt32(info[1], "perfEventOpen: pid");
  int cpu = RequireInt32(info[2], "perfEventOpen: cpu");
  int group_fd = RequireInt32(info[3], "perfEventOpen: groupFd");
  unsigned long flags = static_cast<unsigned long>(RequireInt64(info[4], "perfEventOpen: flags"));
  if (len < PERF_ATTR_SIZE_VER0) {
    // The kernel reads attr->size bytes; refuse a buffer too short to hold even the first version.
    errno = EINVAL;
    return Result(info.Env(), -1);
  }
  return Result(info.Env(), syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC));
}

// ioctl(fd, request, arg: number | Uint8Array)
Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3, "ioctl");
  int fd = RequireInt32(info[0], "ioctl: fd");
  unsigned long request = static_cast<unsigned long>(RequireInt64(info[1], "ioctl: request"));
  long r;
  if (info[2].IsNumber()) {
    unsigned long arg = static_cast<unsigned long>(info[2].As<Napi::Number>().Int64Value());
    r = ioctl(fd, request, arg);
  } else {
    size_t len = 0;
    void* arg = RequireBytes(info[2], "ioctl: arg (number or Uint8Array)", &len);
    r = ioctl(fd, request, arg);
  }
  return Result(info.Env(), r);
}

// netlinkOpen(protocol): socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC) bound to a kernel-assigned port id.
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "netlinkOpen");
  int protocol = RequireInt32(info[0], "netlinkOpen: protocol");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return Result(info.Env(), -1);
  sockaddr_nl addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return Result(info.Env(), -1);
  }
  return Result(info.Env(), fd);
}

bool IsNetlink(int fd) {
  int domain = 0;
  socklen_t len = sizeof(domain);
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_NETLINK;
}

// send(fd, data, flags): to the kernel (nl_pid 0) on netlink sockets, plain send(2) otherwise.
Napi::Value Send(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3, "send");
  int fd = RequireInt32(info[0], "send: fd");
  size_t len = 0;
  void* data = RequireBytes(info[1], "send: data", &len);
  int flags = RequireInt32(info[2], "send: flags");
  ssize_t r;
  if (IsNetlink(fd)) {
    sockaddr_nl kernel;
    std::memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    do {
      r = sendto(fd, data, len, flags, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
    } while (r < 0 && errno == EINTR);
  } else {
    do {
      r = send(fd, data, len, flags);
    } while (r < 0 && errno == EINTR);
  }
  return Result(info.Env(), r);
}

// recv(fd, buffer, flags): bytes received (with MSG_TRUNC: the real length) or -errno.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3, "recv");
  int fd = RequireInt32(info[0], "recv: fd");
  size_t len = 0;
  void* buffer = RequireBytes(info[1], "recv: buffer", &len);
  int flags = RequireInt32(info[2], "recv: flags");
  ssize_t r;
  do {
    r = recv(fd, buffer, len, flags);
  } while (r < 0 && errno == EINTR);
  return Result(info.Env(), r);
}

Napi::Value SetSockOpt(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4, "setsockopt");
  int fd = RequireInt32(info[0], "setsockopt: fd");
  int level = RequireInt32(info[1], "setsockopt: level");
  int option = RequireInt32(info[2], "setsockopt: option");
  size_t len = 0;
  void* value = RequireBytes(info[3], "setsockopt: value", &len);
  return Result(info.Env(), setsockopt(fd, level, option, value, static_cast<socklen_t>(len)));
}

// getsockopt(fd, level, option, value): returns the option length the kernel reported, or -errno.
Napi::Value GetSockOpt(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4, "getsockopt");
  int fd = RequireInt32(info[0], "getsockopt: fd");
  int level = RequireInt32(info[1], "getsockopt: level");
  int option = RequireInt32(info[2], "getsockopt: option");
  size_t len = 0;
  void* value = RequireBytes(info[3], "getsockopt: value", &len);
  socklen_t optlen = static_cast<socklen_t>(len);
  if (getsockopt(fd, level, option, value, &optlen) < 0) return Result(info.Env(), -1);
  return Napi::Number::New(info.Env(), optlen);
}

// The kernel's struct rlimit64: two u64 on every architecture, RLIM_INFINITY = ~0.
struct KernelRlimit {
  uint64_t rlim_cur;
  uint64_t rlim_max;
};

// prlimit64(2) on this process: the same limits on every libc and word size.
long Prlimit(int resource, const KernelRlimit* new_limit, KernelRlimit* old_limit) {
  return syscall(SYS_prlimit64, 0, resource, new_limit, old_limit);
}

// getrlimit(resource): { soft, hard } as bigint (RLIM_INFINITY = 2^64 - 1) or -errno.
Napi::Value GetRlimit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "getrlimit");
  int resource = RequireInt32(info[0], "getrlimit: resource");
  KernelRlimit lim;
  if (Prlimit(resource, nullptr, &lim) < 0) return Result(info.Env(), -1);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("soft", Napi::BigInt::New(info.Env(), static_cast<uint64_t>(lim.rlim_cur)));
  out.Set("hard", Napi::BigInt::New(info.Env(), static_cast<uint64_t>(lim.rlim_max)));
  return out;
}

// Whether this process may lock memory without limit: CAP_IPC_LOCK in its effective set, or an unlimited
// RLIMIT_MEMLOCK (below that limit, locking is allowed too, but a later mmap past it would fail).
bool MayLockWithoutLimit() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) == 0 &&
      (data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK)) != 0) {
    return true;
  }
  KernelRlimit lim;
  return Prlimit(RLIMIT_MEMLOCK, nullptr, &lim) == 0 && lim.rlim_cur == RLIM64_INFINITY;
}

// populateFutureMappings(on: boolean): mlockall(MCL_FUTURE) when on, munlockall() when off.
// Locked, every page a later mmap, brk or mprotect makes usable is populated at once, where it would
// otherwise be faulted in page by page; on machines where a page fault costs far more than a page's
// share of a populate, a short process that grows its heap gains time. Only taken where locking has no
// limit to run into (MayLockWithoutLimit): past RLIMIT_MEMLOCK, a later mmap would fail instead.
// Returns 1 when future mappings are now populated, 0 when that was not allowed (nothing changed), and
// -errno when the kernel refused; `off` always unlocks and returns 0 or -errno.
Napi::Value PopulateFutureMappings(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "populateFutureMappings");
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "populateFutureMappings: on must be a boolean");
  if (!info[0].As<Napi::Boolean>().Value()) return Result(info.Env(), munlockall());
  if (!MayLockWithoutLimit()) return Napi::Number::New(info.Env(), 0);
  if (mlockall(MCL_FUTURE) < 0) return Result(info.Env(), -1);
  return Napi::Number::New(info.Env(), 1);
}

uint64_t RequireU64(const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t value = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a bigint in [0, 2^64)");
    return value;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d <= 9007199254740991.0) return static_cast<uint64_t>(d);
  }
  throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a bigint in [0, 2^64)");
}

// setrlimit(resource, soft, hard)
Napi::Value SetRlimit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3, "setrlimit");
  int resource = RequireInt32(info[0], "setrlimit: resource");
  KernelRlimit lim;
  lim.rlim_cur = RequireU64(info[1], "setrlimit: soft");
  lim.rlim_max = RequireU64(info[2], "setrlimit: hard");
  return Result(info.Env(), Prlimit(resource, &lim, nullptr));
}

// A string argument, or null (passed to the kernel as NULL).
bool OptionalString(const Napi::Value& v, const char* what, std::string* out) {
  if (v.IsNull() || v.IsUndefined()) return false;
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

// mount(source, target, fstype, flags, data | null)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4, "mount");
  std::string source, target, fstype, data;
  bool has_source = OptionalString(info[0], "mount: source", &source);
  if (!info[1].IsString()) throw Napi::TypeError::New(info.Env(), "mount: target must be a string");
  target = info[1].As<Napi::String>().Utf8Value();
  bool has_fstype = OptionalString(info[2], "mount: fstype", &fstype);
  unsigned long flags = static_cast<unsigned long>(RequireInt64(info[3], "mount: flags"));
  bool has_data = OptionalString(info[4], "mount: data", &data);
  return Result(info.Env(), mount(has_source ? source.c_str() : nullptr, target.c_str(),
                                  has_fstype ? fstype.c_str() : nullptr, flags, has_data ? data.c_str() : nullptr));
}

// umount(target, flags): umount2(2)
Napi::Value Umount(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2, "umount");
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "umount: target must be a string");
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int flags = RequireInt32(info[1], "umount: flags");
  return Result(info.Env(), umount2(target.c_str(), flags));
}

// setns(fd, nstype): moves the calling thread (the JavaScript thread) into the
// namespace of fd. Network namespaces may be entered by one thread of a
// multithreaded process (setns(2)); sockets made meanwhile stay in it.
Napi::Value SetNs(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2, "setns");
  int fd = RequireInt32(info[0], "setns: fd");
  int nstype = RequireInt32(info[1], "setns: nstype");
  return Result(info.Env(), setns(fd, nstype));
}

// socket(domain, type, protocol): SOCK_CLOEXEC is always added.
Napi::Value Socket(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3, "socket");
  int domain = RequireInt32(info[0], "socket: domain");
  int type = RequireInt32(info[1], "socket: type");
  int protocol = RequireInt32(info[2], "socket: protocol");
  return Result(info.Env(), socket(domain, type | SOCK_CLOEXEC, protocol));
}

// bind(fd, sockaddr bytes)
Napi::Value Bind(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2, "bind");
  int fd = RequireInt32(info[0], "bind: fd");
  size_t len = 0;
  void* addr = RequireBytes(info[1], "bind: address", &len);
  return Result(info.Env(), bind(fd, static_cast<sockaddr*>(addr), static_cast<socklen_t>(len)));
}

// getsockname(fd, buffer): the address length, or -errno.
Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2, "getsockname");
  int fd = RequireInt32(info[0], "getsockname: fd");
  size_t len = 0;
  void* addr = RequireBytes(info[1], "getsockname: buffer", &len);
  socklen_t addr_len = static_cast<socklen_t>(len);
  if (getsockname(fd, static_cast<sockaddr*>(addr), &addr_len) < 0) return Result(info.Env(), -1);
  return Result(info.Env(), static_cast<long>(addr_len));
}

}  // namespace

void InitSys(Napi::Env env, Napi::Object exports) {
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("perfEventOpen", Napi::Function::New(env, PerfEventOpen, "perfEventOpen"));
  exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("setsockopt", Napi::Function::New(env, SetSockOpt, "setsockopt"));
  exports.Set("getsockopt", Napi::Function::New(env, GetSockOpt, "getsockopt"));
  exports.Set("getrlimit", Napi::Function::New(env, GetRlimit, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New(env, SetRlimit, "setrlimit"));
  exports.Set("populateFutureMappings", Napi::Function::New(env, PopulateFutureMappings, "populateFutureMappings"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount", Napi::Function::New(env, Umount, "umount"));
  exports.Set("setns", Napi::Function::New(env, SetNs, "setns"));
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("getsockname", Napi::Function::New(env, GetSockName, "getsockname"));
}

}  // namespace bpfkit
