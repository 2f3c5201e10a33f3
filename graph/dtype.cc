#include "graph/dtype.h"

namespace sparsert {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kUInt16: return "uint16";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kString: return "string";
    case DType::kBool: return "bool";
    case DType::kFloat16: return "float16";
    case DType::kFloat64: return "double";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kBFloat16: return "bfloat16";
    case DType::kUInt4: return "uint4";
    case DType::kInt4: return "int4";
    case DType::kUndefined: break;
  }
  return "undefined";
}

int dtype_bits(DType t) {
  switch (t) {
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8: return 8;
    case DType::kUInt16:
    case DType::kInt16:
    case DType::kFloat16:
    case DType::kBFloat16: return 16;
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kUInt32: return 32;
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kFloat64: return 64;
    case DType::kUInt4:
    case DType::kInt4: return 4;
    case DType::kString:
    case DType::kUndefined: break;
  }
  return 0;
}

bool dtype_is_numeric(DType t) { return dtype_bits(t) != 0; }

size_t dtype_storage_bytes(DType t, size_t n) {
  return (n * static_cast<size_t>(dtype_bits(t)) + 7) / 8;
}

DType dtype_from_onnx(int32_t onnx_type) {
  switch (onnx_type) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10:
    case 11: case 12: case 13: case 16: case 21: case 22:
      return static_cast<DType>(onnx_type);
    default: return DType::kUndefined;
  }
}

}  // namespace sparsert
