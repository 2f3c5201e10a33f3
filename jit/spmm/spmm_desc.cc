#include "jit/spmm/spmm_desc.h"

#include <sstream>

#include "jit/isa.h"

namespace sparsert::jit {

const char* to_string(SpmmDType t) {
  switch (t) {
    case SpmmDType::kF32: return "f32";
    case SpmmDType::kU8S8: return "u8s8";
  }
  return "?";
}

const char* to_string(SpmmOut t) {
  switch (t) {
    case SpmmOut::kF32: return "f32";
    case SpmmOut::kS32: return "s32";
    case SpmmOut::kU8: return "u8";
    case SpmmOut::kS8: return "s8";
  }
  return "?";
}

const char* to_string(SpmmLayout t) {
  switch (t) {
    case SpmmLayout::kBands: return "bands";
    case SpmmLayout::kDenseTiles: return "dense_tiles";
  }
  return "?";
}

const char* to_string(PostOp p) {
  switch (p) {
    case PostOp::kNone: return "none";
    case PostOp::kBias: return "bias";
    case PostOp::kRelu: return "relu";
    case PostOp::kGeluErf: return "gelu_erf";
    case PostOp::kGeluTanh: return "gelu_tanh";
    case PostOp::kResidualAdd: return "residual_add";
    case PostOp::kClip: return "clip";
  }
  return "?";
}

std::string to_string(const PostOpChain& chain) {
  std::string s;
  for (PostOp p : chain) {
    if (p == PostOp::kNone) break;
    if (!s.empty()) s += "+";
    s += to_string(p);
  }
  return s.empty() ? "none" : s;
}

namespace {

uint64_t mix(uint64_t h, uint64_t v) {  // boost::hash_combine, 64-bit
  return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 12) + (h >> 4));
}
uint64_t as_u64(int64_t v) { return static_cast<uint64_t>(v); }
uint64_t as_u64(int32_t v) { return static_cast<uint32_t>(v); }
uint64_t as_u64(uint32_t v) { return v; }
uint64_t as_u64(uint64_t v) { return v; }
uint64_t as_u64(SpmmDType v) { return static_cast<uint64_t>(v); }
uint64_t as_u64(SpmmOut v) { return static_cast<uint64_t>(v); }
uint64_t as_u64(SpmmLayout v) { return static_cast<uint64_t>(v); }
uint64_t as_u64(const PostOpChain& c) {
  uint64_t v = 0;
  for (PostOp p : c) v = (v << 8) | static_cast<uint8_t>(p);
  return v;
}

void print(std::ostream& os, SpmmDType v) { os << to_string(v); }
void print(std::ostream& os, SpmmOut v) { os << to_string(v); }
void print(std::ostream& os, SpmmLayout v) { os << to_string(v); }
void print(std::ostream& os, const PostOpChain& v) { os << to_string(v); }
void print(std::ostream& os, int64_t v) { os << v; }
void print(std::ostream& os, int32_t v) { os << v; }
void print(std::ostream& os, uint64_t v) { os << std::hex << v << std::dec; }
void print(std::ostream& os, uint32_t v) { os << isa_name(v); }

}  // namespace

bool SpmmDesc::operator==(const SpmmDesc& o) const {
#define SPARSERT_X(type, name, init) if (!(name == o.name)) return false;
  SPARSERT_SPMM_DESC_FIELDS(SPARSERT_X)
#undef SPARSERT_X
  return true;
}

uint64_t SpmmDesc::hash() const {
  uint64_t h = 0;
#define SPARSERT_X(type, name, init) h = mix(h, as_u64(name));
  SPARSERT_SPMM_DESC_FIELDS(SPARSERT_X)
#undef SPARSERT_X
  return h;
}

std::string SpmmDesc::to_string() const {
  std::ostringstream os;
  const char* sep = "";
#define SPARSERT_X(type, name, init) \
  os << sep << #name << "=";         \
  print(os, name);                   \
  sep = " ";
  SPARSERT_SPMM_DESC_FIELDS(SPARSERT_X)
#undef SPARSERT_X
  return os.str();
}

}  // namespace sparsert::jit
