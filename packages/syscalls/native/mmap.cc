// mmap(2) of a file descriptor as an ArrayBuffer over the mapping (no copy),
// and munmap(2) that detaches the ArrayBuffer before unmapping.
//
// Every live mapping is recorded in a registry keyed by address, so munmap
// only ever unmaps memory this addon mapped (anything else is -EINVAL), and
// a mapping is unmapped exactly once: by munmap, or by the ArrayBuffer's
// finalizer when the garbage collector frees a buffer nobody unmapped.
#include <sys/mman.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "addon.h"

namespace bpfkit {
namespace {

struct Mapping {
  void* address;
  size_t length;
  bool unmapped;
};

std::mutex registry_mutex;
std::unordered_map<uintptr_t, Mapping*>& Registry() {
  static auto* registry = new std::unordered_map<uintptr_t, Mapping*>();
  return *registry;
}

// Finalizer of the ArrayBuffer: unmaps what munmap did not, frees the record.
void FinalizeMapping(napi_env /*env*/, void* /*data*/, void* hint) {
  auto* m = static_cast<Mapping*>(hint);
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = Registry().find(reinterpret_cast<uintptr_t>(m->address));
    if (it != Registry().end() && it->second == m) Registry().erase(it);
  }
  if (!m->unmapped) {
    munmap(m->address, m->length);
    g_unmap_generation.fetch_add(1, std::memory_order_relaxed);
  }
  delete m;
}

// mmap(fd, length, prot, flags, offset): ArrayBuffer or -errno.
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 5, "mmap");
  int fd = RequireInt32(info[0], "mmap: fd");
  int64_t length = RequireInt64(info[1], "mmap: length");
  int prot = RequireInt32(info[2], "mmap: prot");
  int flags = RequireInt32(info[3], "mmap: flags");
  int64_t offset = RequireInt64(info[4], "mmap: offset");
  if (length <= 0 || offset < 0) return Napi::Number::New(env, -EINVAL);
  void* address = mmap(nullptr, static_cast<size_t>(length), prot, flags, fd, static_cast<off_t>(offset));
  if (address == MAP_FAILED) return Napi::Number::New(env, -errno);
  auto* m = new Mapping{address, static_cast<size_t>(length), false};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    Registry()[reinterpret_cast<uintptr_t>(address)] = m;
  }
  napi_value buffer;
  napi_status status =
      napi_create_external_arraybuffer(env, address, static_cast<size_t>(length), FinalizeMapping, m, &buffer);
  if (status != napi_ok) {
    {
      std::lock_guard<std::mutex> lock(registry_mutex);
      Registry().erase(reinterpret_cast<uintptr_t>(address));
    }
    munmap(address, static_cast<size_t>(length));
    delete m;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return Napi::Value();  // let the pending exception propagate
    // The runtime refuses external buffers (e.g. a V8 sandbox build).
    return Napi::Number::New(env, -EOPNOTSUPP);
  }
  return Napi::Value(env, buffer);
}

// munmap(mapping): detach, then unmap. -EINVAL for a detached buffer or one this addon did not map.
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 1, "munmap");
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "munmap: mapping must be an ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  void* address = nullptr;
  size_t length = 0;
  if (napi_get_arraybuffer_info(env, buffer, &address, &length) != napi_ok || address == nullptr) {
    return Napi::Number::New(env, -EINVAL);
  }
  Mapping* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = Registry().find(reinterpret_cast<uintptr_t>(address));
    if (it == Registry().end() || it->second->length != length || it->second->unmapped) {
      return Napi::Number::New(env, -EINVAL);
    }
    m = it->second;
    if (napi_detach_arraybuffer(env, buffer) != napi_ok) return Napi::Number::New(env, -EINVAL);
    Registry().erase(it);
    m->unmapped = true;
    g_unmap_generation.fetch_add(1, std::memory_order_relaxed);
  }
  // JavaScript can no longer reach the memory: unmap it. The finalizer only frees the record.
  return Result(env, munmap(m->address, m->length));
}

}  // namespace

std::atomic<uint64_t> g_unmap_generation{1};

void InitMmap(Napi::Env env, Napi::Object exports) {
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
}

}  // namespace bpfkit
