#include "ops/onednn/onednn_common.h"

#include "base/scratch.h"
#include "jit/isa.h"

namespace sparsert::onednn {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory thread_scratchpad(const dnnl::memory::desc& md) {
  thread_local std::vector<uint8_t> buffer;
  const size_t bytes = md.get_size();
  return dnnl::memory(md, cpu_engine(), bytes == 0 ? nullptr : grow_aligned_scratch(buffer, bytes));
}

dnnl::memory weights_in_layout(const dnnl::memory::desc& want, const dnnl::memory& plain) {
  if (want == plain.get_desc()) return plain;
  dnnl::memory out(want, cpu_engine());
  dnnl::stream s(cpu_engine());
  dnnl::reorder(plain, out).execute(s, const_cast<dnnl::memory&>(plain), out);
  s.wait();
  return out;
}

Status int8_weights_exact(const Tensor& w, uint32_t isa_cap) {
  if (jit::may_use(jit::kIsaAvx512Vnni, isa_cap) || jit::may_use(jit::kIsaAvxVnni, isa_cap)) return Status::OK();
  const int8_t* v = w.data<int8_t>();
  for (int64_t i = 0; i < w.num_elements(); ++i)
    if (v[i] < -64 || v[i] > 63)
      return Unimplemented("weights use the full int8 range and this CPU has no VNNI (oneDNN's int16 pair sums "
                           "could saturate; exact results need weights in [-64, 63])");
  return Status::OK();
}

}  // namespace sparsert::onednn
