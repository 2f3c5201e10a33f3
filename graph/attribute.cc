#include "graph/attribute.h"

namespace sparsert {

const char* attribute_kind_name(const AttributeValue& v) {
  static const char* names[] = {"int", "float", "string", "ints", "floats", "strings", "tensor"};
  return names[v.index()];
}

template <typename T>
StatusOr<T> AttributeMap::get_as(const std::string& name, const char* want) const {
  auto it = attrs_.find(name);
  if (it == attrs_.end()) return NotFound("attribute '", name, "' is missing");
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return InvalidArgument("attribute '", name, "': expected ", want, ", got ", attribute_kind_name(it->second));
}

StatusOr<int64_t> AttributeMap::get_int(const std::string& name) const { return get_as<int64_t>(name, "int"); }
StatusOr<float> AttributeMap::get_float(const std::string& name) const { return get_as<float>(name, "float"); }
StatusOr<std::string> AttributeMap::get_string(const std::string& name) const {
  return get_as<std::string>(name, "string");
}
StatusOr<std::vector<int64_t>> AttributeMap::get_ints(const std::string& name) const {
  return get_as<std::vector<int64_t>>(name, "ints");
}
StatusOr<std::vector<float>> AttributeMap::get_floats(const std::string& name) const {
  return get_as<std::vector<float>>(name, "floats");
}
StatusOr<Tensor> AttributeMap::get_tensor(const std::string& name) const { return get_as<Tensor>(name, "tensor"); }

StatusOr<int64_t> AttributeMap::get_int(const std::string& name, int64_t dflt) const {
  return has(name) ? get_int(name) : StatusOr<int64_t>(dflt);
}
StatusOr<float> AttributeMap::get_float(const std::string& name, float dflt) const {
  return has(name) ? get_float(name) : StatusOr<float>(dflt);
}
StatusOr<std::string> AttributeMap::get_string(const std::string& name, const std::string& dflt) const {
  return has(name) ? get_string(name) : StatusOr<std::string>(dflt);
}
StatusOr<std::vector<int64_t>> AttributeMap::get_ints(const std::string& name,
                                                      const std::vector<int64_t>& dflt) const {
  return has(name) ? get_ints(name) : StatusOr<std::vector<int64_t>>(dflt);
}

}  // namespace sparsert
