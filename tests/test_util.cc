#include "tests/test_util.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sparsert::testing {

std::string models_dir() {
  if (const char* env = std::getenv("SPARSERT_MODELS_DIR")) return env;
  return SPARSERT_DEFAULT_MODELS_DIR;
}

StatusOr<Tensor> read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open ", path);
  char magic[6];
  f.read(magic, 6);
  if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0) return DataLoss(path, ": not a .npy file");
  uint8_t ver[2];
  f.read(reinterpret_cast<char*>(ver), 2);
  uint32_t hlen = 0;
  if (ver[0] == 1) {
    uint16_t h16;
    f.read(reinterpret_cast<char*>(&h16), 2);
    hlen = h16;
  } else {
    f.read(reinterpret_cast<char*>(&hlen), 4);
  }
  std::string header(hlen, '\0');
  f.read(header.data(), hlen);
  auto field = [&](const std::string& key) {
    auto p = header.find("'" + key + "'");
    return p == std::string::npos ? std::string() : header.substr(header.find(':', p) + 1);
  };
  std::string descr = field("descr");
  descr = descr.substr(descr.find('\'') + 1);
  descr = descr.substr(0, descr.find('\''));
  if (field("fortran_order").find("True") < 8) return Unimplemented(path, ": fortran order");
  std::string sh = field("shape");
  sh = sh.substr(sh.find('(') + 1, sh.find(')') - sh.find('(') - 1);
  Shape shape;
  std::stringstream ss(sh);
  std::string tok;
  while (std::getline(ss, tok, ','))
    if (tok.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(tok));
  DType dt;
  if (descr == "<f4") dt = DType::kFloat32;
  else if (descr == "<f8") dt = DType::kFloat64;
  else if (descr == "<i8") dt = DType::kInt64;
  else if (descr == "<i4") dt = DType::kInt32;
  else if (descr == "|b1") dt = DType::kBool;
  else if (descr == "|u1") dt = DType::kUInt8;
  else if (descr == "|i1") dt = DType::kInt8;
  else return Unimplemented(path, ": dtype ", descr);
  SPARSERT_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dt, shape));
  f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size()));
  if (!f && t.byte_size()) return DataLoss(path, ": truncated");
  return t;
}

StatusOr<OracleCase> read_case(const std::string& dir) {
  std::ifstream f(dir + "/case.txt");
  if (!f) return NotFound("no case.txt in ", dir);
  OracleCase c;
  std::string line;
  while (std::getline(f, line)) {
    auto a = line.find(' '), b = line.rfind(' ');
    if (a == std::string::npos || a == b) continue;
    std::string kind = line.substr(0, a), name = line.substr(a + 1, b - a - 1), rel = line.substr(b + 1);
    SPARSERT_ASSIGN_OR_RETURN(Tensor t, read_npy(dir + "/" + rel));
    (kind == "input" ? c.inputs : c.outputs).push_back({name, std::move(t)});
  }
  return c;
}

std::vector<ManifestEntry> read_manifest() {
  std::vector<ManifestEntry> out;
  std::ifstream f(models_dir() + "/manifest.txt");
  std::string line;
  while (std::getline(f, line)) {  // model case_dir tolerance [min_cosine]
    std::istringstream fields(line);
    std::string model, case_dir;
    double tol = 0, min_cosine = 0;
    if (!(fields >> model >> case_dir >> tol)) continue;
    fields >> min_cosine;
    out.push_back({models_dir() + "/" + model, models_dir() + "/" + case_dir, tol, min_cosine, model});
  }
  return out;
}

std::string compare_tensors(const Tensor& got, const Tensor& want, double tol, double min_cosine) {
  std::ostringstream os;
  if (got.dtype() != want.dtype() || got.shape() != want.shape()) {
    os << "got " << got.type_string() << ", want " << want.type_string();
    return os.str();
  }
  const int64_t n = want.num_elements();
  const bool is_float = want.dtype() == DType::kFloat32 || want.dtype() == DType::kFloat64;
  double scale = 1.0, worst = 0.0;
  int64_t worst_i = -1;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(want.element_as_double(i)));
  for (int64_t i = 0; i < n; ++i) {
    const double g = got.element_as_double(i), w = want.element_as_double(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    const double err = (std::isnan(g) != std::isnan(w)) ? INFINITY : std::fabs(g - w);
    if (err > worst) { worst = err; worst_i = i; }
  }
  const double limit = is_float ? tol * scale : 0.0;
  if (worst > limit) {
    os << "max abs error " << worst << " at element " << worst_i << " (got " << got.element_as_double(worst_i)
       << ", want " << want.element_as_double(worst_i) << "), limit " << limit;
    return os.str();
  }
  if (is_float && min_cosine > 0) {
    double dot = 0, gg = 0, ww = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double g = got.element_as_double(i), w = want.element_as_double(i);
      dot += g * w;
      gg += g * g;
      ww += w * w;
    }
    const double cosine = gg > 0 && ww > 0 ? dot / std::sqrt(gg * ww) : (gg == ww ? 1.0 : 0.0);
    if (!(cosine >= min_cosine)) {
      os << "cosine similarity " << cosine << ", limit " << min_cosine;
      return os.str();
    }
  }
  return "";
}

}  // namespace sparsert::testing
