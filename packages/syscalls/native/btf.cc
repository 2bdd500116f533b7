// Two whole-blob passes over BTF, for @bpfkit/elf's parseBtf (which keeps
// JavaScript versions of both and checks them against these in its tests).
//
// The kernel's BTF (/sys/kernel/btf/vmlinux: ~125k types, 5+ MiB) is walked
// once per process to find where each type record starts, and once more to
// hash every name for CO-RE candidate lookups. JavaScript runs them cold, in
// the interpreter until on-stack replacement kicks in: ~40 ms together on
// these machines; here the scan takes ~2 ms and the index CO-RE searches
// ~3.5 ms. No policy lives here: a malformed blob
// gets -1 and the JavaScript scan, which says where and why, takes over.
#include "addon.h"

namespace bpfkit {
namespace {

constexpr uint8_t kUnderscore = 0x5f;

inline uint32_t Read32(const uint8_t* p, bool little_endian) {
  if (little_endian) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
  }
  return static_cast<uint32_t>(p[3]) | (static_cast<uint32_t>(p[2]) << 8) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[0]) << 24);
}

// Bytes after the 12-byte `struct btf_type` by kind (uapi linux/btf.h):
// fixed, plus per vlen entry. -1: no such kind.
struct Trailer {
  int8_t fixed;
  uint8_t per_entry;
};
constexpr Trailer kTrailers[32] = {
    {-1, 0},  // UNKN
    {4, 0},   // INT: u32 encoding
    {0, 0},   // PTR
    {12, 0},  // ARRAY: struct btf_array
    {0, 12},  // STRUCT: struct btf_member
    {0, 12},  // UNION
    {0, 8},   // ENUM: struct btf_enum
    {0, 0},   // FWD
    {0, 0},   // TYPEDEF
    {0, 0},   // VOLATILE
    {0, 0},   // CONST
    {0, 0},   // RESTRICT
    {0, 0},   // FUNC
    {0, 8},   // FUNC_PROTO: struct btf_param
    {4, 0},   // VAR: struct btf_var
    {0, 12},  // DATASEC: struct btf_var_secinfo
    {0, 0},   // FLOAT
    {4, 0},   // DECL_TAG: struct btf_decl_tag
    {0, 0},   // TYPE_TAG
    {0, 12},  // ENUM64: struct btf_enum64
    {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0},
};

template <typename T>
T* RequireArray(const Napi::Value& value, const char* what, size_t* count) {
  size_t bytes = 0;
  void* data = RequireBytes(value, what, &bytes);
  *count = bytes / sizeof(T);
  return static_cast<T*>(data);
}

// btfScanTypes(blob, start, length, littleEndian, offsets: Uint32Array):
// the number of records, their offsets in `offsets`; -1 when a record is cut
// short or of an unknown kind, -2 when `offsets` is too small.
Napi::Value ScanTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 5, "btfScanTypes");
  size_t size = 0;
  const auto* blob = static_cast<const uint8_t*>(RequireBytes(info[0], "btfScanTypes: blob", &size));
  int64_t start = RequireInt64(info[1], "btfScanTypes: start");
  int64_t length = RequireInt64(info[2], "btfScanTypes: length");
  bool le = info[3].ToBoolean().Value();
  size_t capacity = 0;
  auto* offsets = RequireArray<uint32_t>(info[4], "btfScanTypes: offsets", &capacity);
  if (start < 0 || length < 0 || static_cast<uint64_t>(start + length) > size || start + length > UINT32_MAX) {
    throw Napi::RangeError::New(env, "btfScanTypes: the type section lies outside the blob");
  }
  const uint64_t end = static_cast<uint64_t>(start + length);
  size_t n = 0;
  for (uint64_t p = static_cast<uint64_t>(start); p < end;) {
    if (p + 12 > end) return Napi::Number::New(env, -1);
    uint32_t type_info = Read32(blob + p + 4, le);
    const Trailer& t = kTrailers[(type_info >> 24) & 0x1f];
    if (t.fixed < 0) return Napi::Number::New(env, -1);
    uint64_t extra = static_cast<uint64_t>(t.fixed) + static_cast<uint64_t>(t.per_entry) * (type_info & 0xffff);
    if (p + 12 + extra > end) return Napi::Number::New(env, -1);
    if (n == capacity) return Napi::Number::New(env, -2);
    offsets[n++] = static_cast<uint32_t>(p);
    p += 12 + extra;
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// btfIndexNames(blob, offsets, strStart, strLen, firstStringOffset,
// littleEndian, functions, heads: Int32Array, entries: Int32Array,
// next: Int32Array): the essential-name hash table of parseBtf's ParsedBtf
// for the FUNC records (functions true) or the others, built exactly as its
// #indexNames builds it: records with a name, highest first, become entries
// 1, 2, … (entries[e] = record index), chained from heads[hash & mask]
// through next; the hash is FNV-1a of the name up to the last `___flavour`
// with a non-underscore byte on both sides; heads.length a power of two.
Napi::Value IndexNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 10, "btfIndexNames");
  size_t size = 0;
  const auto* blob = static_cast<const uint8_t*>(RequireBytes(info[0], "btfIndexNames: blob", &size));
  size_t count = 0;
  const auto* offsets = RequireArray<uint32_t>(info[1], "btfIndexNames: offsets", &count);
  int64_t str_start = RequireInt64(info[2], "btfIndexNames: strStart");
  int64_t str_len = RequireInt64(info[3], "btfIndexNames: strLen");
  int64_t first = RequireInt64(info[4], "btfIndexNames: firstStringOffset");
  bool le = info[5].ToBoolean().Value();
  bool functions = info[6].ToBoolean().Value();
  size_t head_count = 0, entry_count = 0, next_count = 0;
  auto* heads = RequireArray<int32_t>(info[7], "btfIndexNames: heads", &head_count);
  auto* entries = RequireArray<int32_t>(info[8], "btfIndexNames: entries", &entry_count);
  auto* next = RequireArray<int32_t>(info[9], "btfIndexNames: next", &next_count);
  if (str_start < 0 || str_len < 0 || first < 0 || static_cast<uint64_t>(str_start + str_len) > size) {
    throw Napi::RangeError::New(env, "btfIndexNames: the string section lies outside the blob");
  }
  if (head_count == 0 || (head_count & (head_count - 1)) != 0 || entry_count < count + 1 || next_count < count + 1) {
    throw Napi::RangeError::New(env, "btfIndexNames: heads must be a power of two long, entries and next one longer than offsets");
  }
  for (size_t i = 0; i < count; i++) {
    if (static_cast<uint64_t>(offsets[i]) + 12 > size) {
      throw Napi::RangeError::New(env, "btfIndexNames: a type offset lies outside the blob");
    }
  }
  constexpr uint32_t kFunc = 12;  // BTF_KIND_FUNC
  const uint32_t mask = static_cast<uint32_t>(head_count - 1);
  const uint64_t limit = static_cast<uint64_t>(str_start + str_len);
  int32_t n = 0;
  for (size_t i = count; i-- > 0;) {
    uint32_t off = Read32(blob + offsets[i], le);
    if (off == 0 || off < first) continue;
    if ((((Read32(blob + offsets[i] + 4, le) >> 24) & 0x1f) == kFunc) != functions) continue;
    uint64_t p = static_cast<uint64_t>(str_start) + (off - static_cast<uint64_t>(first));
    if (p >= limit || blob[p] == 0) continue;
    uint32_t h = 0x811c9dc5u, essential = 0;
    bool flavoured = false;
    for (uint8_t c = blob[p];;) {
      h = (h ^ c) * 0x01000193u;
      uint8_t following = p + 1 < limit ? blob[p + 1] : 0;
      if (following == 0) break;
      if (c != kUnderscore && following == kUnderscore && p + 4 < limit && blob[p + 2] == kUnderscore &&
          blob[p + 3] == kUnderscore && blob[p + 4] != kUnderscore && blob[p + 4] != 0) {
        essential = h;
        flavoured = true;
      }
      p++;
      c = following;
    }
    uint32_t hash = flavoured ? essential : h;
    n++;
    entries[n] = static_cast<int32_t>(i);
    next[n] = heads[hash & mask];
    heads[hash & mask] = n;
  }
  return Napi::Number::New(env, n);
}

}  // namespace

void InitBtf(Napi::Env env, Napi::Object exports) {
  exports.Set("btfScanTypes", Napi::Function::New(env, ScanTypes, "btfScanTypes"));
  exports.Set("btfIndexNames", Napi::Function::New(env, IndexNames, "btfIndexNames"));
}

}  // namespace bpfkit
