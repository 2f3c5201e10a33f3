// onednn_attention_f32: com.sparsert Attention (ops/attention.h) as two oneDNN
// batched matmuls over the heads with strided memory descriptors, so the head
// split and merge of the unfused graph (four Transposes per layer) cost
// nothing: Q K^T reads q and k where the projections wrote them, P V writes
// straight into the [B, Sq, H*Dv] output. Between them, one pass per scores
// row does the scale, the mask and the softmax in place
// (fast::scaled_masked_softmax_rows), where the unfused graph ran a Div, an
// Add and a Softmax over the whole [B, H, Sq, Sk] tensor (and the Q/DQ pairs
// of a QDQ graph between them).
// One batch element at a time: its scores (H * Sq * Sk floats, 768 KiB for
// BERT-base at 128 tokens) stay in cache between the three steps.
#include <memory>

#include "ops/attention.h"
#include "ops/fast/vector_math.h"
#include "ops/onednn/onednn_common.h"
#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using dnnl::memory;
using onednn::cpu_engine;
using onednn::guarded;
using dt = memory::data_type;

class OnednnAttention {
 public:
  explicit OnednnAttention(AttentionAttrs a) : attrs_(a) {}

  Status run(const AttentionDims& d, const float* q, const float* k, const float* v, const float* mask,
             const uint8_t* keep, float* y) {
    SPARSERT_ASSIGN_OR_RETURN(auto e, cache_.get({d.Sq, d.Sk, d.H, d.D, d.Dv}, [&] { return make(d); }));
    const int64_t per_b = d.H * d.Sq * d.Sk;
    std::unique_ptr<float[]> scores(new (std::nothrow) float[static_cast<size_t>(per_b)]);
    if (!scores) return ResourceExhausted("attention scores of ", per_b * 4, " bytes");
    const fast::AttentionRowSteps base_steps = attrs_.row_steps();
    const bool row_steps = attrs_.has_row_qdq() || d.has_keep;
    return guarded("attention", [&]() -> Status {
      dnnl::stream s(cpu_engine());
      for (int64_t b = 0; b < d.B; ++b) {
        memory mq(e->q_md, cpu_engine(), const_cast<float*>(q + b * d.Sq * d.H * d.D));
        memory mk(e->k_md, cpu_engine(), const_cast<float*>(k + b * d.Sk * d.H * d.D));
        memory ms(e->scores_md, cpu_engine(), scores.get());
        e->qk.execute(s, {{DNNL_ARG_SRC, mq},
                          {DNNL_ARG_WEIGHTS, mk},
                          {DNNL_ARG_DST, ms},
                          {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(e->qk_scratchpad_md)}});
        s.wait();
        parallel_for(d.H * d.Sq, 16, [&](int64_t r0, int64_t r1) {
          // Rows of one head share a mask base; split the range at head boundaries.
          for (int64_t r = r0; r < r1;) {
            const int64_t h = r / d.Sq, i = r % d.Sq, rows = std::min(r1 - r, d.Sq - i);
            const fast::AttentionRowSteps steps = d.row_steps(base_steps, keep, b, h, i);
            fast::scaled_masked_softmax_rows(scores.get() + r * d.Sk, rows, d.Sk, attrs_.scale, attrs_.divide,
                                             d.has_mask ? d.mask_row(mask, b, h, i) : nullptr, d.mask_stride[2],
                                             d.mask_stride[3], row_steps ? &steps : nullptr);
            r += rows;
          }
        });
        memory mv(e->v_md, cpu_engine(), const_cast<float*>(v + b * d.Sk * d.H * d.Dv));
        memory my(e->y_md, cpu_engine(), y + b * d.Sq * d.H * d.Dv);
        e->pv.execute(s, {{DNNL_ARG_SRC, ms},
                          {DNNL_ARG_WEIGHTS, mv},
                          {DNNL_ARG_DST, my},
                          {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(e->pv_scratchpad_md)}});
        s.wait();
        if (attrs_.qdq_output) {
          float* yb = y + b * d.Sq * d.H * d.Dv;
          parallel_for(d.Sq, 16, [&](int64_t r0, int64_t r1) {
            fast::quantize_dequantize_rows(yb + r0 * d.H * d.Dv, 1, (r1 - r0) * d.H * d.Dv, 0, *attrs_.qdq_output);
          });
        }
      }
      return Status::OK();
    });
  }

 private:
  struct Entry {
    dnnl::matmul qk, pv;
    memory::desc q_md, k_md, scores_md, v_md, y_md, qk_scratchpad_md, pv_scratchpad_md;
  };

  // Heads are the matmul batch; rows of a head are H*D apart in q, k, v and y.
  static StatusOr<std::shared_ptr<const Entry>> make(const AttentionDims& d) {
    auto e = std::make_shared<Entry>();
    Status st = guarded("attention setup", [&]() -> Status {
      const int64_t HD = d.H * d.D, HDv = d.H * d.Dv;
      e->q_md = memory::desc({d.H, d.Sq, d.D}, dt::f32, memory::dims{d.D, HD, 1});
      e->k_md = memory::desc({d.H, d.D, d.Sk}, dt::f32, memory::dims{d.D, 1, HD});  // K_h^T
      e->scores_md = memory::desc({d.H, d.Sq, d.Sk}, dt::f32, memory::dims{d.Sq * d.Sk, d.Sk, 1});
      e->v_md = memory::desc({d.H, d.Sk, d.Dv}, dt::f32, memory::dims{d.Dv, HDv, 1});
      e->y_md = memory::desc({d.H, d.Sq, d.Dv}, dt::f32, memory::dims{d.Dv, HDv, 1});
      const dnnl::matmul::primitive_desc qk(dnnl::matmul::desc(e->q_md, e->k_md, e->scores_md),
                                            onednn::scratchpad_attr(), cpu_engine());
      const dnnl::matmul::primitive_desc pv(dnnl::matmul::desc(e->scores_md, e->v_md, e->y_md),
                                            onednn::scratchpad_attr(), cpu_engine());
      e->qk = dnnl::matmul(qk);
      e->pv = dnnl::matmul(pv);
      e->qk_scratchpad_md = qk.scratchpad_desc();
      e->pv_scratchpad_md = pv.scratchpad_desc();
      return Status::OK();
    });
    if (!st.ok()) return st;
    return std::shared_ptr<const Entry>(e);
  }

  AttentionAttrs attrs_;
  onednn::ShapeCache<Entry> cache_;
};

StatusOr<KernelFn> attention_impl(const Node& n, const Graph&, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(AttentionAttrs a, read_attention_attrs(n));
  auto att = std::make_shared<OnednnAttention>(a);
  return attention_kernel(n, a, [att](const AttentionDims& d, const float* q, const float* k, const float* v,
                                      const float* mask, const uint8_t* keep, float* y) {
    return att->run(d, q, k, v, mask, keep, y);
  });
}

}  // namespace

void register_onednn_attention_impls(OpRegistry& r) {
  r.add_impl(kSparsertDomain, "Attention", {"onednn_attention_f32", attention_impl});
}

}  // namespace sparsert
