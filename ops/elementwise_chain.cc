// com.sparsert ElementwiseChain (ops/elementwise_chain.h): attribute encoding,
// shape rule, and one evaluator instantiated twice: the reference kernel
// (std::erf, std::exp, the reference quantization formula) and
// fast_elementwise_chain (the ops/fast array loops the unfused fast kernels use).
#include "ops/elementwise_chain.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "ops/fast/vector_math.h"
#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"
#include "ops/shape_rules_util.h"

namespace sparsert {

void write_chain_attributes(const std::vector<ChainStep>& steps, AttributeMap& attrs) {
  std::vector<int64_t> ops, operands;
  std::vector<float> constants;
  for (const ChainStep& s : steps) {
    ops.push_back(static_cast<int64_t>(s.op));
    operands.push_back(static_cast<int64_t>(s.kind));
    operands.push_back(s.index);
    constants.insert(constants.end(), std::begin(s.c), std::end(s.c));
  }
  attrs.set("ops", ops);
  attrs.set("operands", operands);
  attrs.set("constants", constants);
}

StatusOr<std::vector<ChainStep>> read_chain_steps(const Node& node) {
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> ops, node.attrs.get_ints("ops"));
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> operands, node.attrs.get_ints("operands"));
  SPARSERT_ASSIGN_OR_RETURN(std::vector<float> constants, node.attrs.get_floats("constants"));
  if (ops.empty() || operands.size() != 2 * ops.size() || constants.size() != 4 * ops.size())
    return InvalidArgument(node.describe(), ": ", ops.size(), " steps need ", 2 * ops.size(), " operands and ",
                           4 * ops.size(), " constants, got ", operands.size(), " and ", constants.size());
  std::vector<ChainStep> steps(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    ChainStep& s = steps[i];
    if (ops[i] < 0 || ops[i] > static_cast<int64_t>(ChainOp::kSave))
      return InvalidArgument(node.describe(), ": step ", i, " has unknown op ", ops[i]);
    s.op = static_cast<ChainOp>(ops[i]);
    if (operands[2 * i] < 0 || operands[2 * i] > static_cast<int64_t>(OperandKind::kRegister))
      return InvalidArgument(node.describe(), ": step ", i, " has unknown operand kind ", operands[2 * i]);
    s.kind = static_cast<OperandKind>(operands[2 * i]);
    s.index = operands[2 * i + 1];
    std::copy(constants.begin() + 4 * static_cast<int64_t>(i), constants.begin() + 4 * static_cast<int64_t>(i) + 4, s.c);
    const bool binary = s.op <= ChainOp::kDivRev;
    if (binary != (s.kind != OperandKind::kNone))
      return InvalidArgument(node.describe(), ": step ", i, binary ? " needs" : " takes no", " operand");
    if ((s.kind == OperandKind::kRegister || s.op == ChainOp::kSave) && (s.index < 0 || s.index >= kChainRegisters))
      return InvalidArgument(node.describe(), ": step ", i, " register ", s.index, " out of range");
    if (s.kind == OperandKind::kSide && (s.index < 1 || s.index >= static_cast<int64_t>(node.inputs.size())))
      return InvalidArgument(node.describe(), ": step ", i, " reads input ", s.index, " of ", node.inputs.size());
    if ((s.op == ChainOp::kDequantize && i != 0) || (s.op == ChainOp::kQuantize && i + 1 != ops.size()))
      return InvalidArgument(node.describe(), ": dequantize must be the first step and quantize the last");
    const bool quant = s.op == ChainOp::kQuantizeDequantize || s.op == ChainOp::kDequantize || s.op == ChainOp::kQuantize;
    if (quant && !(s.c[0] != 0.f && std::isfinite(s.c[0])))
      return InvalidArgument(node.describe(), ": step ", i, " has scale ", s.c[0]);
  }
  return steps;
}

namespace {

constexpr int64_t kChunk = 1024;

// The 8-bit type a quantizing step writes (its range gives it away).
DType quantized_type(const ChainStep& s) { return s.c[2] < 0.f ? DType::kInt8 : DType::kUInt8; }

// Reference quantization of one value (the QuantizeLinear kernel's formula).
float quantize_ref(float v, const ChainStep& s) { return quantize_code_reference(v, s.c[0], s.c[1], s.c[2], s.c[3]); }

// Applies steps [from, to) (neither the first step's dequantize nor the last
// step's quantize) to the len values in cur; tmp is a scratch chunk the
// out-of-place loops swap with cur; operand(step) gives a step's side operand
// (this chunk's part of it) or register, null for a constant.
template <bool Fast, class Operand>
void apply_steps(const std::vector<ChainStep>& steps, size_t from, size_t to, float*& cur, float*& tmp, int64_t len,
                 float* const* reg, Operand&& operand) {
  for (size_t si = from; si < to; ++si) {
    const ChainStep& s = steps[si];
    const float* o = operand(s);
    const float k = s.c[0];
    const auto binary = [&](fast::BinaryStep op, auto&& f) {
      if (Fast) fast::binary_step_in_place(op, cur, o, k, len);
      else if (o) for (int64_t j = 0; j < len; ++j) cur[j] = f(cur[j], o[j]);
      else for (int64_t j = 0; j < len; ++j) cur[j] = f(cur[j], k);
    };
    switch (s.op) {
      case ChainOp::kAdd: binary(fast::BinaryStep::kAdd, [](float x, float b) { return b + x; }); break;
      case ChainOp::kSub: binary(fast::BinaryStep::kSub, [](float x, float b) { return x - b; }); break;
      case ChainOp::kSubRev: binary(fast::BinaryStep::kSubRev, [](float x, float b) { return b - x; }); break;
      case ChainOp::kMul: binary(fast::BinaryStep::kMul, [](float x, float b) { return b * x; }); break;
      case ChainOp::kDiv: binary(fast::BinaryStep::kDiv, [](float x, float b) { return x / b; }); break;
      case ChainOp::kDivRev: binary(fast::BinaryStep::kDivRev, [](float x, float b) { return b / x; }); break;
      case ChainOp::kErf:
        if (Fast) { fast::erf_array(cur, tmp, len); std::swap(cur, tmp); }
        else for (int64_t j = 0; j < len; ++j) cur[j] = std::erf(cur[j]);
        break;
      case ChainOp::kSigmoid:
        if (Fast) { fast::sigmoid_array(cur, tmp, len); std::swap(cur, tmp); }
        else for (int64_t j = 0; j < len; ++j) cur[j] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(cur[j]))));
        break;
      case ChainOp::kRelu:
        for (int64_t j = 0; j < len; ++j) cur[j] = std::max(cur[j], 0.f);
        break;
      case ChainOp::kQuantizeDequantize:
        if (Fast) {
          fast::quantize_dequantize_array(cur, len, s.c[0], s.c[1], s.c[2], s.c[3], tmp);
          std::swap(cur, tmp);
        } else {
          for (int64_t j = 0; j < len; ++j) cur[j] = (quantize_ref(cur[j], s) - s.c[1]) * s.c[0];
        }
        break;
      case ChainOp::kSave:
        std::copy(cur, cur + len, reg[s.index]);
        break;
      case ChainOp::kQuantize:
      case ChainOp::kDequantize:
        break;  // first / last step only, done by the caller (read_chain_steps checks)
    }
  }
}

// The last step's quantization of len values into the 8-bit output at y.
template <bool Fast>
void quantize_out(const ChainStep& s, const float* cur, int64_t len, DType out_type, void* y) {
  if (Fast && out_type == DType::kUInt8) fast::quantize_u8_array(cur, len, s.c[0], s.c[1], static_cast<uint8_t*>(y));
  else if (Fast) fast::quantize_s8_array(cur, len, s.c[0], s.c[1], static_cast<int8_t*>(y));
  else if (out_type == DType::kUInt8)
    for (int64_t j = 0; j < len; ++j) static_cast<uint8_t*>(y)[j] = static_cast<uint8_t>(quantize_ref(cur[j], s));
  else
    for (int64_t j = 0; j < len; ++j) static_cast<int8_t*>(y)[j] = static_cast<int8_t>(quantize_ref(cur[j], s));
}

// DequantizeLinear -> Add (a side input or a constant) -> Q/DQ pair with a
// float output: a QDQ graph's MatMul output plus bias, or a residual. The
// fast kernel runs it in one pass (fast::dequantize_add_qdq_*).
bool is_dequantize_add_qdq(const std::vector<ChainStep>& steps) {
  return steps.size() == 3 && steps[0].op == ChainOp::kDequantize && steps[1].op == ChainOp::kAdd &&
         steps[1].kind != OperandKind::kRegister && steps[2].op == ChainOp::kQuantizeDequantize;
}

// A chain whose steps after a Q/DQ pair read nothing but constants and
// registers saved after it is, from that pair on, a function of the pair's
// 8-bit code: those steps run once per code when the kernel is built, and
// each value then costs one quantization and one lookup (QDQ BERT's GELU:
// four more Q/DQ pairs, a division and erf after the first pair, 2.3 -> ~0.7
// ns per value on Zen 3). The table holds what the fast steps give, so the
// chain's output is unchanged.
struct CodeTable {
  size_t at = 0;  // the pair's step
  fast::QdqStep q;
  std::vector<uint8_t> bytes;  // 8-bit output
  std::vector<float> floats;   // float output
};

// The pair to tabulate from, or none: the first one after which the steps
// depend only on its code, and only when what follows it costs more than a lookup.
std::optional<CodeTable> plan_code_table(const std::vector<ChainStep>& steps) {
  const size_t end = steps.back().op == ChainOp::kQuantize ? steps.size() - 1 : steps.size();
  for (size_t at = 0; at < end; ++at) {
    if (steps[at].op != ChainOp::kQuantizeDequantize) continue;
    // Only an 8-bit code range (what the passes write; a hand-written chain
    // with another range keeps its steps instead of a huge table).
    if (!is_8bit_code_range(steps[at].c[2], steps[at].c[3])) return std::nullopt;
    bool code_only = true;
    bool saved[kChainRegisters] = {false, false};  // saved after `at`
    int work = 0;
    for (size_t j = at + 1; j < end && code_only; ++j) {
      const ChainStep& s = steps[j];
      if (s.op == ChainOp::kSave) {
        saved[s.index] = true;
        continue;
      }
      if (s.kind == OperandKind::kSide || (s.kind == OperandKind::kRegister && !saved[s.index])) code_only = false;
      const bool costly = s.op == ChainOp::kErf || s.op == ChainOp::kSigmoid || s.op == ChainOp::kDiv ||
                          s.op == ChainOp::kDivRev || s.op == ChainOp::kQuantizeDequantize;
      work += costly ? 2 : 1;
    }
    if (!code_only) continue;
    if (work < 2) return std::nullopt;
    CodeTable t;
    t.at = at;
    t.q = fast::QdqStep{steps[at].c[0], steps[at].c[1], steps[at].c[2], steps[at].c[3]};
    return t;
  }
  return std::nullopt;
}

// Fills the table: the pair's dequantized codes (and NaN, what the pair
// gives for NaN) through the fast steps after it.
void fill_code_table(const std::vector<ChainStep>& steps, CodeTable& t) {
  const int64_t codes = static_cast<int64_t>(t.q.qhi - t.q.qlo) + 1, n = codes + 1;
  std::vector<float> buffers(static_cast<size_t>((2 + kChainRegisters) * n));
  float* cur = buffers.data();
  float* tmp = buffers.data() + n;
  float* reg[kChainRegisters];
  for (int r = 0; r < kChainRegisters; ++r) reg[r] = buffers.data() + (2 + r) * n;
  for (int64_t c = 0; c < codes; ++c) cur[c] = (t.q.qlo + static_cast<float>(c) - t.q.zero_point) * t.q.scale;
  cur[codes] = std::numeric_limits<float>::quiet_NaN();
  const bool quantized = steps.back().op == ChainOp::kQuantize;
  apply_steps<true>(steps, t.at + 1, quantized ? steps.size() - 1 : steps.size(), cur, tmp, n, reg,
                    [&](const ChainStep& s) -> const float* {
                      return s.kind == OperandKind::kRegister ? reg[s.index] : nullptr;
                    });
  if (quantized) {
    t.bytes.resize(static_cast<size_t>(n));
    quantize_out<true>(steps.back(), cur, n, quantized_type(steps.back()), t.bytes.data());
  } else {
    t.floats.assign(cur, cur + n);
  }
}

template <bool Fast>
Status run_chain(KernelContext& ctx, const std::vector<ChainStep>& steps, const CodeTable* table = nullptr) {
  const Tensor& x = *ctx.input(0);
  const ChainStep &first = steps.front(), &last = steps.back();
  const bool dequantize_input = first.op == ChainOp::kDequantize;
  const DType in_type = dequantize_input ? quantized_type(first) : DType::kFloat32;
  if (x.dtype() != in_type)
    return InvalidArgument(ctx.node().describe(), ": X is ", x.type_string(), ", the chain reads ", dtype_name(in_type));
  const int64_t N = x.num_elements(), C = x.rank() > 0 ? x.shape().back() : 1;
  // Side operands: X's shape (full) or one value per last-axis position.
  std::vector<const float*> side(static_cast<size_t>(ctx.num_inputs()), nullptr);
  std::vector<bool> per_column(side.size(), false);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t || t->dtype() != DType::kFloat32 || (t->num_elements() != N && t->num_elements() != C))
      return InvalidArgument(ctx.node().describe(), ": input ", i, " is ", t ? t->type_string() : "missing",
                             ", expected float of X's shape ", shape_to_string(x.shape()), " or of ", C, " values");
    side[static_cast<size_t>(i)] = t->data<float>();
    per_column[static_cast<size_t>(i)] = t->num_elements() != N;
  }
  const bool quantize_output = last.op == ChainOp::kQuantize;
  const DType out_type = quantize_output ? quantized_type(last) : DType::kFloat32;
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, x.shape(), OutputInit::kOverwritten));
  if (N == 0) return Status::OK();
  const size_t out_bytes = out_type == DType::kFloat32 ? 4 : 1;
  const size_t steps_end = table ? table->at : quantize_output ? steps.size() - 1 : steps.size();
  const bool dq_add_qdq = Fast && !table && is_dequantize_add_qdq(steps);
  // DequantizeLinear -> Add, then the table from the pair after them to an
  // 8-bit output (QDQ BERT's FFN bias and GELU): one pass too.
  const bool dq_add_lookup = Fast && table && quantize_output && table->at == 2 && dequantize_input &&
                             steps[1].op == ChainOp::kAdd && steps[1].kind != OperandKind::kRegister;
  const int64_t segments = (C + kChunk - 1) / kChunk, items = (N / C) * segments;
  parallel_for(items, std::max<int64_t>(1, 16384 / std::min(C, kChunk)), [&](int64_t i0, int64_t i1) {
    std::vector<float> buffers(static_cast<size_t>((2 + kChainRegisters) * kChunk));
    float* reg[kChainRegisters];
    for (int r = 0; r < kChainRegisters; ++r) reg[r] = buffers.data() + (2 + r) * kChunk;
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t col0 = (item % segments) * kChunk, len = std::min(kChunk, C - col0);
      const int64_t off = (item / segments) * C + col0;
      // A step's side operand (this chunk's part of it) or register; null for a constant.
      const auto operand = [&](const ChainStep& s) -> const float* {
        if (s.kind == OperandKind::kSide) {
          const size_t i = static_cast<size_t>(s.index);
          return side[i] + (per_column[i] ? col0 : off);
        }
        return s.kind == OperandKind::kRegister ? reg[s.index] : nullptr;
      };
      if (dq_add_qdq || dq_add_lookup) {
        const ChainStep& add = steps[1];
        const float* b = operand(add);  // (never a register here)
        const float scale = first.c[0], zp = first.c[1], k = add.c[0];
        const bool u8 = in_type == DType::kUInt8;
        if (dq_add_lookup) {
          uint8_t* out = static_cast<uint8_t*>(y->raw_data()) + off;
          if (u8) fast::dequantize_add_lookup_u8(x.data<uint8_t>() + off, len, scale, zp, b, k, table->q, table->bytes.data(), out);
          else fast::dequantize_add_lookup_s8(x.data<int8_t>() + off, len, scale, zp, b, k, table->q, table->bytes.data(), out);
          continue;
        }
        const fast::QdqStep q{steps[2].c[0], steps[2].c[1], steps[2].c[2], steps[2].c[3]};
        float* out = y->data<float>() + off;
        if (u8) fast::dequantize_add_qdq_u8(x.data<uint8_t>() + off, len, scale, zp, b, k, q, out);
        else fast::dequantize_add_qdq_s8(x.data<int8_t>() + off, len, scale, zp, b, k, q, out);
        continue;
      }
      float* cur = buffers.data();
      float* tmp = buffers.data() + kChunk;
      size_t s0 = 0;
      if (dequantize_input) {
        const float scale = first.c[0], zp = first.c[1];
        if (Fast && in_type == DType::kUInt8) fast::dequantize_u8_array(x.data<uint8_t>() + off, len, scale, zp, cur);
        else if (Fast) fast::dequantize_s8_array(x.data<int8_t>() + off, len, scale, zp, cur);
        else
          for (int64_t j = 0; j < len; ++j)
            cur[j] = (static_cast<float>(in_type == DType::kUInt8 ? x.data<uint8_t>()[off + j] : x.data<int8_t>()[off + j]) - zp) * scale;
        s0 = 1;
      } else {
        std::copy(x.data<float>() + off, x.data<float>() + off + len, cur);
      }
      apply_steps<Fast>(steps, s0, steps_end, cur, tmp, len, reg, operand);
      uint8_t* out = static_cast<uint8_t*>(y->raw_data()) + static_cast<size_t>(off) * out_bytes;
      if (table && quantize_output) fast::quantized_lookup_u8(cur, len, table->q, table->bytes.data(), out);
      else if (table) fast::quantized_lookup_f32(cur, len, table->q, table->floats.data(), reinterpret_cast<float*>(out));
      else if (quantize_output) quantize_out<Fast>(last, cur, len, out_type, out);
      else std::copy(cur, cur + len, reinterpret_cast<float*>(out));
    }
  });
  return Status::OK();
}

Status chain_reference(KernelContext& ctx) {
  SPARSERT_ASSIGN_OR_RETURN(std::vector<ChainStep> steps, read_chain_steps(ctx.node()));
  return run_chain<false>(ctx, steps);
}

StatusOr<KernelFn> chain_fast(const Node& n, const Graph&, const ImplContext& ictx) {
  SPARSERT_ASSIGN_OR_RETURN(std::vector<ChainStep> steps, read_chain_steps(n));
  auto table = plan_code_table(steps);
  if (table) {
    fill_code_table(steps, *table);
    if (ictx.report) ictx.report->variant = "code_table_" + std::to_string(table->at);
    auto shared = std::make_shared<const CodeTable>(std::move(*table));
    return KernelFn([steps, shared](KernelContext& ctx) -> Status { return run_chain<true>(ctx, steps, shared.get()); });
  }
  if (ictx.report && is_dequantize_add_qdq(steps)) ictx.report->variant = "dequantize_add_qdq";
  return KernelFn([steps](KernelContext& ctx) -> Status { return run_chain<true>(ctx, steps); });
}

Status chain_rule(InferContext& c) {
  auto steps = read_chain_steps(c.node());
  const DType out = steps.ok() && steps->back().op == ChainOp::kQuantize ? quantized_type(steps->back()) : DType::kFloat32;
  SPARSERT_RETURN_IF_ERROR(shape_rules::same_as_input(0)(c));
  c.output(0).dtype = out;
  return Status::OK();
}

}  // namespace

void register_elementwise_chain_ops(OpRegistry& r) {
  OpSchema s{kSparsertDomain, "ElementwiseChain", 1, 16, 1, 1, chain_reference};
  s.infer = chain_rule;
  s.impls.push_back({"fast_elementwise_chain", chain_fast});
  r.add(std::move(s));
}

}  // namespace sparsert
