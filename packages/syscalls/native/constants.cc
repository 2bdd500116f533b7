// Constants whose values depend on the architecture or the C library, taken
// from the headers this addon is compiled against. Exposed frozen as
// `constants`.
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "addon.h"

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef SO_DETACH_BPF
#define SO_DETACH_BPF SO_DETACH_FILTER
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace bpfkit {

void InitConstants(Napi::Env env, Napi::Object exports, bool v8_hot_paths) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, double value) { c.Set(name, Napi::Number::New(env, value)); };
#define C(name) set(#name, static_cast<double>(name))

  // 1 when the map element hot paths are V8 callbacks, 0 when they are Node-API functions.
  set("HOT_PATHS_V8", v8_hot_paths ? 1 : 0);

  // System call numbers.
  set("NR_bpf", SYS_bpf);
  set("NR_perf_event_open", SYS_perf_event_open);
  set("PAGE_SIZE", static_cast<double>(sysconf(_SC_PAGESIZE)));
  set("SIZEOF_LONG", sizeof(long));
  set("SIZEOF_POINTER", sizeof(void*));
  set("NPROCESSORS_CONF", static_cast<double>(sysconf(_SC_NPROCESSORS_CONF)));

  // Poller events (poll(2) bits; the Poller takes and reports these).
  C(POLLIN);
  C(POLLPRI);
  C(POLLOUT);
  C(POLLERR);
  C(POLLHUP);
  C(POLLRDHUP);

  // mmap(2)
  C(PROT_NONE);
  C(PROT_READ);
  C(PROT_WRITE);
  C(MAP_SHARED);
  C(MAP_PRIVATE);

  // open(2) / fcntl(2)
  C(O_RDONLY);
  C(O_WRONLY);
  C(O_RDWR);
  C(O_CLOEXEC);
  C(O_NONBLOCK);

  // perf_event_open(2) and its ioctls
  C(PERF_FLAG_FD_NO_GROUP);
  C(PERF_FLAG_FD_OUTPUT);
  C(PERF_FLAG_PID_CGROUP);
  C(PERF_FLAG_FD_CLOEXEC);
  C(PERF_EVENT_IOC_ENABLE);
  C(PERF_EVENT_IOC_DISABLE);
  C(PERF_EVENT_IOC_REFRESH);
  C(PERF_EVENT_IOC_RESET);
  C(PERF_EVENT_IOC_PERIOD);
  C(PERF_EVENT_IOC_SET_OUTPUT);
  C(PERF_EVENT_IOC_SET_FILTER);
  C(PERF_EVENT_IOC_ID);
  C(PERF_EVENT_IOC_SET_BPF);
  C(PERF_EVENT_IOC_PAUSE_OUTPUT);
  C(PERF_EVENT_IOC_QUERY_BPF);
  C(PERF_EVENT_IOC_MODIFY_ATTRIBUTES);
  C(PERF_ATTR_SIZE_VER0);

  // Sockets and netlink
  C(AF_NETLINK);
  C(AF_UNIX);
  C(AF_INET);
  C(AF_INET6);
  C(AF_PACKET);
  C(SOCK_RAW);
  C(SOCK_DGRAM);
  C(SOCK_STREAM);
  C(SOCK_CLOEXEC);
  C(SOCK_NONBLOCK);
  C(SOL_SOCKET);
  C(SOL_NETLINK);
  C(SO_RCVBUF);
  C(SO_SNDBUF);
  C(SO_RCVBUFFORCE);
  C(SO_SNDBUFFORCE);
  C(SO_ATTACH_BPF);
  C(SO_DETACH_BPF);
  C(SO_ATTACH_FILTER);
  C(SO_DETACH_FILTER);
  C(SO_DOMAIN);
  C(SO_TYPE);
  C(SO_PROTOCOL);
  C(SO_REUSEPORT);
  C(SO_REUSEADDR);
  C(SO_ATTACH_REUSEPORT_EBPF);
  C(SO_DETACH_REUSEPORT_BPF);
  C(SOL_IP);
  C(IPPROTO_UDP);
  C(IPPROTO_TCP);
  C(CLONE_NEWNET);
  C(MSG_DONTWAIT);
  C(MSG_PEEK);
  C(MSG_TRUNC);
  C(MSG_WAITALL);
  C(NETLINK_ROUTE);
  C(NETLINK_GENERIC);
  C(NETLINK_EXT_ACK);
  C(NETLINK_GET_STRICT_CHK);
  C(NETLINK_ADD_MEMBERSHIP);
  C(NETLINK_DROP_MEMBERSHIP);

  // Resource limits
  C(RLIMIT_MEMLOCK);
  C(RLIMIT_NOFILE);

  // mount(2) / umount2(2)
  C(MS_RDONLY);
  C(MS_NOSUID);
  C(MS_NODEV);
  C(MS_NOEXEC);
  C(MS_REMOUNT);
  C(MS_BIND);
  C(MS_REC);
  C(MS_PRIVATE);
  C(MS_SHARED);
  C(MS_SLAVE);
  C(MNT_FORCE);
  C(MNT_DETACH);
  C(MNT_EXPIRE);
  C(UMOUNT_NOFOLLOW);

  // errno values (returned negated by every function).
  C(EPERM);
  C(ENOENT);
  C(ESRCH);
  C(EINTR);
  C(EIO);
  C(ENXIO);
  C(E2BIG);
  C(ENOEXEC);
  C(EBADF);
  C(EBADFD);
  C(ECHILD);
  C(EAGAIN);
  C(ENOMEM);
  C(EACCES);
  C(EFAULT);
  C(EBUSY);
  C(EEXIST);
  C(EXDEV);
  C(ENODEV);
  C(ENOTDIR);
  C(EISDIR);
  C(EINVAL);
  C(ENFILE);
  C(EMFILE);
  C(ENOTTY);
  C(EFBIG);
  C(ENOSPC);
  C(ESPIPE);
  C(EROFS);
  C(EPIPE);
  C(ERANGE);
  C(EDEADLK);
  C(ENAMETOOLONG);
  C(ENOSYS);
  C(ENOTEMPTY);
  C(ELOOP);
  C(ENODATA);
  C(ENOLINK);
  C(EPROTO);
  C(EBADMSG);
  C(EOVERFLOW);
  C(ENOTSOCK);
  C(EMSGSIZE);
  C(EPROTONOSUPPORT);
  C(EOPNOTSUPP);
  C(EAFNOSUPPORT);
  C(EADDRINUSE);
  C(EADDRNOTAVAIL);
  C(ENETDOWN);
  C(ENOBUFS);
  C(EISCONN);
  C(ENOTCONN);
  C(ETIMEDOUT);
  C(ECONNREFUSED);
  C(EALREADY);
  C(EINPROGRESS);
  C(ECANCELED);
  set("ENOTSUPP", 524);  // kernel-internal, yet returned to user space by some bpf paths

#undef C
  napi_object_freeze(env, c);
  exports.Set("constants", c);
}

}  // namespace bpfkit
