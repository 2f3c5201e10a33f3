// Typed node attributes. Getters return a clear error when an attribute has the
// wrong kind, so kernels never misread a malformed model.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "graph/tensor.h"

namespace sparsert {

using AttributeValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                                    std::vector<std::string>, Tensor>;

const char* attribute_kind_name(const AttributeValue& v);

class AttributeMap {
 public:
  void set(const std::string& name, AttributeValue value) { attrs_[name] = std::move(value); }
  bool has(const std::string& name) const { return attrs_.count(name) != 0; }
  void erase(const std::string& name) { attrs_.erase(name); }
  const std::map<std::string, AttributeValue>& all() const { return attrs_; }

  StatusOr<int64_t> get_int(const std::string& name) const;
  StatusOr<float> get_float(const std::string& name) const;
  StatusOr<std::string> get_string(const std::string& name) const;
  StatusOr<std::vector<int64_t>> get_ints(const std::string& name) const;
  StatusOr<std::vector<float>> get_floats(const std::string& name) const;
  StatusOr<Tensor> get_tensor(const std::string& name) const;

  // With a default when absent (still an error when present with the wrong kind).
  StatusOr<int64_t> get_int(const std::string& name, int64_t dflt) const;
  StatusOr<float> get_float(const std::string& name, float dflt) const;
  StatusOr<std::string> get_string(const std::string& name, const std::string& dflt) const;
  StatusOr<std::vector<int64_t>> get_ints(const std::string& name, const std::vector<int64_t>& dflt) const;

 private:
  template <typename T>
  StatusOr<T> get_as(const std::string& name, const char* want) const;
  std::map<std::string, AttributeValue> attrs_;
};

}  // namespace sparsert
