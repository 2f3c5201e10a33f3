#include "base/status.h"

#include <gtest/gtest.h>

namespace sparsert {
namespace {

StatusOr<int> half(int x) {
  if (x % 2) return InvalidArgument("odd value ", x);
  return x / 2;
}

Status quarter(int x, int* out) {
  SPARSERT_ASSIGN_OR_RETURN(int h, half(x));
  SPARSERT_ASSIGN_OR_RETURN(*out, half(h));
  return Status::OK();
}

TEST(Status, formats_code_and_message) {
  Status s = NotFound("input '", "ids", "' missing");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.to_string(), "NotFound: input 'ids' missing");
  EXPECT_EQ(s.with_context("model 'm'").message(), "model 'm': input 'ids' missing");
  EXPECT_EQ(Status::OK().to_string(), "OK");
}

TEST(StatusOr, propagates_values_and_errors) {
  int q = 0;
  EXPECT_TRUE(quarter(12, &q).ok());
  EXPECT_EQ(q, 3);
  Status s = quarter(6, &q);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd value 3");
}

TEST(StatusOr, ok_status_is_not_a_value) {
  StatusOr<int> v = Status::OK();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace sparsert
