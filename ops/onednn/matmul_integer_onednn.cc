// oneDNN u8 x s8 with a constant int8 B and symmetric weights (B's zero point
// 0); A's zero point is a run-time oneDNN zero point. B is reordered once per
// primitive into the layout oneDNN picks. Exact only where
// onednn::int8_weights_exact says so.
// - onednn_matmul_u8s8: MatMulInteger -> s32 (ORT's quantize_dynamic, after
//   DynamicQuantizeLinear).
// - onednn_qlinear_matmul_u8s8: QLinearMatMul -> u8 (constant scales and zero
//   points, as ORT's static quantizer writes them): s32 from oneDNN, then ORT's
//   requantization (fast::requantize_u8_rows; oneDNN's own output scaling adds
//   the zero point before rounding, which moves near-ties by one step).
#include "ops/fast/vector_math.h"
#include "ops/onednn/onednn_common.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using dnnl::memory;
using onednn::cpu_engine;
using onednn::guarded;
using tag = memory::format_tag;
using dt = memory::data_type;

class Int8Linear {
 public:
  Int8Linear(Tensor b, int64_t K, int64_t N) : b_(std::move(b)), K_(K), N_(N) {}
  int64_t K() const { return K_; }
  int64_t N() const { return N_; }

  Status run(const uint8_t* a, int64_t M, int32_t a_zero_point, int32_t* y) {
    if (M == 0) return Status::OK();
    SPARSERT_ASSIGN_OR_RETURN(auto e, cache_.get({M}, [&] { return make(M); }));
    return guarded("int8 matmul", [&]() -> Status {
      dnnl::stream s(cpu_engine());
      memory src(e->src_md, cpu_engine(), const_cast<uint8_t*>(a));
      memory dst(e->dst_md, cpu_engine(), y);
      int32_t zp = a_zero_point;
      memory zp_mem({{1}, dt::s32, tag::x}, cpu_engine(), &zp);
      e->prim.execute(s, {{DNNL_ARG_SRC, src},
                          {DNNL_ARG_WEIGHTS, e->weights},
                          {DNNL_ARG_DST, dst},
                          {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zp_mem},
                          {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(e->scratchpad_md)}});
      s.wait();
      return Status::OK();
    });
  }

 private:
  struct Entry {
    dnnl::matmul prim;
    memory::desc src_md, dst_md, scratchpad_md;
    memory weights;  // B in the primitive's layout
  };

  StatusOr<std::shared_ptr<const Entry>> make(int64_t M) {
    auto e = std::make_shared<Entry>();
    Status st = guarded("int8 matmul setup", [&]() -> Status {
      e->src_md = memory::desc({M, K_}, dt::u8, tag::ab);
      e->dst_md = memory::desc({M, N_}, dt::s32, tag::ab);
      memory::desc w_any({K_, N_}, dt::s8, tag::any);
      dnnl::primitive_attr attr = onednn::scratchpad_attr();
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->src_md, w_any, e->dst_md), attr, cpu_engine());
      e->prim = dnnl::matmul(pd);
      e->scratchpad_md = pd.scratchpad_desc();
      e->weights = onednn::weights_in_layout(pd.weights_desc(), memory({{K_, N_}, dt::s8, tag::ab}, cpu_engine(), b_.raw_data()));
      return Status::OK();
    });
    if (!st.ok()) return st;
    return std::shared_ptr<const Entry>(e);
  }

  Tensor b_;
  int64_t K_, N_;
  onednn::ShapeCache<Entry> cache_;
};

// The constant 2-D int8 B at input b_index with zero point (at zp_index) 0,
// when oneDNN runs it exactly.
StatusOr<const Tensor*> symmetric_int8_b(const Node& n, const Graph& g, const ImplContext& ictx, size_t b_index,
                                         size_t zp_index) {
  const Tensor* b = constant_input(n, g, b_index);
  if (!b) return Unimplemented("B is not a constant");
  if (b->dtype() != DType::kInt8 || b->rank() != 2) return Unimplemented("B is ", b->type_string(), ", needs 2-D int8");
  SPARSERT_RETURN_IF_ERROR(constant_zero_point_is_zero(n, g, zp_index, "B"));
  SPARSERT_RETURN_IF_ERROR(onednn::int8_weights_exact(*b, ictx.isa_cap));
  return b;
}

StatusOr<KernelFn> matmul_integer_u8s8(const Node& n, const Graph& g, const ImplContext& ictx) {
  SPARSERT_ASSIGN_OR_RETURN(const Tensor* b, symmetric_int8_b(n, g, ictx, 1, 3));
  auto lin = std::make_shared<Int8Linear>(*b, b->dim(0), b->dim(1));
  KernelFn ref = reference_kernel(n);
  return KernelFn([lin, ref](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    const Tensor* a_zp = ctx.input(2);
    if (a.dtype() != DType::kUInt8 || a.rank() < 1 || a.shape().back() != lin->K()) return ref(ctx);
    if (a_zp && (a_zp->num_elements() != 1 || a_zp->dtype() != DType::kUInt8)) return ref(ctx);
    Shape out(a.shape().begin(), a.shape().end() - 1);
    out.push_back(lin->N());
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt32, out, OutputInit::kOverwritten));
    const int32_t zp = a_zp ? a_zp->data<uint8_t>()[0] : 0;
    return lin->run(a.data<uint8_t>(), a.num_elements() / lin->K(), zp, y->data<int32_t>());
  });
}

StatusOr<KernelFn> qlinear_matmul_u8s8(const Node& n, const Graph& g, const ImplContext& ictx) {
  // a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
  SPARSERT_ASSIGN_OR_RETURN(const Tensor* b, symmetric_int8_b(n, g, ictx, 3, 5));
  const int64_t N = b->dim(1);
  SPARSERT_ASSIGN_OR_RETURN(QLinearConstants q, qlinear_constants(n, g, N));
  auto lin = std::make_shared<Int8Linear>(*b, b->dim(0), N);
  KernelFn ref = reference_kernel(n);
  return KernelFn([lin, ref, q](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    if (a.dtype() != DType::kUInt8 || a.rank() < 2 || a.shape().back() != lin->K()) return ref(ctx);
    Shape out(a.shape().begin(), a.shape().end() - 1);
    out.push_back(lin->N());
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, out, OutputInit::kOverwritten));
    const int64_t M = a.num_elements() / lin->K();
    std::vector<int32_t> acc(static_cast<size_t>(M * lin->N()));
    SPARSERT_RETURN_IF_ERROR(lin->run(a.data<uint8_t>(), M, q.x_zero_point, acc.data()));
    fast::requantize_u8_rows(acc.data(), M, lin->N(), q.mult.data(), q.y_zero_point, y->data<uint8_t>());
    return Status::OK();
  });
}

}  // namespace

void register_onednn_int8_impls(OpRegistry& r) {
  r.add_impl("", "MatMulInteger", {"onednn_matmul_u8s8", matmul_integer_u8s8});
  r.add_impl("", "QLinearMatMul", {"onednn_qlinear_matmul_u8s8", qlinear_matmul_u8s8});
}

}  // namespace sparsert
