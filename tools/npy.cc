#include "tools/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include <zlib.h>

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
  return read_stream(f, path);
}

StatusOr<Tensor> read_stream(std::istream& f, const std::string& path) {
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

std::string file_stem(const std::string& tensor_name) {
  std::string file = tensor_name;
  for (char& c : file)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '_';
  return file;
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

namespace {

uint32_t le(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
  return v;
}
uint64_t le64(const std::string& b, size_t at) { return le(b, at, 4) | (static_cast<uint64_t>(le(b, at + 4, 4)) << 32); }

StatusOr<std::string> inflate_raw(const std::string& in, uint64_t out_size, const std::string& what) {
  std::string out(static_cast<size_t>(out_size), '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Internal("zlib: inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const uint64_t got = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || got != out_size)
    return InvalidArgument(what, ": corrupt deflate data (zlib ", rc, ", ", got, " of ", out_size, " bytes)");
  return out;
}

}  // namespace

StatusOr<std::vector<std::pair<std::string, Tensor>>> read_npz(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open npz file '", path, "'");
  std::string z((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::pair<std::string, Tensor>> arrays;
  size_t pos = 0;
  // Local file headers in order (numpy writes sizes into them, zip64 extras
  // included); the central directory that follows ends the walk.
  while (pos + 30 <= z.size() && le(z, pos, 4) == 0x04034b50) {
    const uint32_t flags = le(z, pos + 6, 2), method = le(z, pos + 8, 2);
    uint64_t csize = le(z, pos + 18, 4), usize = le(z, pos + 22, 4);
    const size_t name_len = le(z, pos + 26, 2), extra_len = le(z, pos + 28, 2);
    if (pos + 30 + name_len + extra_len > z.size()) return InvalidArgument("'", path, "': truncated zip header");
    std::string name = z.substr(pos + 30, name_len);
    const std::string what = "'" + path + "' member '" + name + "'";
    if (flags & 8) return Unimplemented(what, ": sizes in a trailing data descriptor (streamed zip) are not supported");
    const size_t extra_end = pos + 30 + name_len + extra_len;
    for (size_t x = pos + 30 + name_len; x + 4 <= extra_end;) {
      const uint32_t id = le(z, x, 2), len = le(z, x + 2, 2);
      if (x + 4 + len > extra_end) return InvalidArgument(what, ": corrupt zip extra field");
      if (id == 0x0001) {  // zip64: the 64-bit sizes of the fields saturated above, in this order
        size_t at = x + 4;
        if (usize == 0xFFFFFFFFu && at + 8 <= x + 4 + len) usize = le64(z, at), at += 8;
        if (csize == 0xFFFFFFFFu && at + 8 <= x + 4 + len) csize = le64(z, at);
      }
      x += 4 + len;
    }
    const size_t data = pos + 30 + name_len + extra_len;
    if (csize > z.size() - data) return InvalidArgument(what, ": data runs past the end of the file");
    std::string bytes = z.substr(data, static_cast<size_t>(csize));
    if (method == 8) {
      // Deflate expands at most ~1032:1: a larger claimed size is a corrupt header, not an allocation to try.
      if (usize > 1032 * csize + 64) return InvalidArgument(what, ": claims ", usize, " bytes from ", csize, " compressed");
      SPARSERT_ASSIGN_OR_RETURN(bytes, inflate_raw(bytes, usize, what));
    } else if (method != 0) {
      return Unimplemented(what, ": zip compression method ", method, " (numpy writes 0 = stored or 8 = deflate)");
    }
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    std::istringstream in(bytes);
    SPARSERT_ASSIGN_OR_RETURN(Tensor t, read_stream(in, what));
    arrays.emplace_back(name, std::move(t));
    pos = data + static_cast<size_t>(csize);
  }
  if (arrays.empty()) return InvalidArgument("'", path, "' is not an .npz file (no zip members)");
  return arrays;
}

}  // namespace sparsert::npy
