// Shared oneDNN plumbing: the CPU engine, dims conversion, error mapping, and a
// small thread-safe cache of primitives keyed by run-time shape.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "base/status.h"
#include "graph/tensor.h"

namespace sparsert::onednn {

dnnl::engine& cpu_engine();
dnnl::memory::dims to_dims(const Shape& s);

// Runs f, turning a dnnl::error into a Status naming `what`.
template <typename F>
Status guarded(const char* what, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    return Internal("oneDNN ", what, " failed: ", e.what());
  }
}

// Primitives are created with a user-managed scratchpad (attr from
// scratchpad_attr()) and each execution passes thread_scratchpad(pd's
// scratchpad desc): oneDNN's library-managed scratchpad is shared between
// executions of a primitive, so concurrent Session::Run calls on one session
// overwrote each other's AVX-512 (brgemm) matmul buffers.
dnnl::primitive_attr scratchpad_attr();
// Memory for `md` on this thread's buffer (grown as needed; valid until this
// thread's next call). An empty desc gives an empty memory.
dnnl::memory thread_scratchpad(const dnnl::memory::desc& md);

// Constant weights in the layout a primitive wants: `plain` itself when it
// already is, else a one-time reorder into new memory (may throw dnnl::error;
// call inside guarded()).
dnnl::memory weights_in_layout(const dnnl::memory::desc& want, const dnnl::memory& plain);

// Exactness of oneDNN's u8 x s8 kernels: without VNNI they add product pairs
// in int16 (vpmaddubsw), which saturates once |w| > 64 meets activations near
// 255. Integer ops must be exact, so on such CPUs only weights within
// [-64, 63] (ORT's reduce_range form) qualify; otherwise an Unimplemented
// saying why (the kernel choice reports it).
Status int8_weights_exact(const Tensor& w, uint32_t isa_cap);

// Shape-keyed cache with a small bound (LRU): one entry per distinct run-time
// shape, so dynamic batch/sequence sizes reuse primitives and packed weights.
template <typename Entry>
class ShapeCache {
 public:
  explicit ShapeCache(size_t capacity = 16) : capacity_(capacity) {}
  template <typename Make>
  StatusOr<std::shared_ptr<const Entry>> get(const std::vector<int64_t>& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      order_.splice(order_.begin(), order_, it->second.second);
      return it->second.first;
    }
    auto made = make();
    if (!made.ok()) return made.status();
    std::shared_ptr<const Entry> entry = std::move(made).value();
    order_.push_front(key);
    map_[key] = {entry, order_.begin()};
    if (map_.size() > capacity_) {
      map_.erase(order_.back());
      order_.pop_back();
    }
    return entry;
  }

 private:
  std::mutex mu_;
  size_t capacity_;
  std::list<std::vector<int64_t>> order_;
  std::map<std::vector<int64_t>, std::pair<std::shared_ptr<const Entry>, std::list<std::vector<int64_t>>::iterator>>
      map_;
};

}  // namespace sparsert::onednn
