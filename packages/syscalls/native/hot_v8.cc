// The map element hot paths as plain V8 function callbacks.
//
// Why: one BPF_MAP_LOOKUP_ELEM costs about a microsecond in the kernel, and
// the work around it counts against the C baseline. Right after the system
// call the caches are cold, so every out-of-line V8 call costs far more than
// it does in a warm micro-benchmark. Measured on Node 20 (ns/op, one
// BPF_MAP_LOOKUP_ELEM on an array map, C loop ≈ 995):
//   Node-API (bpf.cc, leanest form)                       ≈ 1115
//   V8 callback, V8 API for integers and buffers          ≈ 1095
//   + integers (Smis) decoded inline                       ≈ 1065
//   + buffer addresses cached (below)                      ≈ 1030
//
// The address cache: each argument position of each function remembers the
// last TypedArray it saw (by its heap address), that view's data address, and
// a reference to its backing store. A call passing the same TypedArray again
// reuses the address without touching the object. The entry is valid only
// while all of these hold, so a stale address is never used:
// - no garbage collection has run since it was filled (a GC prologue callback
//   bumps an epoch): between collections objects neither move nor die, so an
//   equal heap address means the same object;
// - no munmap() has run since (a process-wide generation counter);
// - the backing store is still referenced by an ArrayBuffer besides the cache
//   (a detached buffer drops its reference), and the cached reference keeps
//   the memory itself alive in any case.
// One difference remains, for a misuse only: a view whose buffer was
// transferred away (postMessage/structuredClone transfer) still reaches the
// transferred memory — which stays allocated, now owned by the new buffer —
// where the Node-API path returns -EFAULT. Checking for that on every call
// (one V8 call that touches the view) costs as much as the cache saves.
//
// Safety of the V8 API: it is not ABI-stable across Node.js major versions,
// and Node-API modules are loaded without an ABI check. So these callbacks
// are installed only when the running Node.js has the major version the addon
// was compiled against; otherwise (or with BPFKIT_NATIVE_NAPI_ONLY=1 in the
// environment) the Node-API versions from bpf.cc stay in place. Both versions
// take the same arguments, return the same values and throw the same
// TypeErrors.
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
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "addon.h"
#include "elem_arena.h"
#include "v8_fast_calls.h"

namespace bpfkit {
namespace {


using Args = v8::FunctionCallbackInfo<v8::Value>;
using RawAddress = v8::internal::Address;

inline RawAddress RawOf(v8::Local<v8::Value> v) {
  return v8::internal::ValueHelper::ValueAsAddress(*v);
}

// One cached TypedArray → data address (see the file comment).
struct Slot {
  RawAddress object = 0;
  uint64_t address = 0;
  uint64_t epoch = 0;
  uint64_t unmap_generation = 0;
  std::shared_ptr<v8::BackingStore> store;
};

enum SlotIndex {
  kLookupKey,
  kLookupValue,
  kUpdateKey,
  kUpdateValue,
  kLookupAndDeleteKey,
  kLookupAndDeleteValue,
  kDeleteKey,
  kNextKeyKey,
  kNextKeyNext,
  kSlotCount
};

// Per Node.js environment (main thread or worker).
struct HotState {
  v8::Isolate* isolate = nullptr;
  uint64_t gc_epoch = 1;
  Slot slots[kSlotCount];
};

void OnGarbageCollection(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  static_cast<HotState*>(data)->gc_epoch++;
}

void CleanupHotState(void* data) {
  auto* state = static_cast<HotState*>(data);
  state->isolate->RemoveGCPrologueCallback(OnGarbageCollection, state);
  delete state;
}

inline HotState* StateOf(const Args& args) {
  return static_cast<HotState*>(args.Data().As<v8::External>()->Value());
}

// Slow half of Address(): resolve through the V8 API and refill the slot.
__attribute__((noinline)) bool Fill(HotState* state, Slot& slot, v8::Local<v8::Value> v, uint64_t* out) {
  if (!v->IsTypedArray()) return false;
  v8::Local<v8::ArrayBufferView> view = v.As<v8::ArrayBufferView>();
  v8::Local<v8::ArrayBuffer> buffer = view->Buffer();  // may allocate (and collect): read addresses after it
  void* data = buffer->Data();
  *out = reinterpret_cast<uintptr_t>(data) + view->ByteOffset();
  if (data == nullptr) {  // detached or empty: not worth caching
    slot.object = 0;
    slot.store.reset();
    return true;
  }
  slot.store = buffer->GetBackingStore();
  slot.object = RawOf(v);
  slot.address = *out;
  slot.epoch = state->gc_epoch;
  slot.unmap_generation = UnmapGeneration();
  return true;
}

// Data address of a TypedArray argument; false if it is not one.
inline bool Address(HotState* state, Slot& slot, v8::Local<v8::Value> v, uint64_t* out) {
  if (RawOf(v) == slot.object && slot.epoch == state->gc_epoch && slot.unmap_generation == UnmapGeneration() &&
      slot.store.use_count() > 1) {
    *out = slot.address;
    return true;
  }
  return Fill(state, slot, v, out);
}

// As Address(), or 0 for null/undefined.
inline bool NullableAddress(HotState* state, Slot& slot, v8::Local<v8::Value> v, uint64_t* out) {
  if (v->IsNullOrUndefined()) {
    *out = 0;
    return true;
  }
  return Address(state, slot, v, out);
}

// Small integers (Smis) are decoded inline, with the helpers V8's own inline
// header functions use; other numbers go through the V8 API.
inline bool Smi(v8::Local<v8::Value> v, int32_t* out) {
  using I = v8::internal::Internals;
  RawAddress raw = RawOf(v);
  if (I::HasHeapObjectTag(raw)) return false;
  *out = I::SmiValue(raw);
  return true;
}

// ToInt32 of any number, like napi_get_value_int32.
inline bool Int32(const Args& args, v8::Local<v8::Value> v, int32_t* out) {
  if (Smi(v, out)) return true;
  if (!v->IsNumber()) return false;
  return v->Int32Value(args.GetIsolate()->GetCurrentContext()).To(out);
}

// ToUint32 of any number, like napi_get_value_uint32.
inline bool Uint32(const Args& args, v8::Local<v8::Value> v, uint32_t* out) {
  int32_t smi;
  if (Smi(v, &smi)) {
    *out = static_cast<uint32_t>(smi);
    return true;
  }
  if (!v->IsNumber()) return false;
  return v->Uint32Value(args.GetIsolate()->GetCurrentContext()).To(out);
}

__attribute__((noinline)) void ThrowUsage(const Args& args, const char* usage) {
  v8::Isolate* isolate = args.GetIsolate();
  isolate->ThrowException(v8::Exception::TypeError(v8::String::NewFromUtf8(isolate, usage).ToLocalChecked()));
}

inline void Return(const Args& args, long r) {
  args.GetReturnValue().Set(static_cast<int32_t>(r < 0 ? -errno : r));
}

constexpr char kLookupUsage[] = "mapLookup expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)";
constexpr char kUpdateUsage[] = "mapUpdate expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)";
constexpr char kLookupAndDeleteUsage[] =
    "mapLookupAndDelete expects (fd: number, key: Uint8Array | null, value: Uint8Array, flags: number)";
constexpr char kDeleteUsage[] = "mapDelete expects (fd: number, key: Uint8Array, flags: number)";
constexpr char kNextKeyUsage[] = "mapNextKey expects (fd: number, key: Uint8Array | null, nextKey: Uint8Array)";

// mapLookup / mapUpdate / mapLookupAndDelete (fd, key | null, value, flags).
// A null key is passed as NULL: queue/stack maps (peek, push, pop) and bloom filters want that.
template <int kCmd, int kKeySlot, int kValueSlot, const char* kUsage>
void ElemKeyValueFlags(const Args& args) {
  HotState* state = StateOf(args);
  ElemAttr attr;
  int32_t fd;
  uint32_t flags;
  if (!Int32(args, args[0], &fd) || !NullableAddress(state, state->slots[kKeySlot], args[1], &attr.key) ||
      !Address(state, state->slots[kValueSlot], args[2], &attr.value) || !Uint32(args, args[3], &flags)) {
    return ThrowUsage(args, kUsage);
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.flags = flags;
  Return(args, syscall(SYS_bpf, kCmd, &attr, sizeof(attr)));
}

// mapDelete(fd, key, flags)
void MapDelete(const Args& args) {
  HotState* state = StateOf(args);
  ElemAttr attr;
  int32_t fd;
  uint32_t flags;
  if (!Int32(args, args[0], &fd) || !Address(state, state->slots[kDeleteKey], args[1], &attr.key) ||
      !Uint32(args, args[2], &flags)) {
    return ThrowUsage(args, kDeleteUsage);
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.value = 0;
  attr.flags = flags;
  Return(args, syscall(SYS_bpf, BPF_MAP_DELETE_ELEM, &attr, sizeof(attr)));
}

// mapNextKey(fd, key | null, nextKey)
void MapNextKey(const Args& args) {
  HotState* state = StateOf(args);
  ElemAttr attr;
  int32_t fd;
  if (!Int32(args, args[0], &fd) || !NullableAddress(state, state->slots[kNextKeyKey], args[1], &attr.key) ||
      !Address(state, state->slots[kNextKeyNext], args[2], &attr.value)) {
    return ThrowUsage(args, kNextKeyUsage);
  }
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.pad = 0;
  attr.flags = 0;
  Return(args, syscall(SYS_bpf, BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)));
}

// elemOps.elem(cmd, fd, keyOffset, valueOffset, flags) over the element arena (elem_arena.cc).
//
// The fast call: optimized code calls ElemFast directly with the five integers
// (no API callback frame, no handle scope). It finds the arena through the
// receiver, elemOps, whose internal field holds it; the function's signature
// makes V8 check the receiver before either form runs. ElemSlow serves the
// interpreter, baseline code and any call V8 cannot make fast.
constexpr char kElemUsage[] =
    "elem expects (cmd: number, fd: number, keyOffset: number, valueOffset: number, flags: number)";

void ElemSlow(const Args& args) {
  auto* arena = static_cast<ElemArena*>(args.Data().As<v8::External>()->Value());
  int32_t v[5];
  for (int i = 0; i < 5; i++) {
    if (!Int32(args, args[i], &v[i])) return ThrowUsage(args, kElemUsage);
  }
  args.GetReturnValue().Set(ArenaElem(arena, v[0], v[1], v[2], v[3], static_cast<uint32_t>(v[4])));
}

int32_t ElemFast(v8::Local<v8::Object> receiver, int32_t cmd, int32_t fd, int32_t key, int32_t value,
                 uint32_t flags) {
  auto* arena = static_cast<ElemArena*>(receiver->GetAlignedPointerFromInternalField(0));
  return ArenaElem(arena, cmd, fd, key, value, flags);
}

using CType = v8::CTypeInfo::Type;
constexpr v8::CTypeInfo kElemArgs[] = {v8::CTypeInfo(CType::kV8Value), v8::CTypeInfo(CType::kInt32),
                                       v8::CTypeInfo(CType::kInt32),   v8::CTypeInfo(CType::kInt32),
                                       v8::CTypeInfo(CType::kInt32),   v8::CTypeInfo(CType::kUint32)};
constexpr v8::CTypeInfo kElemReturn(CType::kInt32);

// The fast call's description. Built on first use, not at load: the constructors are V8's, and
// an addon loaded into another Node.js major (where this file's code never runs) must not call
// them. Their symbols differ between V8 majors and are bound lazily, as the other V8 calls here.
const v8::CFunction* ElemFastCall() {
  static const v8::CFunctionInfo info(kElemReturn, 6, kElemArgs);
  static const v8::CFunction call(reinterpret_cast<const void*>(ElemFast), &info);
  return &call;
}

// { arena, elem } for `arena` (in the caller's handle scope), or an empty handle when V8 refuses a part.
v8::Local<v8::Object> NewElemOps(v8::Isolate* isolate, v8::Local<v8::Context> context, ElemArena* arena) {
  v8::Local<v8::FunctionTemplate> holder = v8::FunctionTemplate::New(isolate);
  holder->InstanceTemplate()->SetInternalFieldCount(1);
  v8::Local<v8::FunctionTemplate> elem = v8::FunctionTemplate::New(
      isolate, ElemSlow, v8::External::New(isolate, arena), v8::Signature::New(isolate, holder), 5,
      v8::ConstructorBehavior::kThrow, v8::SideEffectType::kHasSideEffect, ElemFastCall());
  v8::Local<v8::Object> ops;
  v8::Local<v8::Function> fn;
  if (!holder->InstanceTemplate()->NewInstance(context).ToLocal(&ops) || !elem->GetFunction(context).ToLocal(&fn)) {
    return {};
  }
  ops->SetAlignedPointerInInternalField(0, arena);
  std::shared_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(arena->base, kElemArenaBytes, v8::BackingStore::EmptyDeleter, nullptr);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  // No detach key: with one, Node 20 aborts the process when a transfer is tried (it asserts that
  // detaching succeeds). JavaScript keeps the buffer out of reach instead (src/elem-arena.ts), and a buffer
  // detached anyway only empties the views; the arena stays the addon's.
  if (!ops->Set(context, v8::String::NewFromUtf8Literal(isolate, "arena"), buffer).FromMaybe(false) ||
      !ops->Set(context, v8::String::NewFromUtf8Literal(isolate, "elem"), fn).FromMaybe(false)) {
    return {};
  }
  fn->SetName(v8::String::NewFromUtf8Literal(isolate, "elem"));
  return ops;
}

struct HotPath {
  const char* name;
  v8::FunctionCallback callback;
};

const HotPath kHotPaths[] = {
    {"mapLookup", ElemKeyValueFlags<BPF_MAP_LOOKUP_ELEM, kLookupKey, kLookupValue, kLookupUsage>},
    {"mapUpdate", ElemKeyValueFlags<BPF_MAP_UPDATE_ELEM, kUpdateKey, kUpdateValue, kUpdateUsage>},
    {"mapLookupAndDelete", ElemKeyValueFlags<BPF_MAP_LOOKUP_AND_DELETE_ELEM, kLookupAndDeleteKey,
                                             kLookupAndDeleteValue, kLookupAndDeleteUsage>},
    {"mapDelete", MapDelete},
    {"mapNextKey", MapNextKey},
};

const char kStash[] = "__bpfkit_native_hot_paths__";

}  // namespace

// Replaces the Node-API hot paths on `exports` by V8 callbacks when that is safe.
// Returns true when they were installed.
bool InstallV8HotPaths(Napi::Env env, Napi::Object exports, ElemArena* arena) {
  const char* napi_only = std::getenv("BPFKIT_NATIVE_NAPI_ONLY");
  if (napi_only != nullptr && napi_only[0] != '\0' && std::strcmp(napi_only, "0") != 0) return false;
  const napi_node_version* version = nullptr;
  if (napi_get_node_version(env, &version) != napi_ok || version == nullptr ||
      version->major != NODE_MAJOR_VERSION) {
    return false;
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate == nullptr) return false;
  auto* state = new HotState();
  state->isolate = isolate;
  {
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    if (context.IsEmpty()) {
      delete state;
      return false;
    }
    v8::Local<v8::Object> stash = v8::Object::New(isolate);
    v8::Local<v8::External> data = v8::External::New(isolate, state);
    for (const HotPath& hot : kHotPaths) {
      v8::Local<v8::FunctionTemplate> tmpl = v8::FunctionTemplate::New(isolate, hot.callback, data,
                                                                       v8::Local<v8::Signature>(), 0,
                                                                       v8::ConstructorBehavior::kThrow);
      v8::Local<v8::String> name = v8::String::NewFromUtf8(isolate, hot.name).ToLocalChecked();
      tmpl->SetClassName(name);
      v8::Local<v8::Function> fn;
      if (!tmpl->GetFunction(context).ToLocal(&fn) || !stash->Set(context, name, fn).FromMaybe(false)) {
        delete state;
        return false;
      }
      fn->SetName(name);
    }
    if (arena != nullptr) {
      v8::Local<v8::Object> ops = NewElemOps(isolate, context, arena);
      if (ops.IsEmpty() || !stash->Set(context, v8::String::NewFromUtf8Literal(isolate, "elemOps"), ops).FromMaybe(false)) {
        delete state;
        return false;
      }
    }
    // Hand the functions over to Node-API through a short-lived global property.
    v8::Local<v8::String> key = v8::String::NewFromUtf8(isolate, kStash).ToLocalChecked();
    if (!context->Global()->Set(context, key, stash).FromMaybe(false)) {
      delete state;
      return false;
    }
  }
  Napi::Object global = env.Global();
  Napi::Value stash = global.Get(kStash);
  global.Delete(kStash);
  if (!stash.IsObject()) {
    delete state;
    return false;
  }
  isolate->AddGCPrologueCallback(OnGarbageCollection, state, v8::kGCTypeAll);
  napi_add_env_cleanup_hook(env, CleanupHotState, state);
  for (const HotPath& hot : kHotPaths) exports.Set(hot.name, stash.As<Napi::Object>().Get(hot.name));
  if (arena != nullptr) exports.Set("elemOps", stash.As<Napi::Object>().Get("elemOps"));
  return true;
}

}  // namespace bpfkit
