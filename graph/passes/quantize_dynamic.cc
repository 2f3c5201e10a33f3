#include "graph/passes/quantize_dynamic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

#include "ops/op_util.h"
#include "ops/sparse/sparse_cost_model.h"

namespace sparsert::passes {
namespace {

// W[K, N] -> symmetric int8 per column: q = round(w / s[n]) in [-127, 127].
void quantize_columns(const Tensor& w, Tensor& q, Tensor& scale) {
  const int64_t K = w.dim(0), N = w.dim(1);
  const float* src = w.data<float>();
  int8_t* dst = q.data<int8_t>();
  float* s = scale.data<float>();
  std::vector<float> amax(static_cast<size_t>(N), 0.f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) amax[n] = std::max(amax[n], std::fabs(src[k * N + n]));
  for (int64_t n = 0; n < N; ++n) s[n] = amax[n] > 0.f ? amax[n] / 127.f : 1.f;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const float v = std::nearbyint(src[k * N + n] / s[n]);
      dst[k * N + n] = static_cast<int8_t>(std::min(std::max(v, -127.f), 127.f));
    }
}

Node make_node(const std::string& name, const char* op, std::vector<ValueId> in, std::vector<ValueId> out, int opset) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.opset = opset;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace

StatusOr<int> run_quantize_dynamic(Graph& g, PassContext& ctx) {
  if (ctx.quantize.empty() || ctx.quantize == "none") return 0;
  if (ctx.quantize != "dynamic-int8")
    return InvalidArgument("quantize must be none or dynamic-int8, got '", ctx.quantize, "'");
  const int opset = std::max(g.opsets.count("") ? g.opsets.at("") : 13, 11);
  std::vector<Node> added;
  std::vector<bool> remove(g.num_nodes(), false);
  int quantized = 0;
  // Activations already quantized here -> {x_quantized, x_scale, x_zero_point}:
  // MatMuls sharing an input (BERT's Q, K and V) share one quantization, as
  // ORT's quantize_dynamic writes it (three of them cost 2 of 6 per BERT layer).
  std::unordered_map<ValueId, std::array<ValueId, 3>> quantized_inputs;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& mm = g.node(id);
    if (mm.op_type != "MatMul" || !mm.domain.empty() || mm.inputs.size() != 2) continue;
    const Tensor* w = constant_input(mm, g, 1);
    const Value& x = g.value(mm.inputs[0]);
    if (!w || w->dtype() != DType::kFloat32 || w->rank() != 2 || w->num_elements() == 0) continue;
    if (x.constant || x.type.dtype != DType::kFloat32) continue;
    const int64_t K = w->dim(0), N = w->dim(1);
    SPARSERT_ASSIGN_OR_RETURN(Tensor q, Tensor::allocate(DType::kInt8, {K, N}));
    SPARSERT_ASSIGN_OR_RETURN(Tensor scale, Tensor::allocate(DType::kFloat32, {N}));
    quantize_columns(*w, q, scale);
    // Only layers the sparse bands take: dense tiles would trade the fp32
    // model's accuracy for speed without any zeros to pay for it.
    const SparseChoice choice = choose_sparse_s8(q.data<int8_t>(), N, K, 1, N, ctx.isa_cap, ctx.sparse);
    if (!choice.sparse || choice.layout != jit::SpmmLayout::kBands) continue;

    const std::string base = mm.name.empty() ? g.value(mm.outputs[0]).name : mm.name;
    ValueType u8 = x.type, f32_scalar, u8_scalar;
    u8.dtype = DType::kUInt8;
    f32_scalar.dtype = DType::kFloat32;
    f32_scalar.has_shape = true;
    u8_scalar.dtype = DType::kUInt8;
    u8_scalar.has_shape = true;
    ValueType acc = g.value(mm.outputs[0]).type, accf = acc, s_type;
    acc.dtype = DType::kInt32;
    s_type.dtype = DType::kFloat32;
    s_type.has_shape = true;
    s_type.dims = {Dim::of(N)};
    auto shared = quantized_inputs.find(mm.inputs[0]);
    if (shared == quantized_inputs.end()) {
      const ValueId xq = g.add_value(g.unused_name(base + "/x_quantized"), u8);
      const ValueId xs = g.add_value(g.unused_name(base + "/x_scale"), f32_scalar);
      const ValueId xzp = g.add_value(g.unused_name(base + "/x_zero_point"), u8_scalar);
      added.push_back(make_node(base + "/DynamicQuantizeLinear", "DynamicQuantizeLinear", {mm.inputs[0]},
                                {xq, xs, xzp}, opset));
      shared = quantized_inputs.emplace(mm.inputs[0], std::array<ValueId, 3>{xq, xs, xzp}).first;
    }
    const auto [xq, xs, xzp] = shared->second;
    const ValueId wq = g.add_constant(g.unused_name(base + "/w_quantized"), std::move(q));
    const ValueId ws = g.add_constant(g.unused_name(base + "/w_scale"), std::move(scale));
    const ValueId a = g.add_value(g.unused_name(base + "/acc"), acc);
    const ValueId af = g.add_value(g.unused_name(base + "/acc_float"), accf);
    const ValueId s = g.add_value(g.unused_name(base + "/scale"), s_type);
    added.push_back(make_node(base + "/MatMulInteger", "MatMulInteger", {xq, wq, xzp}, {a}, opset));
    Node cast = make_node(base + "/Cast", "Cast", {a}, {af}, opset);
    cast.attrs.set("to", static_cast<int64_t>(DType::kFloat32));
    added.push_back(std::move(cast));
    added.push_back(make_node(base + "/ScaleMul", "Mul", {xs, ws}, {s}, opset));
    added.push_back(make_node(base + "/Dequantize", "Mul", {af, s}, mm.outputs, opset));
    remove[id] = true;
    ++quantized;
  }
  // Wire the new nodes in before removing the MatMuls: removal releases
  // constants nothing reads (the float weights, not their int8 copies).
  for (Node& n : added) g.add_node(std::move(n));
  remove.resize(g.num_nodes(), false);
  g.remove_nodes(remove);
  return quantized;
}

}  // namespace sparsert::passes
