#include "graph/passes/constant_folding.h"

#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

// x:[2,6] -> Reshape(x, Concat(Shape(c)[0:1], [-1])) where c is a constant [3,4]:
// the whole shape chain is constant and must fold; the Reshape on x must stay.
// `both` = c + c is a graph output and is also consumed: it folds to a constant
// and stays available as an output.
std::string model() {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 6}).output("r").output("both").output("uses_both");
  b.initializer("c", {3, 4}, std::vector<float>(12, 0.5f));
  b.int64_initializer("minus1", {-1});
  OnnxBuilder::int_attr(b.node("Shape", {"c"}, {"s"}, "shape"), "end", 1);
  OnnxBuilder::int_attr(b.node("Concat", {"s", "minus1"}, {"shape"}, "concat"), "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"r"}, "reshape");
  b.node("Add", {"c", "c"}, {"both"}, "add_const");
  b.node("Mul", {"both", "both"}, {"uses_both"}, "mul_const");
  return b.bytes();
}

TEST(ConstantFolding, folds_constant_chains_and_keeps_runtime_nodes) {
  std::string bytes = model();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  ASSERT_EQ(g->num_nodes(), 5u);
  passes::PassContext ctx;
  auto folded = passes::run_constant_folding(*g, ctx);
  ASSERT_TRUE(folded.ok()) << folded.status().to_string();
  EXPECT_EQ(*folded, 4);  // Shape, Concat, Add, Mul
  ASSERT_EQ(g->num_nodes(), 1u);
  EXPECT_EQ(g->nodes()[0].op_type, "Reshape");
  const Value& shape = g->value(g->find_value("shape"));
  ASSERT_TRUE(shape.constant.has_value());
  EXPECT_EQ(shape.constant->data<int64_t>()[0], 3);
  EXPECT_EQ(shape.constant->data<int64_t>()[1], -1);
  // The graph output that was also consumed is still there, as a constant.
  const Value& both = g->value(g->find_value("both"));
  ASSERT_TRUE(both.constant.has_value());
  EXPECT_TRUE(both.is_graph_output);
  EXPECT_EQ(both.constant->data<float>()[0], 1.f);
}

TEST(ConstantFolding, values_are_unchanged) {
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i) - 3.f;
  testing::expect_same_outputs(model(), {{"x", Tensor::from_vector<float>({2, 6}, x)}});
}

}  // namespace
}  // namespace sparsert
