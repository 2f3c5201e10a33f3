// Quantization ops as ONNX Runtime's quantizer writes them: QuantizeLinear,
// DequantizeLinear (per-tensor and per-axis), DynamicQuantizeLinear,
// MatMulInteger, QLinearMatMul, and com.microsoft MatMulNBits (4/8-bit blocks);
// and com.sparsert QuantizeDequantize, DequantizeLinear(QuantizeLinear(x)) in
// one op (the fuse_qdq pass writes it for the Q/DQ pairs of QDQ models):
//   inputs x float, scale, zero point (optional) as QuantizeLinear's; same
//   attributes; output float of x's shape.
// Rounding is half-to-even (std::nearbyint in the default rounding mode), as the spec says.
#include <cmath>
#include <limits>

#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// Per-tensor or per-axis parameters: index into scale/zero point for element i.
struct AxisParams {
  int64_t count = 1;  // 1: per-tensor
  int64_t inner = 1;  // elements after the axis
  int64_t index(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};

StatusOr<AxisParams> axis_params(const KernelContext& ctx, const Tensor& x, const Tensor& scale) {
  AxisParams p;
  if (scale.num_elements() == 1 && scale.rank() <= 1) return p;
  if (scale.rank() != 1)
    return Unimplemented(ctx.node().describe(), ": scale ", scale.type_string(), " (blocked quantization) is not supported");
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", 1));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, x.rank(), ctx.node()));
  if (x.dim(static_cast<int>(axis)) != scale.num_elements())
    return InvalidArgument(ctx.node().describe(), ": scale has ", scale.num_elements(), " values for axis ", axis,
                           " of size ", x.dim(static_cast<int>(axis)));
  p.count = scale.num_elements();
  for (int64_t d = axis + 1; d < x.rank(); ++d) p.inner *= x.dim(static_cast<int>(d));
  return p;
}

Status check_zero_point(const KernelContext& ctx, const Tensor* zp, const Tensor& scale) {
  if (zp && zp->num_elements() != scale.num_elements())
    return InvalidArgument(ctx.node().describe(), ": zero point ", zp->type_string(), " does not match scale ",
                           scale.type_string());
  return Status::OK();
}

Status quantize_linear(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  const Tensor& scale = *ctx.input(1);
  const Tensor* zp = ctx.input(2);
  SPARSERT_RETURN_IF_ERROR(check_zero_point(ctx, zp, scale));
  SPARSERT_ASSIGN_OR_RETURN(AxisParams p, axis_params(ctx, x, scale));
  const DType out = zp ? zp->dtype() : DType::kUInt8;
  if (out != DType::kUInt8 && out != DType::kInt8)
    return Unimplemented(ctx.node().describe(), ": output type ", dtype_name(out));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out, x.shape()));
  const float* px = x.data<float>();
  for (int64_t i = 0, n = x.num_elements(); i < n; ++i) {
    const int64_t c = p.index(i);
    const double z = zp ? zp->element_as_double(c) : 0.0;
    // Float division, as ONNX Runtime does it, so values on a .5 boundary round the same way.
    const double v = std::nearbyint(px[i] / scale.data<float>()[c]) + z;
    if (out == DType::kUInt8) y->data<uint8_t>()[i] = saturate<uint8_t>(v);
    else y->data<int8_t>()[i] = saturate<int8_t>(v);
  }
  return Status::OK();
}

Status dequantize_linear(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kUInt8, DType::kInt8, DType::kInt32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  const Tensor& scale = *ctx.input(1);
  const Tensor* zp = ctx.input(2);
  SPARSERT_RETURN_IF_ERROR(check_zero_point(ctx, zp, scale));
  if (zp && zp->dtype() != x.dtype())
    return InvalidArgument(ctx.node().describe(), ": zero point type ", dtype_name(zp->dtype()), " differs from input ",
                           dtype_name(x.dtype()));
  SPARSERT_ASSIGN_OR_RETURN(AxisParams p, axis_params(ctx, x, scale));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape()));
  for (int64_t i = 0, n = x.num_elements(); i < n; ++i) {
    const int64_t c = p.index(i);
    const double z = zp ? zp->element_as_double(c) : 0.0;
    y->data<float>()[i] = static_cast<float>((x.element_as_double(i) - z) * scale.data<float>()[c]);
  }
  return Status::OK();
}

// uint8 quantization with a range that always includes 0 (so 0 is exact).
// DynamicQuantizeLinear's outputs for x given its range {lo, hi} (min and
// max of x and 0).
Status dynamic_quantize_in_range(KernelContext& ctx, const Tensor& x, float lo, float hi) {
  const float* px = x.data<float>();
  const float scale = (hi - lo) / 255.f;
  const uint8_t zp = scale == 0.f ? 0 : saturate<uint8_t>(std::nearbyint(0.0 - lo / scale));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, x.shape()));
  for (int64_t i = 0, n = x.num_elements(); i < n; ++i)
    y->data<uint8_t>()[i] = scale == 0.f ? zp : saturate<uint8_t>(std::nearbyint(px[i] / scale) + zp);
  if (ctx.output_wanted(1)) {
    SPARSERT_ASSIGN_OR_RETURN(Tensor * s, ctx.allocate_output(1, DType::kFloat32, {}));
    s->data<float>()[0] = scale;
  }
  if (ctx.output_wanted(2)) {
    SPARSERT_ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(2, DType::kUInt8, {}));
    z->data<uint8_t>()[0] = zp;
  }
  return Status::OK();
}

Status dynamic_quantize_linear(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  float lo, hi;
  dynamic_quantize_range_reference(x.data<float>(), x.num_elements(), &lo, &hi);
  return dynamic_quantize_in_range(ctx, x, lo, hi);
}

// com.sparsert DynamicQuantizeLinear(x, range): ONNX's with x's range {min(0,
// min x), max(0, max x)} given (by the producer that wrote x:
// passes/fuse_dynamic_quantize_range.cc), so x is read once, not twice.
Status dynamic_quantize_linear_given_range(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& range = *ctx.input(1);
  if (range.num_elements() != 2 || !(range.data<float>()[0] <= 0.f) || !(range.data<float>()[1] >= 0.f))
    return InvalidArgument(ctx.node().describe(), ": range must be {lo <= 0, hi >= 0}, got ", range.type_string());
  return dynamic_quantize_in_range(ctx, *ctx.input(0), range.data<float>()[0], range.data<float>()[1]);
}

// int32 acc[b][m][n] = sum_k (A - a_zp) (B - b_zp); zero points per tensor, A's per row, B's per column.
struct IntMatmul {
  Shape out_shape;
  std::vector<int32_t> acc;
  int64_t M = 0, N = 0;
};

StatusOr<IntMatmul> int_matmul(const KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* a_zp,
                               const Tensor* b_zp) {
  for (const Tensor* t : {&a, &b})
    if (t->dtype() != DType::kUInt8 && t->dtype() != DType::kInt8)
      return Unimplemented(ctx.node().describe(), ": integer matmul input ", t->type_string());
  SPARSERT_ASSIGN_OR_RETURN(MatmulShapes ms, matmul_shapes(ctx.node(), a, b));
  const int64_t M = ms.M, K = ms.K, N = ms.N;
  if (a_zp && a_zp->num_elements() != 1 && a_zp->num_elements() != M)
    return InvalidArgument(ctx.node().describe(), ": A zero point ", a_zp->type_string(), " must be scalar or per row");
  if (b_zp && b_zp->num_elements() != 1 && b_zp->num_elements() != N)
    return InvalidArgument(ctx.node().describe(), ": B zero point ", b_zp->type_string(), " must be scalar or per column");
  IntMatmul r;
  r.M = M;
  r.N = N;
  r.out_shape = ms.out;
  int64_t nb = 1;
  for (int64_t d : ms.batch) nb *= d;
  r.acc.assign(static_cast<size_t>(nb * M * N), 0);
  auto azp = [&](int64_t m) { return a_zp ? static_cast<int32_t>(a_zp->element_as_int64(a_zp->num_elements() == 1 ? 0 : m)) : 0; };
  auto bzp = [&](int64_t n) { return b_zp ? static_cast<int32_t>(b_zp->element_as_int64(b_zp->num_elements() == 1 ? 0 : n)) : 0; };
  ms.for_each_batch([&](int64_t bi, int64_t oa, int64_t ob) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < K; ++k) {
        const int32_t av = static_cast<int32_t>(a.element_as_int64((oa * M + m) * K + k)) - azp(m);
        int32_t* row = &r.acc[static_cast<size_t>((bi * M + m) * N)];
        for (int64_t n = 0; n < N; ++n)
          row[n] += av * (static_cast<int32_t>(b.element_as_int64((ob * K + k) * N + n)) - bzp(n));
      }
  });
  return r;
}

Status matmul_integer(KernelContext& ctx) {
  SPARSERT_ASSIGN_OR_RETURN(IntMatmul r, int_matmul(ctx, *ctx.input(0), *ctx.input(1), ctx.input(2), ctx.input(3)));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt32, r.out_shape));
  std::copy(r.acc.begin(), r.acc.end(), y->data<int32_t>());
  return Status::OK();
}

Status qlinear_matmul(KernelContext& ctx) {
  // a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
  const Tensor &a = *ctx.input(0), &a_scale = *ctx.input(1), &b = *ctx.input(3), &b_scale = *ctx.input(4);
  const Tensor &y_scale = *ctx.input(6), &y_zp = *ctx.input(7);
  SPARSERT_ASSIGN_OR_RETURN(IntMatmul r, int_matmul(ctx, a, b, ctx.input(2), ctx.input(5)));
  if (a_scale.num_elements() != 1 || y_scale.num_elements() != 1 ||
      (b_scale.num_elements() != 1 && b_scale.num_elements() != r.N))
    return Unimplemented(ctx.node().describe(), ": scales must be per tensor (B's may be per column)");
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, y_zp.dtype(), r.out_shape));
  const double as = a_scale.data<float>()[0], ys = y_scale.data<float>()[0], z = y_zp.element_as_double(0);
  for (size_t i = 0; i < r.acc.size(); ++i) {
    const int64_t n = static_cast<int64_t>(i) % r.N;
    const double bs = b_scale.data<float>()[b_scale.num_elements() == 1 ? 0 : n];
    const float mult = requant_multiplier(static_cast<float>(as), static_cast<float>(bs), static_cast<float>(ys));
    if (y->dtype() == DType::kUInt8) y->data<uint8_t>()[i] = requantize<uint8_t>(r.acc[i], mult, z);
    else y->data<int8_t>()[i] = requantize<int8_t>(r.acc[i], mult, z);
  }
  return Status::OK();
}

// com.microsoft MatMulNBits: Y = A * dequant(B)^T + bias, B [N, k_blocks, blob]
// of `bits`-bit values packed low bits first, scales [N * k_blocks], optional
// zero points packed the same way ([N * ceil(k_blocks * bits / 8)] bytes) or
// float; the default zero point is 2^(bits-1).
Status matmul_nbits(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kUInt8}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 2, {DType::kFloat32}));
  const Tensor &a = *ctx.input(0), &b = *ctx.input(1), &scales = *ctx.input(2);
  const Tensor* zps = ctx.input(3);
  if (ctx.input(4)) return Unimplemented(ctx.node().describe(), ": g_idx (act-order) is not supported");
  const Tensor* bias = ctx.input(5);
  SPARSERT_ASSIGN_OR_RETURN(int64_t K, ctx.attrs().get_int("K"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t N, ctx.attrs().get_int("N"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t bits, ctx.attrs().get_int("bits", 4));
  SPARSERT_ASSIGN_OR_RETURN(int64_t block, ctx.attrs().get_int("block_size"));
  if (bits != 4 && bits != 8) return Unimplemented(ctx.node().describe(), ": bits=", bits);
  if (block < 16 || (block & (block - 1)))
    return InvalidArgument(ctx.node().describe(), ": block_size must be a power of two >= 16, got ", block);
  const int64_t k_blocks = (K + block - 1) / block, blob = block * bits / 8;
  if (a.rank() < 1 || a.shape().back() != K)
    return InvalidArgument(ctx.node().describe(), ": A is ", a.type_string(), ", expected last dim K=", K);
  if (b.num_elements() != N * k_blocks * blob)
    return InvalidArgument(ctx.node().describe(), ": B is ", b.type_string(), ", expected ", N, "x", k_blocks, "x", blob);
  if (scales.num_elements() != N * k_blocks)
    return InvalidArgument(ctx.node().describe(), ": scales has ", scales.num_elements(), " values, expected ", N * k_blocks);
  const int64_t zp_row_bytes = (k_blocks * bits + 7) / 8;
  if (zps && zps->dtype() == DType::kUInt8 && zps->num_elements() != N * zp_row_bytes)
    return InvalidArgument(ctx.node().describe(), ": zero_points has ", zps->num_elements(), " bytes, expected ",
                           N * zp_row_bytes);
  if (bias && bias->num_elements() != N)
    return InvalidArgument(ctx.node().describe(), ": bias has ", bias->num_elements(), " values, expected ", N);
  const uint8_t* pb = b.data<uint8_t>();
  const int mask = (1 << bits) - 1;
  auto nibble = [&](const uint8_t* bytes, int64_t idx) -> int {
    return bits == 8 ? bytes[idx] : (bytes[idx / 2] >> ((idx % 2) * 4)) & mask;
  };
  // Dequantize W once per call into [N, K] (the reference is about clarity, not speed).
  std::vector<float> w(static_cast<size_t>(N * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t kb = 0; kb < k_blocks; ++kb) {
      const float s = scales.data<float>()[n * k_blocks + kb];
      float z = static_cast<float>(1 << (bits - 1));
      if (zps && zps->dtype() == DType::kUInt8) z = static_cast<float>(nibble(zps->data<uint8_t>() + n * zp_row_bytes, kb));
      else if (zps && zps->dtype() == DType::kFloat32) z = zps->data<float>()[n * k_blocks + kb];
      const uint8_t* blk = pb + (n * k_blocks + kb) * blob;
      for (int64_t j = 0; j < block && kb * block + j < K; ++j)
        w[static_cast<size_t>(n * K + kb * block + j)] = (static_cast<float>(nibble(blk, j)) - z) * s;
    }
  Shape out(a.shape().begin(), a.shape().end() - 1);
  out.push_back(N);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out));
  const int64_t M = a.num_elements() / std::max<int64_t>(K, 1);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = bias ? bias->data<float>()[n] : 0.0;
      const float* x = a.data<float>() + m * K;
      const float* wr = w.data() + n * K;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[k]) * wr[k];
      y->data<float>()[m * N + n] = static_cast<float>(acc);
    }
  return Status::OK();
}

}  // namespace

Status quantize_dequantize(KernelContext& ctx) {
  std::vector<Tensor> q(1), y(1);
  KernelContext quant(ctx.node(), {ctx.input(0), ctx.input(1), ctx.input(2)}, &q);
  SPARSERT_RETURN_IF_ERROR(quantize_linear(quant));
  KernelContext dequant(ctx.node(), {&q[0], ctx.input(1), ctx.input(2)}, &y);
  SPARSERT_RETURN_IF_ERROR(dequantize_linear(dequant));
  return ctx.set_output(0, y[0]);
}

void register_quantize_ops(OpRegistry& r) {
  r.add({"", "QuantizeLinear", 2, 3, 1, 1, quantize_linear});
  r.add({"", "DequantizeLinear", 2, 3, 1, 1, dequantize_linear});
  r.add({"", "DynamicQuantizeLinear", 1, 1, 1, 3, dynamic_quantize_linear});
  r.add({kSparsertDomain, "DynamicQuantizeLinear", 2, 2, 1, 3, dynamic_quantize_linear_given_range});
  r.add({"", "MatMulInteger", 2, 4, 1, 1, matmul_integer});
  r.add({"", "QLinearMatMul", 8, 8, 1, 1, qlinear_matmul});
  r.add({"com.microsoft", "MatMulNBits", 3, 6, 1, 1, matmul_nbits});
  r.add({kSparsertDomain, "QuantizeDequantize", 2, 3, 1, 1, quantize_dequantize});
}

}  // namespace sparsert
