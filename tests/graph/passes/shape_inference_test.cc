#include "graph/passes/shape_inference.h"

#include <gtest/gtest.h>

#include "graph/onnx_import.h"
#include "ops/registry.h"
#include "tests/onnx_builder.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;
constexpr int F = onnx::TensorProto::FLOAT;

StatusOr<Graph> infer(const std::string& bytes) {
  SPARSERT_ASSIGN_OR_RETURN(Graph g, import_onnx_bytes(bytes.data(), bytes.size()));
  passes::PassContext ctx;
  SPARSERT_RETURN_IF_ERROR(passes::run_shape_inference(g, ctx).status());
  return g;
}

std::string type_of(const Graph& g, const std::string& name) { return g.value(g.find_value(name)).type.to_string(); }

// The chain exporters write for x.view(x.size(0), x.size(1), heads, -1): the
// symbols must survive Shape -> Gather -> Concat -> Reshape, and a -1 must be
// solved against the symbolic element count.
TEST(ShapeInference, symbolic_dims_flow_through_shape_chains) {
  OnnxBuilder b;
  b.input("x", F, {-1, -1, 8}, {"batch", "seq"}).output("flat").output("merged").output("pooled");
  b.initializer("w", {8, 12}, std::vector<float>(96, 0.1f));
  b.int64_initializer("i0", {0});
  b.int64_initializer("i1", {1});
  b.int64_initializer("heads", {3});
  b.int64_initializer("minus1", {-1});
  b.int64_initializer("keep_merge", {0, 0, -1});
  b.int64_initializer("axes_last", {-1});
  b.node("MatMul", {"x", "w"}, {"mm"}, "mm");
  b.node("Shape", {"mm"}, {"s"}, "shape");
  b.node("Gather", {"s", "i0"}, {"bdim"}, "g0");
  b.node("Gather", {"s", "i1"}, {"sdim"}, "g1");
  OnnxBuilder::int_attr(b.node("Concat", {"bdim", "sdim", "heads", "minus1"}, {"target"}, "cat"), "axis", 0);
  b.node("Reshape", {"mm", "target"}, {"split"}, "split_heads");
  b.node("Transpose", {"split"}, {"t"}, "t").add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("perm");
    a.set_type(onnx::AttributeProto::INTS);
    for (int64_t p : {0, 2, 1, 3}) a.add_ints(p);
    return a;
  }());
  OnnxBuilder::int_attr(b.node("Flatten", {"t"}, {"flat"}, "flatten"), "axis", 2);
  b.node("Reshape", {"split", "keep_merge"}, {"merged"}, "merge_heads");
  b.node("ReduceMean", {"merged", "axes_last"}, {"pooled"}, "mean");
  auto g = infer(b.bytes());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(type_of(*g, "mm"), "float[batch,seq,12]");
  EXPECT_EQ(type_of(*g, "s"), "int64[3]");
  EXPECT_EQ(type_of(*g, "split"), "float[batch,seq,3,4]");
  EXPECT_EQ(type_of(*g, "t"), "float[batch,3,seq,4]");
  EXPECT_EQ(type_of(*g, "flat"), "float[?,?]");  // batch*3 and seq*4 have no single symbol
  EXPECT_EQ(type_of(*g, "merged"), "float[batch,seq,12]");
  EXPECT_EQ(type_of(*g, "pooled"), "float[batch,seq,1]");
}

TEST(ShapeInference, static_dims_of_convolutions_and_pools) {
  OnnxBuilder b;
  b.input("x", F, {-1, 3, 9, 8}, {"n"}).output("p");
  b.initializer("w", {4, 3, 3, 3}, std::vector<float>(108, 0.1f));
  auto& conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
  auto ints = [](onnx::NodeProto& n, const char* name, std::vector<int64_t> v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  };
  ints(conv, "strides", {2, 2});
  ints(conv, "pads", {1, 1, 1, 1});
  auto& pool = b.node("MaxPool", {"c"}, {"p"}, "pool");
  ints(pool, "kernel_shape", {2, 2});
  ints(pool, "strides", {2, 2});
  OnnxBuilder::int_attr(pool, "ceil_mode", 1);
  auto g = infer(b.bytes());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(type_of(*g, "c"), "float[n,4,5,4]");
  EXPECT_EQ(type_of(*g, "p"), "float[n,4,3,2]");
}

TEST(ShapeInference, contradiction_with_the_declared_type_is_an_error) {
  OnnxBuilder b;
  b.input("a", F, {2, 3}).input("b", F, {2, 3}).output("y");
  b.node("Add", {"a", "b"}, {"y"}, "add");
  auto* vi = b.model().mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  vi->add_dim()->set_dim_value(2);
  vi->add_dim()->set_dim_value(4);
  auto g = infer(b.bytes());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'y' is inferred as float[2,3] but the model declares float[2,4]"),
            std::string::npos)
      << g.status().to_string();
  EXPECT_NE(g.status().message().find("node 'add'"), std::string::npos) << g.status().to_string();
}

TEST(ShapeInference, incompatible_broadcast_is_an_error) {
  OnnxBuilder b;
  b.input("a", F, {2, 3}).input("b", F, {4, 3}).output("y");
  b.node("Mul", {"a", "b"}, {"y"}, "mul");
  auto g = infer(b.bytes());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("cannot be broadcast"), std::string::npos) << g.status().to_string();
}

TEST(ShapeInference, every_registered_op_has_a_shape_rule) {
  for (const OpSchema* s : OpRegistry::global().all())
    EXPECT_TRUE(static_cast<bool>(s->infer)) << (s->domain.empty() ? "" : s->domain + ".") << s->op_type;
}

}  // namespace
}  // namespace sparsert
