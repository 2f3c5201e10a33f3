#include "tools/prune.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <onnx/onnx_pb.h>

namespace sparsert::prune {
namespace {

// Element (n, k) of W[N, K] in the weight's storage.
struct NkView {
  int64_t N = 0, K = 0;
  bool k_major = false;  // storage [K, N] (MatMul B, Gemm B without transB) instead of [N, K]
  int64_t index(int64_t n, int64_t k) const { return k_major ? k * N + n : n * K + k; }
};

StatusOr<NkView> nk_view(const std::vector<int64_t>& shape, const std::string& op, bool trans_b) {
  NkView v;
  if (op == "Conv") {
    if (shape.size() < 3) return InvalidArgument("Conv weight of rank ", shape.size());
    v.N = shape[0];
    v.K = 1;
    for (size_t i = 1; i < shape.size(); ++i) v.K *= shape[i];
    return v;
  }
  if (shape.size() != 2) return InvalidArgument(op, " weight of rank ", shape.size());
  v.k_major = !(op == "Gemm" && trans_b);
  v.N = v.k_major ? shape[1] : shape[0];
  v.K = v.k_major ? shape[0] : shape[1];
  return v;
}

// Zeroes the lowest-L2 bn x bk blocks of W[N, K].
void prune_blocks(std::vector<float>& w, const NkView& v, double sparsity, int64_t bn, int64_t bk) {
  const int64_t rows = (v.N + bn - 1) / bn, cols = (v.K + bk - 1) / bk, count = rows * cols;
  std::vector<double> norms(static_cast<size_t>(count), 0.0);
  for (int64_t br = 0; br < rows; ++br)
    for (int64_t bc = 0; bc < cols; ++bc) {
      double s = 0;
      for (int64_t n = br * bn; n < std::min(v.N, (br + 1) * bn); ++n)
        for (int64_t k = bc * bk; k < std::min(v.K, (bc + 1) * bk); ++k) {
          const double x = w[static_cast<size_t>(v.index(n, k))];
          s += x * x;
        }
      norms[static_cast<size_t>(br * cols + bc)] = std::sqrt(s);
    }
  const int64_t n_zero = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(count)));
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return norms[static_cast<size_t>(a)] < norms[static_cast<size_t>(b)]; });
  for (int64_t i = 0; i < n_zero; ++i) {
    const int64_t br = order[static_cast<size_t>(i)] / cols, bc = order[static_cast<size_t>(i)] % cols;
    for (int64_t n = br * bn; n < std::min(v.N, (br + 1) * bn); ++n)
      for (int64_t k = bc * bk; k < std::min(v.K, (bc + 1) * bk); ++k) w[static_cast<size_t>(v.index(n, k))] = 0.f;
  }
}

}  // namespace

StatusOr<std::vector<Pruned>> prune_file(const std::string& in, const std::string& out, const Options& options) {
  if (!(options.sparsity >= 0.0 && options.sparsity < 1.0))
    return InvalidArgument("--sparsity must be in [0, 1), got ", options.sparsity);
  const std::map<std::string, std::pair<int64_t, int64_t>> patterns = {
      {"unstructured", {1, 1}}, {"4x1", {4, 1}}, {"1x4", {1, 4}}};
  auto pattern = patterns.find(options.pattern);
  if (pattern == patterns.end())
    return InvalidArgument("--pattern must be unstructured, 4x1 or 1x4, got '", options.pattern, "'");
  std::ifstream f(in, std::ios::binary);
  if (!f) return NotFound("cannot open model file '", in, "'");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&f)) return InvalidArgument("'", in, "' is not a valid ONNX model (protobuf parse failed)");
  std::map<std::string, onnx::TensorProto*> inits;
  for (auto& t : *model.mutable_graph()->mutable_initializer()) inits[t.name()] = &t;
  const std::set<std::string> ops(options.ops.begin(), options.ops.end());
  std::set<std::string> seen;
  std::vector<Pruned> report;
  for (const auto& node : model.graph().node()) {
    if (!ops.count(node.op_type()) || !node.domain().empty() || node.input_size() < 2) continue;
    auto it = inits.find(node.input(1));
    if (it == inits.end() || !seen.insert(node.input(1)).second) continue;
    onnx::TensorProto& t = *it->second;
    if (t.data_type() != onnx::TensorProto::FLOAT) continue;
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
      return Unimplemented("weight '", t.name(), "' is in an external data file; prune needs it inside the model");
    bool trans_b = false;
    for (const auto& a : node.attribute()) trans_b = trans_b || (a.name() == "transB" && a.i() != 0);
    std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
    if (shape.size() < 2) continue;
    SPARSERT_ASSIGN_OR_RETURN(NkView v, nk_view(shape, node.op_type(), trans_b));
    const size_t count = static_cast<size_t>(v.N * v.K);
    std::vector<float> w(count);
    if (t.has_raw_data()) {
      if (t.raw_data().size() != count * 4)
        return InvalidArgument("weight '", t.name(), "' holds ", t.raw_data().size(), " bytes, expected ", count * 4);
      std::memcpy(w.data(), t.raw_data().data(), count * 4);
    } else {
      if (static_cast<size_t>(t.float_data_size()) != count)
        return InvalidArgument("weight '", t.name(), "' holds ", t.float_data_size(), " values, expected ", count);
      std::copy(t.float_data().begin(), t.float_data().end(), w.begin());
    }
    prune_blocks(w, v, options.sparsity, pattern->second.first, pattern->second.second);
    t.clear_float_data();
    t.set_raw_data(std::string(reinterpret_cast<const char*>(w.data()), count * 4));
    const auto zeros = std::count(w.begin(), w.end(), 0.f);
    report.push_back({t.name(), node.op_type(), shape, static_cast<double>(zeros) / static_cast<double>(count)});
  }
  std::ofstream o(out, std::ios::binary | std::ios::trunc);
  if (!o || !model.SerializeToOstream(&o)) return InvalidArgument("cannot write '", out, "'");
  return report;
}

}  // namespace sparsert::prune
