// bpfkit native addon: module entry point and argument helpers.
#include "addon.h"
#include "elem_arena.h"

#include <string>

namespace bpfkit {

namespace {

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 1;
  }
}

}  // namespace

bool ViewBytes(napi_env env, napi_value value, void** data, size_t* length) {
  napi_typedarray_type type;
  size_t count = 0;
  if (napi_get_typedarray_info(env, value, &type, &count, data, nullptr, nullptr) == napi_ok) {
    *length = count * ElementSize(type);
    return true;
  }
  bool is_dataview = false;
  if (napi_is_dataview(env, value, &is_dataview) == napi_ok && is_dataview &&
      napi_get_dataview_info(env, value, length, data, nullptr, nullptr) == napi_ok) {
    return true;
  }
  return false;
}

void* RequireBytes(const Napi::Value& value, const char* what, size_t* length) {
  void* data = nullptr;
  if (!ViewBytes(value.Env(), value, &data, length)) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a Uint8Array");
  }
  return data;
}

int64_t RequireInt64(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a number");
  }
  return value.As<Napi::Number>().Int64Value();
}

int32_t RequireInt32(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a number");
  }
  return value.As<Napi::Number>().Int32Value();
}

void RequireArgs(const Napi::CallbackInfo& info, size_t count, const char* fn) {
  if (info.Length() < count) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + "() expects " + std::to_string(count) +
                                               " arguments, got " + std::to_string(info.Length()));
  }
}

}  // namespace bpfkit

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  bpfkit::InitBpf(env, exports);
  bpfkit::ElemArena* arena = bpfkit::NewElemArena();
  if (arena != nullptr && !bpfkit::OwnElemArena(env, arena)) arena = nullptr;
  bool v8_hot_paths = bpfkit::InstallV8HotPaths(env, exports, arena);
  if (!v8_hot_paths && arena != nullptr) bpfkit::InstallNapiElemOps(env, exports, arena);
  bpfkit::InitSys(env, exports);
  bpfkit::InitMmap(env, exports);
  bpfkit::InitPoller(env, exports);
  bpfkit::InitBtf(env, exports);
  bpfkit::InitConstants(env, exports, v8_hot_paths);
  return exports;
}

}  // namespace

NODE_API_MODULE(bpfkit_syscalls, Init)
