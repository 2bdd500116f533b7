// bpf(2): the generic entry point with pointer patching, the map element hot
// paths and the batch commands.
//
// The hot paths (mapLookup, mapUpdate, mapDelete, mapNextKey,
// mapLookupAndDelete) are written against the raw Node-API C interface: a
// fixed argv array on the stack, no handle scope, no object creation, one
// int32 result. They build the 32-byte element attr on the stack and pass only
// those 32 bytes to the kernel (the kernel zero-fills the rest of its attr).
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"

namespace bpfkit {
namespace {


// The part of union bpf_attr used by the BPF_MAP_*_BATCH commands.
struct BatchAttr {
  uint64_t in_batch;
  uint64_t out_batch;
  uint64_t keys;
  uint64_t values;
  uint32_t count;
  uint32_t map_fd;
  uint64_t elem_flags;
  uint64_t flags;
};
static_assert(sizeof(BatchAttr) == 56, "batch attr size");
static_assert(offsetof(union bpf_attr, batch.in_batch) == offsetof(BatchAttr, in_batch), "in_batch");
static_assert(offsetof(union bpf_attr, batch.out_batch) == offsetof(BatchAttr, out_batch), "out_batch");
static_assert(offsetof(union bpf_attr, batch.keys) == offsetof(BatchAttr, keys), "keys");
static_assert(offsetof(union bpf_attr, batch.values) == offsetof(BatchAttr, values), "values");
static_assert(offsetof(union bpf_attr, batch.count) == offsetof(BatchAttr, count), "count");
static_assert(offsetof(union bpf_attr, batch.map_fd) == offsetof(BatchAttr, map_fd), "batch map_fd");
static_assert(offsetof(union bpf_attr, batch.elem_flags) == offsetof(BatchAttr, elem_flags), "elem_flags");
static_assert(offsetof(union bpf_attr, batch.flags) == offsetof(BatchAttr, flags), "batch flags");

inline long SysBpf(int cmd, void* attr, size_t size) {
  return syscall(SYS_bpf, cmd, attr, size);
}

// Keeps SIGPROF blocked on the calling thread while it lives, for the commands a pending signal cuts short:
// the verifier gives up with EAGAIN when a signal is pending (kernel/bpf/verifier.c, do_check, since 4.20), and a
// repeated BPF_PROG_TEST_RUN stops with EINTR between two runs (net/bpf/test_run.c, bpf_test_timer_continue).
// V8's CPU profiler (--cpu-prof, --prof, the inspector) samples the JavaScript thread by sending it SIGPROF
// every 50 us to 1 ms, so a longer verification or test run failed on every attempt. A blocked signal stays
// pending without interrupting the call, and is taken when the old mask comes back (the profiler gets that sample
// late). Other signals (Ctrl-C, SIGCHLD) still interrupt, and the callers try again.
class ProfilerSignalBlock {
 public:
  explicit ProfilerSignalBlock(int cmd) {
    if (cmd != BPF_PROG_LOAD && cmd != BPF_PROG_TEST_RUN) return;
    sigset_t profiler;
    sigemptyset(&profiler);
    sigaddset(&profiler, SIGPROF);
    active_ = pthread_sigmask(SIG_BLOCK, &profiler, &old_) == 0;
  }
  ~ProfilerSignalBlock() {
    if (active_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ProfilerSignalBlock(const ProfilerSignalBlock&) = delete;
  ProfilerSignalBlock& operator=(const ProfilerSignalBlock&) = delete;

 private:
  bool active_ = false;
  sigset_t old_;
};

// bpf(cmd, …) for the generic entry points, with SIGPROF held off where it would cut the command short. errno is
// read before the old mask comes back and set again after, so the caller sees the system call's own.
inline long SysBpfUninterrupted(int cmd, void* attr, size_t size) {
  long r;
  int err;
  {
    ProfilerSignalBlock block(cmd);
    r = SysBpf(cmd, attr, size);
    err = errno;
  }
  errno = err;
  return r;
}

// ---- raw Node-API helpers for the hot paths --------------------------------

inline napi_value ThrowType(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

inline napi_value ReturnInt(napi_env env, long r) {
  napi_value out;
  napi_create_int32(env, r < 0 ? -errno : static_cast<int32_t>(r), &out);
  return out;
}

// Address of a TypedArray's first byte.
inline bool Address(napi_env env, napi_value v, uint64_t* out) {
  void* data;
  // Only the data pointer: asking for the type or length costs a chain of type checks.
  if (napi_get_typedarray_info(env, v, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok) return false;
  *out = reinterpret_cast<uintptr_t>(data);
  return true;
}

// Address of a TypedArray's first byte, or 0 for null/undefined.
inline bool NullableAddress(napi_env env, napi_value v, uint64_t* out) {
  if (Address(env, v, out)) return true;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_null || t == napi_undefined) {
    *out = 0;
    return true;
  }
  return false;
}

inline bool U32(napi_env env, napi_value v, uint32_t* out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

inline bool I32(napi_env env, napi_value v, int32_t* out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// mapLookup / mapUpdate / mapLookupAndDelete (fd, key | null, value, flags).
// A null key is passed as NULL: queue/stack maps (peek, push, pop) and bloom filters want that.
template <int kCmd>
napi_value ElemKeyValueFlags(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void* usage;  // the function's usage message, bound at creation
  napi_get_cb_info(env, info, &argc, argv, nullptr, &usage);
  int32_t fd;
  uint32_t flags;
  ElemAttr attr;
  bool ok = I32(env, argv[0], &fd) &&
            NullableAddress(env, argv[1], &attr.key) &&
            Address(env, argv[2], &attr.value) && U32(env, argv[3], &flags);
  if (!ok) return ThrowType(env, static_cast<const char*>(usage));
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.flags = flags;
  return ReturnInt(env, SysBpf(kCmd, &attr, sizeof(attr)));
}

// mapDelete(fd, key, flags)
napi_value MapDelete(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t fd;
  uint32_t flags;
  ElemAttr attr;
  if (argc < 3 || !I32(env, argv[0], &fd) || !Address(env, argv[1], &attr.key) || !U32(env, argv[2], &flags)) {
    return ThrowType(env, "mapDelete expects (fd: number, key: Uint8Array, flags: number)");
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.value = 0;
  attr.flags = flags;
  return ReturnInt(env, SysBpf(BPF_MAP_DELETE_ELEM, &attr, sizeof(attr)));
}

// mapNextKey(fd, key | null, nextKey)
napi_value MapNextKey(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t fd;
  ElemAttr attr;
  if (argc < 3 || !I32(env, argv[0], &fd) || !NullableAddress(env, argv[1], &attr.key) ||
      !Address(env, argv[2], &attr.value)) {
    return ThrowType(env, "mapNextKey expects (fd: number, key: Uint8Array | null, nextKey: Uint8Array)");
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.flags = 0;
  return ReturnInt(env, SysBpf(BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)));
}

Napi::Value RawFunction(napi_env env, const char* name, napi_callback cb, const char* usage = nullptr) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, const_cast<char*>(usage), &fn),
                       Napi::Value());
  return Napi::Value(env, fn);
}

// ---- generic and batch entry points (node-addon-api) -----------------------

// Writes the address of ptrBuffers[i] (0 for null) at byte ptrOffsets[i] of attr, for each i: what
// bpf() and bpfAsync() take their pointer arguments as. `keep`, when given, gets a reference to each buffer.
void PatchPointers(const Napi::CallbackInfo& info, const char* fn, uint8_t* attr, size_t attr_len,
                   std::vector<Napi::Reference<Napi::Value>>* keep) {
  Napi::Env env = info.Env();
  Napi::Value offsets_v = info[2];
  Napi::Value buffers_v = info[3];
  bool has_offsets = !offsets_v.IsUndefined() && !offsets_v.IsNull();
  bool has_buffers = !buffers_v.IsUndefined() && !buffers_v.IsNull();
  if (!has_offsets && !has_buffers) return;
  std::string name(fn);
  if (!offsets_v.IsArray() || !buffers_v.IsArray()) {
    throw Napi::TypeError::New(env, name + ": ptrOffsets and ptrBuffers must both be arrays");
  }
  Napi::Array offsets = offsets_v.As<Napi::Array>();
  Napi::Array buffers = buffers_v.As<Napi::Array>();
  uint32_t n = offsets.Length();
  if (buffers.Length() != n) throw Napi::TypeError::New(env, name + ": ptrOffsets and ptrBuffers must have the same length");
  std::string what = name + ": ptrBuffers[i]";
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value off_v = offsets.Get(i);
    if (!off_v.IsNumber()) throw Napi::TypeError::New(env, name + ": ptrOffsets must hold numbers");
    double off = off_v.As<Napi::Number>().DoubleValue();
    if (!(off >= 0) || off + 8 > static_cast<double>(attr_len) || off != static_cast<double>(static_cast<size_t>(off))) {
      throw Napi::RangeError::New(env, name + ": ptrOffsets[" + std::to_string(i) + "] = " + std::to_string(off) +
                                           " does not leave 8 bytes inside attr (" + std::to_string(attr_len) + " bytes)");
    }
    Napi::Value buf_v = buffers.Get(i);
    uint64_t address = 0;
    if (!buf_v.IsNull() && !buf_v.IsUndefined()) {
      size_t len = 0;
      address = reinterpret_cast<uintptr_t>(RequireBytes(buf_v, what.c_str(), &len));
      if (keep != nullptr) keep->push_back(Napi::Persistent(buf_v));
    }
    std::memcpy(attr + static_cast<size_t>(off), &address, sizeof(address));
  }
}

// bpf(cmd, attr, ptrOffsets?, ptrBuffers?)
Napi::Value Bpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 2, "bpf");
  int32_t cmd = RequireInt32(info[0], "bpf: cmd");
  size_t attr_len = 0;
  auto* attr = static_cast<uint8_t*>(RequireBytes(info[1], "bpf: attr", &attr_len));
  PatchPointers(info, "bpf", attr, attr_len, nullptr);
  return Result(env, SysBpfUninterrupted(cmd, attr, attr_len));
}

// bpfAsync(cmd, attr, ptrOffsets?, ptrBuffers?) -> Promise<number>: bpf() on the libuv thread pool, for
// commands that take long (BPF_PROG_LOAD of a large program: the verifier runs in the calling thread).
// The attr and every buffer it points to stay referenced until the call returns, so a garbage
// collection cannot free memory the kernel reads or writes; the caller must not touch them meanwhile.
class BpfWork : public Napi::AsyncWorker {
 public:
  BpfWork(Napi::Env env, int cmd, uint8_t* attr, size_t attr_len, std::vector<Napi::Reference<Napi::Value>> keep)
      : Napi::AsyncWorker(env, "bpfkit:bpfAsync"),
        deferred_(Napi::Promise::Deferred::New(env)),
        cmd_(cmd),
        attr_(attr),
        attr_len_(attr_len),
        keep_(std::move(keep)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    // On a pool thread: V8's profiler signals only the JavaScript thread, but a process-wide SIGPROF
    // (setitimer(ITIMER_PROF)) may land on any thread that does not block it.
    result_ = SysBpfUninterrupted(cmd_, attr_, attr_len_);
    errno_ = result_ < 0 ? errno : 0;
  }

  void OnOK() override {
    double value = result_ < 0 ? -static_cast<double>(errno_) : static_cast<double>(result_);
    deferred_.Resolve(Napi::Number::New(Env(), value));
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int cmd_;
  uint8_t* attr_;
  size_t attr_len_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
  long result_ = 0;
  int errno_ = 0;
};

Napi::Value BpfAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 2, "bpfAsync");
  int32_t cmd = RequireInt32(info[0], "bpfAsync: cmd");
  size_t attr_len = 0;
  auto* attr = static_cast<uint8_t*>(RequireBytes(info[1], "bpfAsync: attr", &attr_len));
  std::vector<Napi::Reference<Napi::Value>> keep;
  keep.push_back(Napi::Persistent(info[1]));
  PatchPointers(info, "bpfAsync", attr, attr_len, &keep);
  auto* work = new BpfWork(env, cmd, attr, attr_len, std::move(keep));
  Napi::Promise promise = work->Promise();
  work->Queue();
  return promise;
}

void NullableAddressOf(const Napi::Value& v, const char* what, uint64_t* out) {
  if (v.IsNull() || v.IsUndefined()) {
    *out = 0;
  } else {
    size_t len = 0;
    *out = reinterpret_cast<uintptr_t>(RequireBytes(v, what, &len));
  }
}

// mapBatch(cmd, fd, inBatch, outBatch, keys, values, count, elemFlags, flags)
Napi::Value MapBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 9, "mapBatch");
  int32_t cmd = RequireInt32(info[0], "mapBatch: cmd");
  int32_t fd = RequireInt32(info[1], "mapBatch: fd");
  BatchAttr attr;
  std::memset(&attr, 0, sizeof(attr));
  NullableAddressOf(info[2], "mapBatch: inBatch", &attr.in_batch);
  NullableAddressOf(info[3], "mapBatch: outBatch", &attr.out_batch);
  NullableAddressOf(info[4], "mapBatch: keys", &attr.keys);
  NullableAddressOf(info[5], "mapBatch: values", &attr.values);
  if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[6].As<Napi::TypedArray>().ElementLength() < 1) {
    throw Napi::TypeError::New(env, "mapBatch: count must be a Uint32Array of length >= 1");
  }
  Napi::Uint32Array count = info[6].As<Napi::Uint32Array>();
  attr.count = count[0];
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.elem_flags = static_cast<uint64_t>(RequireInt64(info[7], "mapBatch: elemFlags"));
  attr.flags = static_cast<uint64_t>(RequireInt64(info[8], "mapBatch: flags"));
  long r = SysBpf(cmd, &attr, sizeof(attr));
  int err = errno;
  count[0] = attr.count;  // the kernel writes the processed count back, also on error
  return Napi::Number::New(env, r < 0 ? -err : r);
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("bpf", Napi::Function::New(env, Bpf, "bpf"));
  exports.Set("bpfAsync", Napi::Function::New(env, BpfAsync, "bpfAsync"));
  exports.Set("mapBatch", Napi::Function::New(env, MapBatch, "mapBatch"));
  exports.Set("mapLookup",
              RawFunction(env, "mapLookup", ElemKeyValueFlags<BPF_MAP_LOOKUP_ELEM>,
                          "mapLookup expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)"));
  exports.Set("mapUpdate",
              RawFunction(env, "mapUpdate", ElemKeyValueFlags<BPF_MAP_UPDATE_ELEM>,
                          "mapUpdate expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)"));
  exports.Set("mapLookupAndDelete",
              RawFunction(env, "mapLookupAndDelete", ElemKeyValueFlags<BPF_MAP_LOOKUP_AND_DELETE_ELEM>,
                          "mapLookupAndDelete expects (fd: number, key: Uint8Array | null, value: Uint8Array, "
                          "flags: number)"));
  exports.Set("mapDelete", RawFunction(env, "mapDelete", MapDelete));
  exports.Set("mapNextKey", RawFunction(env, "mapNextKey", MapNextKey));
}

}  // namespace bpfkit
