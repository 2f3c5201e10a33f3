#include "graph/passes/dead_code_elimination.h"

#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

// y = Relu(x) is an output and also feeds z = Neg(y) (an output); `dead` feeds nothing.
std::string model() {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4}).output("y").output("z");
  b.node("Relu", {"x"}, {"y"}, "relu");
  b.node("Neg", {"y"}, {"z"}, "neg");
  b.node("Exp", {"x"}, {"dead"}, "exp_unused");
  b.node("Abs", {"dead"}, {"dead2"}, "abs_unused");
  return b.bytes();
}

TEST(DeadCodeElimination, removes_unreachable_nodes_only) {
  std::string bytes = model();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(g.ok());
  passes::PassContext ctx;
  auto removed = passes::run_dead_code_elimination(*g, ctx);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(g->num_nodes(), 2u);
  EXPECT_EQ(testing::count_op(*g, "Relu"), 1);
  EXPECT_EQ(testing::count_op(*g, "Neg"), 1);
  EXPECT_EQ(testing::count_op(*g, "Exp"), 0);
  // Links are rebuilt: y's consumer is the Neg node.
  const Value& y = g->value(g->find_value("y"));
  ASSERT_EQ(y.consumers.size(), 1u);
  EXPECT_EQ(g->node(y.consumers[0]).op_type, "Neg");
}

TEST(DeadCodeElimination, values_are_unchanged) {
  testing::expect_same_outputs(model(), {{"x", Tensor::from_vector<float>({4}, {-1, 2, -3, 4})}});
}

}  // namespace
}  // namespace sparsert
