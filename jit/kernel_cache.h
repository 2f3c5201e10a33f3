// Process-wide, thread-safe cache of generated kernels: key -> shared code.
// Equal layers (and a second session of the same model) reuse code instead of
// generating it again; hits and misses are counted for `sparse_run inspect`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/status.h"

namespace sparsert::jit {

struct KernelCacheStats {
  int64_t kernels = 0;  // distinct generated kernels alive in the cache
  int64_t hits = 0;
  int64_t misses = 0;
};

template <typename Key, typename Code, typename Hash = std::hash<Key>>
class KernelCache {
 public:
  // Returns the cached code for key, or builds it with make() (outside no lock:
  // generation takes microseconds and concurrent misses of one key are rare, so
  // the first insert wins and a duplicate is dropped).
  StatusOr<std::shared_ptr<const Code>> get_or_create(const Key& key,
                                                      const std::function<StatusOr<std::shared_ptr<const Code>>()>& make) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = map_.find(key); it != map_.end()) {
        ++stats_.hits;
        return it->second;
      }
    }
    auto made = make();
    if (!made.ok()) return made.status();
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.misses;
    auto [it, inserted] = map_.emplace(key, *made);
    stats_.kernels = static_cast<int64_t>(map_.size());
    return it->second;
  }

  KernelCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<Key, std::shared_ptr<const Code>, Hash> map_;
  KernelCacheStats stats_;
};

}  // namespace sparsert::jit
