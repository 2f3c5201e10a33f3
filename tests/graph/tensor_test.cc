#include "graph/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace sparsert {
namespace {

TEST(Tensor, allocate_is_zeroed_and_aligned) {
  auto t = Tensor::allocate(DType::kFloat32, {3, 5});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num_elements(), 15);
  EXPECT_EQ(t->byte_size(), 60u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw_data()) % 64, 0u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t->data<float>()[i], 0.f);
  EXPECT_EQ(t->type_string(), "float[3,5]");
}

TEST(Tensor, four_bit_types_round_up_to_bytes) {
  auto t = Tensor::allocate(DType::kInt4, {3, 3});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->byte_size(), 5u);
}

TEST(Tensor, refuses_overflowing_and_huge_shapes) {
  auto overflow = Tensor::allocate(DType::kFloat32, {int64_t{1} << 40, int64_t{1} << 40});
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().code(), StatusCode::kOutOfRange);
  auto huge = Tensor::allocate(DType::kFloat32, {int64_t{1} << 20, int64_t{1} << 20});  // 4 TiB
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(huge.status().message().find("SPARSERT_MAX_TENSOR_BYTES"), std::string::npos);
  auto negative = Tensor::allocate(DType::kFloat32, {2, -1});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
}

TEST(Tensor, reshape_shares_storage_and_checks_count) {
  Tensor t = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = t.reshaped({3, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->raw_data(), t.raw_data());
  EXPECT_FALSE(t.reshaped({4, 2}).ok());
}

TEST(Tensor, from_bytes_takes_ownership_without_copy) {
  std::string bytes(8, '\0');
  float two[2] = {1.5f, -2.f};
  std::memcpy(bytes.data(), two, 8);
  auto t = Tensor::from_bytes(DType::kFloat32, {2}, std::move(bytes));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->data<float>()[1], -2.f);
  EXPECT_FALSE(Tensor::from_bytes(DType::kFloat32, {3}, std::string(8, '\0')).ok());
}

}  // namespace
}  // namespace sparsert
