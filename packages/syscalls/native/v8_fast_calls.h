// V8's fast API call types, for the headers that lack them.
//
// A fast call lets optimized JavaScript call a C++ function directly, without
// the API callback's frame and handle scope. The types to describe such a
// function live in v8-fast-api-calls.h, which Node.js does not install with
// its headers (checked for Node 20, 22 and 24); their constructors are
// exported by the node binary, and FunctionTemplate::New takes a CFunction.
// So when the header is absent, this file declares the three classes with
// V8's layout and the exported constructors' signatures, and nothing else.
// It is used only by hot_v8.cc, whose V8 code runs only on the Node.js major
// the addon was compiled for (so the layout is that of V8_MAJOR_VERSION).
//   CTypeInfo: three bytes (type, sequence type, flags); the Type values are
//     V8's enum order, unchanged from V8 11 to 13.
//   CFunctionInfo: 16 bytes; V8 12 added a 64-bit integer representation
//     argument to its constructor (and a byte inside the padding).
//   CFunction: the function's address and its CFunctionInfo.
#pragma once

#if __has_include(<v8-fast-api-calls.h>)
#include <v8-fast-api-calls.h>
#else
#include <v8-version.h>
#include <v8config.h>

#include <cstdint>

namespace v8 {

class CTypeInfo {
 public:
  enum class Type : uint8_t { kVoid, kBool, kUint8, kInt32, kUint32, kInt64, kUint64, kFloat32, kFloat64, kPointer, kV8Value };
  constexpr explicit CTypeInfo(Type type) : type_(type), sequence_type_(0), flags_(0) {}

 private:
  Type type_;
  uint8_t sequence_type_;
  uint8_t flags_;
};

class V8_EXPORT CFunctionInfo {
 public:
#if V8_MAJOR_VERSION >= 12
  enum class Int64Representation : uint8_t { kNumber = 0, kBigInt = 1 };
  CFunctionInfo(const CTypeInfo& return_info, unsigned int arg_count, const CTypeInfo* arg_info,
                Int64Representation repr = Int64Representation::kNumber);
#else
  CFunctionInfo(const CTypeInfo& return_info, unsigned int arg_count, const CTypeInfo* arg_info);
#endif

 private:
  alignas(8) unsigned char layout_[16];
};
static_assert(sizeof(CFunctionInfo) == 16, "CFunctionInfo layout");

class V8_EXPORT CFunction {
 public:
  CFunction(const void* address, const CFunctionInfo* type_info);

 private:
  const void* address_;
  const CFunctionInfo* type_info_;
};

}  // namespace v8
#endif
