// oneDNN u8 x s8 -> s32 for MatMulInteger with a constant int8 B (what ORT's
// quantize_dynamic writes after DynamicQuantizeLinear): A's zero point is a
// run-time oneDNN zero point, B's must be zero (symmetric weights). B is
// reordered once per primitive into the layout oneDNN picks.
//
// Exactness: without VNNI, oneDNN's int8 kernels add u8*s8 product pairs in
// int16 (vpmaddubsw), which saturates once |w| > 64 meets activations near 255.
// MatMulInteger must be exact, so on such CPUs this implementation only takes
// weights within [-64, 63] (ORT's reduce_range form); others stay on the
// reference kernel, and the decline says why.
#include "jit/isa.h"
#include "ops/onednn/onednn_common.h"
#include "ops/op_util.h"
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
                          {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zp_mem}});
      s.wait();
      return Status::OK();
    });
  }

 private:
  struct Entry {
    dnnl::matmul prim;
    memory::desc src_md, dst_md;
    memory weights;  // B in the primitive's layout
  };

  StatusOr<std::shared_ptr<const Entry>> make(int64_t M) {
    auto e = std::make_shared<Entry>();
    Status st = guarded("int8 matmul setup", [&]() -> Status {
      e->src_md = memory::desc({M, K_}, dt::u8, tag::ab);
      e->dst_md = memory::desc({M, N_}, dt::s32, tag::ab);
      memory::desc w_any({K_, N_}, dt::s8, tag::any);
      dnnl::primitive_attr attr;
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->src_md, w_any, e->dst_md), attr, cpu_engine());
      e->prim = dnnl::matmul(pd);
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

StatusOr<KernelFn> matmul_integer_u8s8(const Node& n, const Graph& g, const ImplContext& ictx) {
  const Tensor* b = constant_input(n, g, 1);
  if (!b) return Unimplemented("B is not a constant");
  if (b->dtype() != DType::kInt8 || b->rank() != 2) return Unimplemented("B is ", b->type_string(), ", needs 2-D int8");
  if (n.inputs.size() > 3 && n.inputs[3] != kNoValue) {
    const Tensor* bz = constant_input(n, g, 3);
    if (!bz) return Unimplemented("B zero point is not a constant");
    for (int64_t i = 0; i < bz->num_elements(); ++i)
      if (bz->element_as_int64(i) != 0) return Unimplemented("B zero point is not 0 (asymmetric weights)");
  }
  if (!jit::may_use(jit::kIsaAvx512Vnni, ictx.isa_cap) && !jit::may_use(jit::kIsaAvxVnni, ictx.isa_cap)) {
    const int8_t* w = b->data<int8_t>();
    for (int64_t i = 0; i < b->num_elements(); ++i)
      if (w[i] < -64 || w[i] > 63)
        return Unimplemented("weights use the full int8 range and this CPU has no VNNI (oneDNN's int16 pair sums "
                             "could saturate; exact results need weights in [-64, 63])");
  }
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

}  // namespace

void register_onednn_int8_impls(OpRegistry& r) {
  r.add_impl("", "MatMulInteger", {"onednn_matmul_u8s8", matmul_integer_u8s8});
}

}  // namespace sparsert
