// Tensor: a dtype, a shape and a view into shared storage.
// Storage is reference counted, so an initializer moved out of the protobuf or
// mmapped from an external-data file is never copied; a tensor can also borrow
// caller memory (no owner) for zero-copy inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/dtype.h"

namespace sparsert {

using Shape = std::vector<int64_t>;

// Refuse single allocations above this (a corrupt or hostile model must get an
// error, not an OOM kill). Override with SPARSERT_MAX_TENSOR_BYTES.
size_t max_tensor_bytes();

// Product of dims with overflow and negativity checks.
StatusOr<int64_t> checked_num_elements(const Shape& shape);
std::string shape_to_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // New zero-initialized, 64-byte-aligned storage.
  static StatusOr<Tensor> allocate(DType dtype, const Shape& shape);
  // Views `data`; `owner` keeps it alive (may be null: the caller guarantees lifetime).
  static Tensor view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner = nullptr);
  // Takes ownership of the bytes of a string (used for protobuf raw_data).
  static StatusOr<Tensor> from_bytes(DType dtype, Shape shape, std::string&& bytes);
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <typename T>
  static Tensor scalar(T value) { return from_vector<T>({}, {value}); }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t num_elements() const;
  size_t byte_size() const { return dtype_storage_bytes(dtype_, static_cast<size_t>(num_elements())); }
  bool empty() const { return dtype_ == DType::kUndefined; }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  template <typename T> T* data() { return static_cast<T*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }

  // Same storage, new shape (element count must match).
  StatusOr<Tensor> reshaped(const Shape& shape) const;
  // Deep copy into fresh storage.
  StatusOr<Tensor> clone() const;
  // "float[1,128,768]"
  std::string type_string() const;
  // Element i converted to double / int64 (slow; for shape tensors and tests).
  double element_as_double(int64_t i) const;
  int64_t element_as_int64(int64_t i) const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<void> owner_;
};

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  auto t = allocate(DTypeOf<T>::value, shape);
  Tensor out = std::move(t).value();
  T* dst = out.data<T>();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < out.num_elements(); ++i) dst[i] = values[i];
  return out;
}

}  // namespace sparsert
