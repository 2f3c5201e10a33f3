#include "runtime/plan_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

namespace sparsert {

std::string compile_options_key(const SessionOptions& o) {
  std::ostringstream k;
  k << "threads=" << o.threads << ";isa=" << o.isa << ";level=" << o.optimization_level << ";passes=";
  for (const std::string& p : o.disabled_passes) k << p << ",";
  k << ";kernels=";
  for (const std::string& p : o.disabled_kernels) k << p << ",";
  k << ";nchwc=" << o.nchwc_block << ";verbose=" << o.verbose << ";sparse=" << o.sparse_kernels
    << ";threshold=" << o.sparsity_threshold << ";quantize=" << o.quantize;
  return k.str();
}

StatusOr<std::string> file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound("model '", path, "' cannot be read: ", std::strerror(errno));
  std::ostringstream k;
  k << "file:" << st.st_dev << ":" << st.st_ino << ":" << st.st_size << ":" << st.st_mtim.tv_sec << "."
    << st.st_mtim.tv_nsec;
  return k.str();
}

std::string bytes_identity(const void* data, size_t size) {
  // Four independent multiply-xorshift lanes over 32-byte blocks (one lane's
  // multiply latency would cap it at ~3.6 GB/s; four run at ~10), folded two
  // ways into 128 bits: a collision between two models is not a practical risk.
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t lane[4] = {0x243f6a8885a308d3ull ^ size, 0x13198a2e03707344ull, 0xa4093822299f31d0ull,
                      0x082efa98ec4e6c89ull + size};
  auto mix = [](uint64_t h, uint64_t w) {
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
  };
  size_t i = 0;
  for (; i + 32 <= size; i += 32)
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * l, 8);
      lane[l] = mix(lane[l], w);
    }
  for (int l = 0; i < size; ++i, l = (l + 1) % 4) lane[l] = mix(lane[l], p[i]);
  const uint64_t a = mix(mix(mix(lane[0], lane[1]), lane[2]), lane[3]);
  const uint64_t b = mix(mix(mix(lane[3] * 0xc2b2ae3d27d4eb4full, lane[2]), lane[1]), lane[0]);
  std::ostringstream k;
  k << "bytes:" << size << ":" << std::hex << a << b;
  return k.str();
}

StatusOr<std::string> file_content_identity(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("model '", path, "' cannot be opened: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("model '", path, "' is not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* base = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : nullptr;
  ::close(fd);
  if (size && base == MAP_FAILED) return ResourceExhausted("cannot map model '", path, "': ", std::strerror(errno));
  std::string id = bytes_identity(size ? base : "", size);
  if (size) ::munmap(base, size);
  return id;
}

struct PlanCache::Impl {
  struct Entry {
    std::weak_ptr<const Plan> plan;
    std::vector<std::pair<std::string, std::string>> dependencies;  // path, identity at insert
  };
  std::mutex mu;
  std::map<std::string, Entry> entries;
};

PlanCache::PlanCache() : impl_(std::make_unique<Impl>()) {}
PlanCache::~PlanCache() = default;

PlanCache& PlanCache::global() {
  static PlanCache* cache = new PlanCache();  // never destroyed: sessions may outlive static destruction
  return *cache;
}

std::shared_ptr<const Plan> PlanCache::find(const std::string& key) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->entries.find(key);
  if (it == impl_->entries.end()) return nullptr;
  std::shared_ptr<const Plan> plan = it->second.plan.lock();
  if (!plan) {
    impl_->entries.erase(it);
    return nullptr;
  }
  for (const auto& [path, identity] : it->second.dependencies) {
    auto now = file_identity(path);
    if (!now.ok() || *now != identity) return nullptr;
  }
  return plan;
}

void PlanCache::insert(const std::string& key, const std::shared_ptr<const Plan>& plan,
                       std::vector<std::string> dependencies) {
  Impl::Entry e;
  e.plan = plan;
  for (std::string& path : dependencies) {
    auto identity = file_identity(path);
    if (!identity.ok()) return;  // a file we cannot stat again: do not cache
    e.dependencies.emplace_back(std::move(path), std::move(identity).value());
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto it = impl_->entries.begin(); it != impl_->entries.end();)  // drop plans nobody uses any more
    it = it->second.plan.expired() ? impl_->entries.erase(it) : std::next(it);
  impl_->entries[key] = std::move(e);
}

}  // namespace sparsert
