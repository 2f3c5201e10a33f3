#include "graph/onnx_import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/onnx_builder.h"

namespace sparsert {
namespace {

namespace fs = std::filesystem;
using testing::OnnxBuilder;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sparsert_import_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

OnnxBuilder add_model() {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 4}, {"batch"}).output("y");
  b.initializer("w", {4}, {1, 2, 3, 4});
  b.node("Add", {"x", "w"}, {"y"}, "add");
  return b;
}

TEST(OnnxImport, imports_inputs_initializers_and_symbolic_dims) {
  std::string bytes = add_model().bytes();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  ASSERT_EQ(g->inputs().size(), 1u);
  const Value& x = g->value(g->inputs()[0]);
  EXPECT_EQ(x.type.to_string(), "float[batch,4]");
  ValueId w = g->find_value("w");
  ASSERT_NE(w, kNoValue);
  ASSERT_TRUE(g->value(w).constant.has_value());
  EXPECT_EQ(g->value(w).constant->data<float>()[3], 4.f);
  EXPECT_EQ(g->num_nodes(), 1u);
}

TEST(OnnxImport, missing_file_names_the_path) {
  auto g = import_onnx_file("/nonexistent/model.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find("/nonexistent/model.onnx"), std::string::npos);
}

TEST(OnnxImport, truncated_file_is_data_loss_not_a_crash) {
  std::string bytes = add_model().bytes();
  fs::path dir = temp_dir("trunc");
  for (size_t cut : {bytes.size() / 2, bytes.size() - 3, size_t{7}}) {
    write(dir / "m.onnx", bytes.substr(0, cut));
    auto g = import_onnx_file((dir / "m.onnx").string());
    ASSERT_FALSE(g.ok()) << "cut at " << cut;
    EXPECT_NE(g.status().message().find("m.onnx"), std::string::npos) << g.status().to_string();
  }
  fs::remove_all(dir);
}

TEST(OnnxImport, garbage_bytes_are_rejected) {
  std::string junk(1000, '\xff');
  auto g = import_onnx_bytes(junk.data(), junk.size());
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
}

TEST(OnnxImport, initializer_with_wrong_byte_count_is_rejected) {
  OnnxBuilder b = add_model();
  auto& t = *b.model().mutable_graph()->mutable_initializer(0);
  t.clear_float_data();
  t.set_raw_data(std::string(10, '\0'));  // 4 floats need 16 bytes
  std::string bytes = b.bytes();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("initializer 'w'"), std::string::npos) << g.status().to_string();
  EXPECT_NE(g.status().message().find("expected 16"), std::string::npos) << g.status().to_string();
}

TEST(OnnxImport, absurd_shapes_are_rejected) {
  OnnxBuilder b = add_model();
  auto& t = *b.model().mutable_graph()->mutable_initializer(0);
  t.clear_dims();
  for (int i = 0; i < 4; ++i) t.add_dims(int64_t{1} << 40);  // overflows int64 element count
  std::string bytes = b.bytes();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("more elements than int64"), std::string::npos) << g.status().to_string();
}

TEST(OnnxImport, node_reading_an_undefined_value_is_rejected) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2}).output("y");
  b.node("Add", {"x", "nowhere"}, {"y"}, "bad_add");
  std::string bytes = b.bytes();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'bad_add'"), std::string::npos) << g.status().to_string();
  EXPECT_NE(g.status().message().find("'nowhere'"), std::string::npos) << g.status().to_string();
}

TEST(OnnxImport, subgraph_ops_give_a_clear_error) {
  OnnxBuilder b;
  b.input("c", onnx::TensorProto::BOOL, {}).output("y");
  auto& n = b.node("If", {"c"}, {"y"}, "branch");
  auto* a = n.add_attribute();
  a->set_name("then_branch");
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name("then");
  std::string bytes = b.bytes();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(g.status().message().find("If"), std::string::npos) << g.status().to_string();
  EXPECT_NE(g.status().message().find("control flow"), std::string::npos) << g.status().to_string();
}

void make_external(OnnxBuilder& b, const std::string& location, int64_t offset) {
  auto& t = *b.model().mutable_graph()->mutable_initializer(0);
  t.clear_float_data();
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = t.add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  kv = t.add_external_data();
  kv->set_key("offset");
  kv->set_value(std::to_string(offset));
  kv = t.add_external_data();
  kv->set_key("length");
  kv->set_value("16");
}

TEST(OnnxImport, external_data_is_read_from_the_model_directory) {
  fs::path dir = temp_dir("ext_ok");
  float w[5] = {0, 10, 20, 30, 40};
  write(dir / "weights.bin", std::string(reinterpret_cast<char*>(w), sizeof w));
  OnnxBuilder b = add_model();
  make_external(b, "weights.bin", 4);  // unaligned offset: the importer copies
  write(dir / "m.onnx", b.bytes());
  auto g = import_onnx_file((dir / "m.onnx").string());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  const Tensor& t = *g->value(g->find_value("w")).constant;
  EXPECT_EQ(t.data<float>()[0], 10.f);
  EXPECT_EQ(t.data<float>()[3], 40.f);
  fs::remove_all(dir);
}

TEST(OnnxImport, external_data_outside_the_model_directory_is_refused) {
  fs::path dir = temp_dir("ext_escape");
  fs::create_directories(dir / "sub");
  write(dir / "secret.bin", std::string(16, 'x'));
  for (std::string loc : {"../secret.bin", "/etc/passwd", "a/../../secret.bin"}) {
    OnnxBuilder b = add_model();
    make_external(b, loc, 0);
    write(dir / "sub" / "m.onnx", b.bytes());
    auto g = import_onnx_file((dir / "sub" / "m.onnx").string());
    ASSERT_FALSE(g.ok()) << loc;
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument) << g.status().to_string();
    EXPECT_NE(g.status().message().find(loc), std::string::npos) << g.status().to_string();
  }
  // A symlink inside the directory that points outside is refused too.
  fs::create_symlink(dir / "secret.bin", dir / "sub" / "link.bin");
  OnnxBuilder b = add_model();
  make_external(b, "link.bin", 0);
  write(dir / "sub" / "m.onnx", b.bytes());
  auto g = import_onnx_file((dir / "sub" / "m.onnx").string());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("outside"), std::string::npos) << g.status().to_string();
  fs::remove_all(dir);
}

TEST(OnnxImport, external_data_range_past_end_of_file_is_rejected) {
  fs::path dir = temp_dir("ext_short");
  write(dir / "w.bin", std::string(8, '\0'));
  OnnxBuilder b = add_model();
  make_external(b, "w.bin", 0);
  write(dir / "m.onnx", b.bytes());
  auto g = import_onnx_file((dir / "m.onnx").string());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("does not fit"), std::string::npos) << g.status().to_string();
  fs::remove_all(dir);
}

TEST(OnnxImport, constant_nodes_become_constants) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2}).output("y");
  auto& c = b.node("Constant", {}, {"k"}, "const");
  auto* a = c.add_attribute();
  a->set_name("value_floats");
  a->set_type(onnx::AttributeProto::FLOATS);
  a->add_floats(1.5f);
  a->add_floats(-2.f);
  b.node("Mul", {"x", "k"}, {"y"}, "mul");
  std::string bytes = b.bytes();
  auto g = import_onnx_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(g->num_nodes(), 1u);
  const Value& k = g->value(g->find_value("k"));
  ASSERT_TRUE(k.constant.has_value());
  EXPECT_EQ(k.constant->data<float>()[1], -2.f);
}

}  // namespace
}  // namespace sparsert
