// The element arena: one block of memory per Node.js environment that holds
// the keys and values of the map element commands, so JavaScript can name
// them by offset (see elem_arena.cc for why).
#pragma once

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "addon.h"

namespace bpfkit {

// Bytes of the arena. Only the pages JavaScript writes are ever faulted in.
constexpr uint32_t kElemArenaBytes = 1u << 20;

struct ElemArena {
  uint8_t* base;  // kElemArenaBytes read-write, then one PROT_NONE guard page
};

// Maps a new arena; nullptr when the kernel refuses the memory.
ElemArena* NewElemArena();
void FreeElemArena(ElemArena* arena);
// Frees the arena when the environment is torn down; false (and the arena freed) if that cannot be arranged.
bool OwnElemArena(Napi::Env env, ElemArena* arena);

inline bool IsElemCommand(int32_t cmd) {
  return cmd == BPF_MAP_LOOKUP_ELEM || cmd == BPF_MAP_UPDATE_ELEM || cmd == BPF_MAP_DELETE_ELEM ||
         cmd == BPF_MAP_GET_NEXT_KEY || cmd == BPF_MAP_LOOKUP_AND_DELETE_ELEM;
}

// -1 names no buffer (NULL to the kernel); anything else must start inside the arena.
inline bool InArena(int32_t offset) {
  return offset == -1 || static_cast<uint32_t>(offset) < kElemArenaBytes;
}

inline uint64_t ArenaAddress(const ElemArena* arena, int32_t offset) {
  return offset == -1 ? 0 : reinterpret_cast<uintptr_t>(arena->base) + static_cast<uint32_t>(offset);
}

// bpf(cmd, attr, size) as -errno or the result. On x86-64 the system call instruction itself, where libc's
// syscall() would add a call into another page and a write of errno: after a system call a kernel that
// isolates its page tables without PCID leaves an empty TLB (see elem_arena.cc), so each page the return path
// touches costs a page walk. Measured there on a 1M-entry hash map: lookups 2-3% faster (ns/op, interleaved
// in one process).
inline long ElemBpf(int32_t cmd, void* attr, unsigned long size) {
#if defined(__x86_64__)
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "0"(static_cast<long>(SYS_bpf)), "D"(static_cast<long>(cmd)), "S"(attr), "d"(size)
                   : "rcx", "r11", "memory");
  return r;
#else
  long r = syscall(SYS_bpf, cmd, attr, size);
  return r < 0 ? -errno : r;
#endif
}

// elem(cmd, fd, keyOffset, valueOffset, flags): one element command on the arena's bytes.
// Returns the result or -errno; -EINVAL, without a system call, for a command that is not an
// element command or an offset outside the arena. (The V8 fast call cannot throw: the
// Node-API form answers the same way so both behave alike.)
inline int32_t ArenaElem(const ElemArena* arena, int32_t cmd, int32_t fd, int32_t key, int32_t value,
                         uint32_t flags) {
  if (!IsElemCommand(cmd) || !InArena(key) || !InArena(value)) return -EINVAL;
  ElemAttr attr;
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.key = ArenaAddress(arena, key);
  attr.value = ArenaAddress(arena, value);
  attr.flags = flags;
  return static_cast<int32_t>(ElemBpf(cmd, &attr, sizeof(attr)));
}

// Sets exports.elemOps = { arena, elem } with a Node-API elem (the V8 form is in hot_v8.cc).
void InstallNapiElemOps(Napi::Env env, Napi::Object exports, ElemArena* arena);

}  // namespace bpfkit
