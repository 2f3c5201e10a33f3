// sparse_nchwc_conv_f32: com.sparsert NchwcConv with a pruned constant float
// weight on the jit::Spmm kernels, as XNNPACK runs sparse 1x1 convolutions
// (output channels x input channels times the image's channel rows) but for
// any window: W is taken as [M, kh * kw * C] (tap-major), each tile of output
// pixels is gathered from the blocked image as its implicit im2col
// (SpmmConvRows, no im2col buffer), and the epilogue writes the blocked
// output with bias, the residual Sum and ReLU or Clip fused. Channel counts
// that are not a multiple of the block are padded with zero weights: the
// blocked tensors' lanes past C are zero, and the output's come out 0 (the
// layout pass fuses no Clip that would move 0).
// Declines (to oneDNN's convolution) for grouped convolutions, a plain NCHW
// input, or where the cost model expects dense to win.
#include <algorithm>
#include <memory>
#include <vector>

#include "jit/spmm/spmm.h"
#include "ops/linear.h"
#include "ops/nchwc.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"
#include "ops/sparse/sparse_cost_model.h"
#include "ops/sparse/sparse_report.h"

namespace sparsert {
namespace {

using jit::PostOp;
using jit::Spmm;
using jit::SpmmConvRows;
using jit::SpmmRunArgs;

StatusOr<KernelFn> sparse_nchwc_conv_f32(const Node& n, const Graph& g, const ImplContext& ictx) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("weights are not a constant");
  if (w->dtype() != DType::kFloat32 || w->rank() != 4 || w->num_elements() == 0)
    return Unimplemented("weights ", w->type_string(), ": needs a non-empty 4-D float constant");
  SPARSERT_ASSIGN_OR_RETURN(NchwcConvParams params, nchwc_conv_params(n));
  SPARSERT_ASSIGN_OR_RETURN(int64_t group, n.attrs.get_int("group", 1));
  if (group != 1) return Unimplemented("grouped convolution (group ", group, ")");
  if (params.block < 1 || params.block > 64) return Unimplemented("channel block ", params.block);
  const Value& xv = g.value(n.inputs[0]);
  if (!xv.type.has_shape || xv.type.dims.size() != 5) return Unimplemented("the input is not channel-blocked");
  const int64_t M = w->dim(0), C = w->dim(1), kh = w->dim(2), kw = w->dim(3), taps = kh * kw, b = params.block;
  const int64_t out_blocks = nchwc_blocks(M, b), in_blocks = nchwc_blocks(C, b);
  const int64_t N = out_blocks * b, K = taps * in_blocks * b;
  // W as [N, taps x blocked C]: row m, column tap * C' + c = W[m][c][tap].
  std::vector<float> wk(static_cast<size_t>(N * K), 0.f);
  const float* pw = w->data<float>();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < taps; ++t)
        wk[static_cast<size_t>(m * K + t * in_blocks * b + c)] = pw[(m * C + c) * taps + t];
  // Decided on W as it is, [M, C x taps] (the order of K does not matter to
  // the model): the padding's zero rows and columns would read as sparsity.
  const SparseChoice choice = choose_sparse_f32(pw, M, C * taps, C * taps, 1, ictx.isa_cap, ictx.sparse);
  if (!choice.sparse) return Unimplemented("dense is faster: ", choice.why);
  std::optional<Tensor> bias;
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Tensor* bt = constant_input(n, g, 2);
    if (!bt || bt->dtype() != DType::kFloat32 || bt->num_elements() != M)
      return Unimplemented("bias is not a constant float of ", M, " values");
    std::vector<float> padded(static_cast<size_t>(N), 0.f);
    std::copy(bt->data<float>(), bt->data<float>() + M, padded.begin());
    bias = Tensor::from_vector<float>({N}, padded);
  }
  const bool sum = n.inputs.size() > 3 && n.inputs[3] != kNoValue;
  jit::SpmmDesc d;
  d.n = N;
  d.k = K;
  d.dtype = jit::SpmmDType::kF32;
  d.out = jit::SpmmOut::kF32;
  d.band_rows = choice.band_rows;
  int i = 0;
  if (bias) d.post[i++] = PostOp::kBias;
  if (sum) d.post[i++] = PostOp::kResidualAdd;  // activation(conv + B + Sum)
  if (params.act == ConvActivation::kRelu) d.post[i++] = PostOp::kRelu;
  if (params.act == ConvActivation::kClip) d.post[i++] = PostOp::kClip;
  d.isa_cap = ictx.isa_cap;
  SPARSERT_ASSIGN_OR_RETURN(std::shared_ptr<const Spmm> spmm, Spmm::create(d, wk.data(), K, 1));
  reported(spmm, choice, ictx);
  KernelFn ref = reference_kernel(n);
  const Shape w_shape = w->shape();
  const int threads = ictx.threads;
  return KernelFn([spmm, bias, ref, w_shape, params, threads](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor* s = ctx.input(3);
    if (x.dtype() != DType::kFloat32 || (s && s->dtype() != DType::kFloat32)) return ref(ctx);
    auto geo = nchwc_conv_geometry(ctx.node(), params, x.shape(), w_shape);
    if (!geo.ok() || geo->plain_input || (s && s->shape() != geo->out)) return ref(ctx);  // (the reference names it)
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, geo->out, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    const Window& win = geo->conv.w;
    const int64_t b = params.block, images = geo->conv.N, pixels = win.oh * win.ow;
    const int64_t in_image = x.num_elements() / images, out_image = y->num_elements() / images;
    SpmmConvRows rows;
    rows.block = b;
    rows.ih = win.ih, rows.iw = win.iw, rows.oh = win.oh, rows.ow = win.ow;
    rows.kh = win.kh, rows.kw = win.kw, rows.sh = win.sh, rows.sw = win.sw, rows.dh = win.dh, rows.dw = win.dw;
    rows.pt = win.pt, rows.pl = win.pl;
    // One call per image: the kernel's own tiling keeps its packed tiles in
    // L2 (small W: groups of tiles) and splits W over the threads. (Calls of
    // 256 KiB to 1 MiB of packed rows, whole calls a thread, measured 1-6%
    // slower at 2 threads and up to 15% at 1, ResNet-50 90%, Zen 5.)
    auto run_image = [&](int64_t image, int call_threads) {
      SpmmConvRows r = rows;
      r.x = x.data<float>() + image * in_image;
      SpmmRunArgs a;
      a.m = pixels;
      a.conv = &r;
      a.y = y->data<float>() + image * out_image;
      a.y_block = b;
      a.y_block_stride = pixels * b;
      if (s) a.residual = s->data<float>() + image * out_image;
      if (bias) a.bias = bias->data<float>();
      a.clip_min = params.act_min;
      a.clip_max = params.act_max;
      return spmm->run(a, call_threads);
    };
    if (threads <= 1 || !(images % threads == 0 || images >= 4 * threads)) {
      for (int64_t image = 0; image < images; ++image) SPARSERT_RETURN_IF_ERROR(run_image(image, threads));
      return Status::OK();
    }
    // Batches that split evenly (or finely) over the threads: whole images a
    // thread, each image's rows and outputs in one core's caches, and no
    // fork and join per image. ResNet-50 90% at batch 8, 2 threads (Zen 5):
    // 110-111 -> 75-76 ms (1 thread: 137).
    std::vector<Status> status(static_cast<size_t>(images));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t image = 0; image < images; ++image) status[static_cast<size_t>(image)] = run_image(image, 1);
    for (const Status& st : status) SPARSERT_RETURN_IF_ERROR(st);
    return Status::OK();
  });
}

}  // namespace

void register_sparse_conv_impls(OpRegistry& r) {
  r.add_impl(kSparsertDomain, "NchwcConv", {"sparse_nchwc_conv_f32", sparse_nchwc_conv_f32});
}

}  // namespace sparsert
