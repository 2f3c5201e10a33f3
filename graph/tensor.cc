#include "graph/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace sparsert {

size_t max_tensor_bytes() {
  static const size_t limit = [] {
    if (const char* env = std::getenv("SPARSERT_MAX_TENSOR_BYTES")) {
      char* end = nullptr;
      unsigned long long v = std::strtoull(env, &end, 10);
      if (end != env && v > 0) return static_cast<size_t>(v);
    }
    return size_t{16} << 30;  // 16 GiB: above any model we target, below the machine's memory
  }();
  return limit;
}

StatusOr<int64_t> checked_num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgument("negative dimension ", d, " in shape ", shape_to_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return OutOfRange("shape ", shape_to_string(shape), " has more elements than int64 can count");
    n *= d;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
}  // namespace

StatusOr<Tensor> Tensor::allocate(DType dtype, const Shape& shape) {
  if (!dtype_is_numeric(dtype))
    return Unimplemented("cannot allocate a tensor of type ", dtype_name(dtype));
  SPARSERT_ASSIGN_OR_RETURN(int64_t n, checked_num_elements(shape));
  if (static_cast<uint64_t>(n) > std::numeric_limits<size_t>::max() / 8)
    return ResourceExhausted("tensor ", dtype_name(dtype), shape_to_string(shape), " is too large");
  size_t bytes = dtype_storage_bytes(dtype, static_cast<size_t>(n));
  if (bytes > max_tensor_bytes())
    return ResourceExhausted("tensor ", dtype_name(dtype), shape_to_string(shape), " needs ", bytes,
                             " bytes, above the limit of ", max_tensor_bytes(),
                             " (SPARSERT_MAX_TENSOR_BYTES)");
  size_t alloc = (bytes + 63) / 64 * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) return ResourceExhausted("out of memory allocating ", bytes, " bytes");
  std::memset(p, 0, alloc);
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, AlignedFree());
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

StatusOr<Tensor> Tensor::from_bytes(DType dtype, Shape shape, std::string&& bytes) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t n, checked_num_elements(shape));
  size_t want = dtype_storage_bytes(dtype, static_cast<size_t>(n));
  if (bytes.size() != want)
    return InvalidArgument("expected ", want, " bytes for ", dtype_name(dtype), shape_to_string(shape),
                           ", got ", bytes.size());
  auto holder = std::make_shared<std::string>(std::move(bytes));
  void* data = holder->data();
  return view(dtype, std::move(shape), data, std::shared_ptr<void>(holder, data));
}

int64_t Tensor::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

StatusOr<Tensor> Tensor::reshaped(const Shape& shape) const {
  SPARSERT_ASSIGN_OR_RETURN(int64_t n, checked_num_elements(shape));
  if (n != num_elements())
    return InvalidArgument("cannot reshape ", type_string(), " to ", shape_to_string(shape));
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

StatusOr<Tensor> Tensor::clone() const {
  SPARSERT_ASSIGN_OR_RETURN(Tensor t, allocate(dtype_, shape_));
  if (byte_size()) std::memcpy(t.data_, data_, byte_size());
  return t;
}

std::string Tensor::type_string() const { return std::string(dtype_name(dtype_)) + shape_to_string(shape_); }

double Tensor::element_as_double(int64_t i) const {
  switch (dtype_) {
    case DType::kFloat32: return data<float>()[i];
    case DType::kFloat64: return data<double>()[i];
    case DType::kInt8: return data<int8_t>()[i];
    case DType::kUInt8: return data<uint8_t>()[i];
    case DType::kInt16: return data<int16_t>()[i];
    case DType::kUInt16: return data<uint16_t>()[i];
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kUInt32: return data<uint32_t>()[i];
    case DType::kInt64: return static_cast<double>(data<int64_t>()[i]);
    case DType::kUInt64: return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool: return data<bool>()[i] ? 1.0 : 0.0;
    default: return 0.0;
  }
}

int64_t Tensor::element_as_int64(int64_t i) const {
  switch (dtype_) {
    case DType::kInt64: return data<int64_t>()[i];
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kUInt64: return static_cast<int64_t>(data<uint64_t>()[i]);
    default: return static_cast<int64_t>(element_as_double(i));
  }
}

}  // namespace sparsert
