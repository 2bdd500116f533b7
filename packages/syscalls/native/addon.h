// bpfkit native addon: shared declarations.
//
// The addon moves bytes between JavaScript and system calls. It knows no
// kernel struct layouts beyond the few fixed-size attrs of the hot map element
// commands, and the BTF record sizes of the two whole-blob passes that
// JavaScript runs too slowly cold (btf.cc); everything else is encoded in
// TypeScript.
//
// Error convention: a failed system call never throws. Functions return a
// non-negative result or -errno. Only wrong argument types/counts throw a
// JavaScript TypeError (or RangeError for an out-of-range pointer offset).
#pragma once

#include <linux/bpf.h>
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace bpfkit {

// The part of union bpf_attr used by the BPF_MAP_*_ELEM commands, shared by
// the Node-API (bpf.cc) and V8 (hot_v8.cc) entry points.
struct ElemAttr {
  uint32_t map_fd;
  uint32_t pad;
  uint64_t key;
  uint64_t value;  // next_key for BPF_MAP_GET_NEXT_KEY
  uint64_t flags;
};
static_assert(sizeof(ElemAttr) == 32, "elem attr size");
static_assert(offsetof(union bpf_attr, map_fd) == offsetof(ElemAttr, map_fd), "map_fd offset");
static_assert(offsetof(union bpf_attr, key) == offsetof(ElemAttr, key), "key offset");
static_assert(offsetof(union bpf_attr, value) == offsetof(ElemAttr, value), "value offset");
static_assert(offsetof(union bpf_attr, next_key) == offsetof(ElemAttr, value), "next_key offset");
static_assert(offsetof(union bpf_attr, flags) == offsetof(ElemAttr, flags), "flags offset");

// Returns the data pointer and byte length of a TypedArray or DataView.
// Returns false (without throwing) when `value` is neither.
bool ViewBytes(napi_env env, napi_value value, void** data, size_t* length);

// Like ViewBytes, but throws a TypeError naming `what` when value is not a view.
void* RequireBytes(const Napi::Value& value, const char* what, size_t* length);

// Throws a TypeError unless value is a number; returns it as int64.
int64_t RequireInt64(const Napi::Value& value, const char* what);
int32_t RequireInt32(const Napi::Value& value, const char* what);

// Throws a TypeError unless the call got at least `count` arguments.
void RequireArgs(const Napi::CallbackInfo& info, size_t count, const char* fn);

// Returns the number `result` (>= 0) or -errno for a failed call (result < 0).
inline Napi::Value Result(Napi::Env env, long result) {
  return Napi::Number::New(env, result < 0 ? -static_cast<double>(errno) : static_cast<double>(result));
}

// Incremented by every successful munmap() (mmap.cc): caches of buffer
// addresses (hot_v8.cc) drop what they filled before it.
extern std::atomic<uint64_t> g_unmap_generation;
inline uint64_t UnmapGeneration() {
  return g_unmap_generation.load(std::memory_order_relaxed);
}

// Registration of each part of the addon.
void InitBpf(Napi::Env env, Napi::Object exports);      // bpf, hot map paths, batch
void InitSys(Napi::Env env, Napi::Object exports);      // close, ioctl, perf, sockets, rlimit, mount
void InitMmap(Napi::Env env, Napi::Object exports);     // mmap, munmap
void InitPoller(Napi::Env env, Napi::Object exports);   // Poller class
void InitConstants(Napi::Env env, Napi::Object exports, bool v8_hot_paths);
void InitBtf(Napi::Env env, Napi::Object exports);      // btfScanTypes, btfIndexNames

// Replaces the Node-API map element hot paths by V8 callbacks when the running
// Node.js matches the headers the addon was built with (hot_v8.cc).
// Also sets exports.elemOps over `arena` (when not null) with a V8 fast call.
struct ElemArena;
bool InstallV8HotPaths(Napi::Env env, Napi::Object exports, ElemArena* arena);

}  // namespace bpfkit
