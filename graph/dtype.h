// Element types. Values equal ONNX TensorProto.DataType so import is a range check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsert {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,  // recognized so errors can name it; no op computes on strings
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
  kUInt4 = 21,  // packed two per byte, low nibble first (ONNX convention)
  kInt4 = 22,
};

// Name as ONNX Runtime prints it in tensor types ("float", "int64", "uint8", ...).
const char* dtype_name(DType t);
// Bits per element (4 for the packed 4-bit types, 0 for undefined/string).
int dtype_bits(DType t);
// True for every type a Tensor can hold (everything but undefined and string).
bool dtype_is_numeric(DType t);
// Bytes needed for n elements (rounds 4-bit types up to whole bytes).
size_t dtype_storage_bytes(DType t, size_t n);
// Maps an ONNX TensorProto data type number; kUndefined when unknown.
DType dtype_from_onnx(int32_t onnx_type);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kFloat64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::kUInt16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::kUInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::kUInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

}  // namespace sparsert
