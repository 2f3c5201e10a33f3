#include "tools/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace sparsert::npy {
namespace {

// numpy descr (little-endian or byte-order-free) <-> DType.
const std::pair<const char*, DType> kTypes[] = {
    {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"f2", DType::kFloat16}, {"i1", DType::kInt8},
    {"u1", DType::kUInt8},   {"i2", DType::kInt16},   {"u2", DType::kUInt16},  {"i4", DType::kInt32},
    {"u4", DType::kUInt32},  {"i8", DType::kInt64},   {"u8", DType::kUInt64},  {"b1", DType::kBool}};

// The value of 'key' in the header dict: the text after "'key':" up to the
// next top-level comma or the closing brace.
StatusOr<std::string> header_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::string tag = "'" + key + "':";
  const size_t at = header.find(tag);
  if (at == std::string::npos) return InvalidArgument("'", path, "': npy header has no '", key, "': ", header);
  size_t i = at + tag.size();
  while (i < header.size() && header[i] == ' ') ++i;
  int depth = 0;
  size_t end = i;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  if (end < header.size() && header[end] == ')') ++end;
  return header.substr(i, end - i);
}

}  // namespace

StatusOr<Tensor> read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open npy file '", path, "'");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return InvalidArgument("'", path, "' is not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) return InvalidArgument("'", path, "': truncated npy header");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) return InvalidArgument("'", path, "': truncated npy header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    return Unimplemented("'", path, "': npy format version ", major, " is not supported");
  }
  if (header_len > (1u << 20)) return InvalidArgument("'", path, "': npy header of ", header_len, " bytes");
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len)) return InvalidArgument("'", path, "': truncated npy header");
  SPARSERT_ASSIGN_OR_RETURN(std::string descr, header_value(header, "descr", path));
  SPARSERT_ASSIGN_OR_RETURN(std::string fortran, header_value(header, "fortran_order", path));
  SPARSERT_ASSIGN_OR_RETURN(std::string shape_text, header_value(header, "shape", path));
  if (fortran != "False") return Unimplemented("'", path, "': Fortran-order arrays are not supported (save C order)");
  if (descr.size() < 5 || descr.front() != '\'' || descr.back() != '\'')
    return InvalidArgument("'", path, "': bad dtype ", descr);
  const char order = descr[1];
  const std::string code = descr.substr(2, descr.size() - 3);
  if (order == '>' && code != "i1" && code != "u1" && code != "b1")
    return Unimplemented("'", path, "': big-endian data (", descr, ")");
  DType dtype = DType::kUndefined;
  for (const auto& [c, t] : kTypes)
    if (code == c) dtype = t;
  if (dtype == DType::kUndefined) return Unimplemented("'", path, "': dtype ", descr, " is not supported");
  Shape shape;
  std::string dims = shape_text;
  for (char& c : dims)
    if (c == '(' || c == ')' || c == ',') c = ' ';
  std::istringstream in(dims);
  for (std::string tok; in >> tok;) {
    char* end = nullptr;
    const long long v = std::strtoll(tok.c_str(), &end, 10);
    if (!end || *end || v < 0) return InvalidArgument("'", path, "': bad shape ", shape_text);
    shape.push_back(v);
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dtype, shape));
  if (!f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size())))
    return InvalidArgument("'", path, "': data is shorter than ", dtype_name(dtype), shape_to_string(shape), " needs (",
                           t.byte_size(), " bytes)");
  return t;
}

Status write(const std::string& path, const Tensor& t) {
  const char* code = nullptr;
  for (const auto& [c, d] : kTypes)
    if (d == t.dtype()) code = c;
  if (!code) return Unimplemented("cannot save a ", dtype_name(t.dtype()), " tensor as .npy");
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  if (t.rank() > 1) shape.pop_back();  // (3,) keeps its comma, (2,3) does not end with one
  shape += ")";
  const char order = t.dtype() == DType::kBool || t.dtype() == DType::kInt8 || t.dtype() == DType::kUInt8 ? '|' : '<';
  std::string header = std::string("{'descr': '") + order + code + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot write npy file '", path, "'");
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  f.write("\x93NUMPY\x01\x00", 8);
  f.write(reinterpret_cast<const char*>(len), 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size()));
  if (!f) return Internal("writing '", path, "' failed");
  return Status::OK();
}

}  // namespace sparsert::npy
