// The map element hot paths as plain V8 function callbacks.
//
// Why: one BPF_MAP_LOOKUP_ELEM costs about a microsecond in the kernel, and
// every nanosecond spent around it counts against the C baseline. A V8
// callback skips Node-API's callback wrapper and status bookkeeping: measured
// on Node 20 it costs ~37 ns for (fd, key, value, flags) against ~51 ns for
// the leanest Node-API version (bpf.cc), and ~8 ns against ~18 ns for an
// empty call.
//
// Safety: the V8 C++ API is not ABI-stable across Node.js major versions, and
// Node-API modules are loaded without an ABI check. So these callbacks are
// installed only when the running Node.js has the major version the addon was
// compiled against; otherwise (or with BPFKIT_NATIVE_NAPI_ONLY=1 in the
// environment) the Node-API versions from bpf.cc stay in place. Both versions
// take the same arguments, return the same values and throw the same TypeErrors.
#include <linux/bpf.h>
// node_version.h defines the runtime's NAPI_VERSION; keep the one this addon targets.
#pragma push_macro("NAPI_VERSION")
#undef NAPI_VERSION
#include <node_version.h>
#undef NAPI_VERSION
#pragma pop_macro("NAPI_VERSION")
#include <sys/syscall.h>
#include <unistd.h>
#include <v8.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "addon.h"

namespace bpfkit {
namespace {

struct ElemAttr {
  uint32_t map_fd;
  uint32_t pad;
  uint64_t key;
  uint64_t value;  // next_key for BPF_MAP_GET_NEXT_KEY
  uint64_t flags;
};
static_assert(sizeof(ElemAttr) == 32, "elem attr size");
static_assert(offsetof(union bpf_attr, key) == offsetof(ElemAttr, key), "key offset");
static_assert(offsetof(union bpf_attr, value) == offsetof(ElemAttr, value), "value offset");
static_assert(offsetof(union bpf_attr, flags) == offsetof(ElemAttr, flags), "flags offset");

using Args = v8::FunctionCallbackInfo<v8::Value>;

inline bool Address(v8::Local<v8::Value> v, uint64_t* out) {
  if (!v->IsTypedArray()) return false;
  v8::Local<v8::ArrayBufferView> view = v.As<v8::ArrayBufferView>();
  *out = reinterpret_cast<uintptr_t>(view->Buffer()->Data()) + view->ByteOffset();
  return true;
}

inline bool NullableAddress(v8::Local<v8::Value> v, uint64_t* out) {
  if (Address(v, out)) return true;
  if (v->IsNullOrUndefined()) {
    *out = 0;
    return true;
  }
  return false;
}

// ToInt32 of any number, like napi_get_value_int32.
inline bool Int32(const Args& args, v8::Local<v8::Value> v, int32_t* out) {
  if (v->IsInt32()) {
    *out = v.As<v8::Int32>()->Value();
    return true;
  }
  if (!v->IsNumber()) return false;
  return v->Int32Value(args.GetIsolate()->GetCurrentContext()).To(out);
}

// ToUint32 of any number, like napi_get_value_uint32.
inline bool Uint32(const Args& args, v8::Local<v8::Value> v, uint32_t* out) {
  if (v->IsUint32()) {
    *out = v.As<v8::Uint32>()->Value();
    return true;
  }
  if (!v->IsNumber()) return false;
  return v->Uint32Value(args.GetIsolate()->GetCurrentContext()).To(out);
}

void ThrowUsage(const Args& args) {
  v8::Isolate* isolate = args.GetIsolate();
  const char* usage = static_cast<const char*>(args.Data().As<v8::External>()->Value());
  isolate->ThrowException(v8::Exception::TypeError(v8::String::NewFromUtf8(isolate, usage).ToLocalChecked()));
}

inline void Return(const Args& args, long r) {
  args.GetReturnValue().Set(static_cast<int32_t>(r < 0 ? -errno : r));
}

// mapLookup / mapUpdate / mapLookupAndDelete (fd, key | null, value, flags).
// A null key is passed as NULL: queue/stack maps (peek, push, pop) and bloom filters want that.
template <int kCmd>
void ElemKeyValueFlags(const Args& args) {
  ElemAttr attr;
  int32_t fd;
  uint32_t flags;
  if (!Int32(args, args[0], &fd) ||
      !NullableAddress(args[1], &attr.key) ||
      !Address(args[2], &attr.value) || !Uint32(args, args[3], &flags)) {
    return ThrowUsage(args);
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.flags = flags;
  Return(args, syscall(SYS_bpf, kCmd, &attr, sizeof(attr)));
}

// mapDelete(fd, key, flags)
void MapDelete(const Args& args) {
  ElemAttr attr;
  int32_t fd;
  uint32_t flags;
  if (!Int32(args, args[0], &fd) || !Address(args[1], &attr.key) || !Uint32(args, args[2], &flags)) {
    return ThrowUsage(args);
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.value = 0;
  attr.flags = flags;
  Return(args, syscall(SYS_bpf, BPF_MAP_DELETE_ELEM, &attr, sizeof(attr)));
}

// mapNextKey(fd, key | null, nextKey)
void MapNextKey(const Args& args) {
  ElemAttr attr;
  int32_t fd;
  if (!Int32(args, args[0], &fd) || !NullableAddress(args[1], &attr.key) || !Address(args[2], &attr.value)) {
    return ThrowUsage(args);
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.flags = 0;
  Return(args, syscall(SYS_bpf, BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)));
}

struct HotPath {
  const char* name;
  v8::FunctionCallback callback;
  const char* usage;
};

const HotPath kHotPaths[] = {
    {"mapLookup", ElemKeyValueFlags<BPF_MAP_LOOKUP_ELEM>,
     "mapLookup expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)"},
    {"mapUpdate", ElemKeyValueFlags<BPF_MAP_UPDATE_ELEM>,
     "mapUpdate expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)"},
    {"mapLookupAndDelete", ElemKeyValueFlags<BPF_MAP_LOOKUP_AND_DELETE_ELEM>,
     "mapLookupAndDelete expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)"},
    {"mapDelete", MapDelete, "mapDelete expects (fd: number, key: Uint8Array, flags: number)"},
    {"mapNextKey", MapNextKey, "mapNextKey expects (fd: number, key: Uint8Array | null, nextKey: Uint8Array)"},
};

const char kStash[] = "__bpfkit_native_hot_paths__";

}  // namespace

// Replaces the Node-API hot paths on `exports` by V8 callbacks when that is safe.
// Returns true when they were installed.
bool InstallV8HotPaths(Napi::Env env, Napi::Object exports) {
  const char* napi_only = std::getenv("BPFKIT_NATIVE_NAPI_ONLY");
  if (napi_only != nullptr && napi_only[0] != '\0' && std::strcmp(napi_only, "0") != 0) return false;
  const napi_node_version* version = nullptr;
  if (napi_get_node_version(env, &version) != napi_ok || version == nullptr ||
      version->major != NODE_MAJOR_VERSION) {
    return false;
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate == nullptr) return false;
  {
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    if (context.IsEmpty()) return false;
    v8::Local<v8::Object> stash = v8::Object::New(isolate);
    for (const HotPath& hot : kHotPaths) {
      v8::Local<v8::FunctionTemplate> tmpl = v8::FunctionTemplate::New(
          isolate, hot.callback, v8::External::New(isolate, const_cast<char*>(hot.usage)), v8::Local<v8::Signature>(),
          0, v8::ConstructorBehavior::kThrow);
      v8::Local<v8::String> name = v8::String::NewFromUtf8(isolate, hot.name).ToLocalChecked();
      tmpl->SetClassName(name);
      v8::Local<v8::Function> fn;
      if (!tmpl->GetFunction(context).ToLocal(&fn)) return false;
      fn->SetName(name);
      if (!stash->Set(context, name, fn).FromMaybe(false)) return false;
    }
    // Hand the functions over to Node-API through a short-lived global property.
    v8::Local<v8::String> key = v8::String::NewFromUtf8(isolate, kStash).ToLocalChecked();
    if (!context->Global()->Set(context, key, stash).FromMaybe(false)) return false;
  }
  Napi::Object global = env.Global();
  Napi::Value stash = global.Get(kStash);
  global.Delete(kStash);
  if (!stash.IsObject()) return false;
  for (const HotPath& hot : kHotPaths) exports.Set(hot.name, stash.As<Napi::Object>().Get(hot.name));
  return true;
}

}  // namespace bpfkit
