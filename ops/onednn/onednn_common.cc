#include "ops/onednn/onednn_common.h"

namespace sparsert::onednn {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

dnnl::memory weights_in_layout(const dnnl::memory::desc& want, const dnnl::memory& plain) {
  if (want == plain.get_desc()) return plain;
  dnnl::memory out(want, cpu_engine());
  dnnl::stream s(cpu_engine());
  dnnl::reorder(plain, out).execute(s, const_cast<dnnl::memory&>(plain), out);
  s.wait();
  return out;
}

}  // namespace sparsert::onednn
