#include "runtime/session.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/onnx_builder.h"
#include "tests/test_util.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

std::unique_ptr<Session> add_session(SessionOptions opts = {}) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3}, {"batch"}).input("y", onnx::TensorProto::FLOAT, {-1, 3}, {"batch"});
  b.output("z");
  b.node("Add", {"x", "y"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"z"}, "relu");
  std::string bytes = b.bytes();
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), opts);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(s).value();
}

Tensor floats(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(std::move(shape), v); }

TEST(Session, reports_input_and_output_metadata) {
  auto s = add_session();
  ASSERT_EQ(s->inputs().size(), 2u);
  EXPECT_EQ(s->inputs()[0].name, "x");
  EXPECT_EQ(s->inputs()[0].type_string(), "float[batch,3]");
  EXPECT_EQ(s->inputs()[0].shape, (Shape{-1, 3}));
  ASSERT_EQ(s->outputs().size(), 1u);
  EXPECT_EQ(s->outputs()[0].name, "z");
}

TEST(Session, runs_and_computes) {
  auto s = add_session();
  auto out = s->Run({{"x", floats({1, 3}, {1, -5, 2})}, {"y", floats({1, 3}, {1, 1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  ASSERT_EQ(out->size(), 1u);
  const float* z = (*out)[0].tensor.data<float>();
  EXPECT_EQ(z[0], 2.f);
  EXPECT_EQ(z[1], 0.f);
  EXPECT_EQ(z[2], 3.f);
}

TEST(Session, wrong_dtype_names_input_expected_and_got) {
  auto s = add_session();
  auto out = s->Run({{"x", Tensor::from_vector<int64_t>({1, 3}, {1, 2, 3})}, {"y", floats({1, 3}, {1, 1, 1})}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "input 'x': expected float[batch,3], got int64[1,3]");
}

TEST(Session, wrong_static_dim_is_rejected) {
  auto s = add_session();
  auto out = s->Run({{"x", floats({1, 4}, {1, 2, 3, 4})}, {"y", floats({1, 3}, {1, 1, 1})}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "input 'x': expected float[batch,3], got float[1,4]");
}

TEST(Session, inconsistent_symbolic_dim_is_rejected) {
  auto s = add_session();
  auto out = s->Run({{"x", floats({1, 3}, {1, 2, 3})}, {"y", floats({2, 3}, {1, 1, 1, 1, 1, 1})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("dim 'batch' is 2 but another input bound it to 1"), std::string::npos)
      << out.status().message();
}

TEST(Session, missing_and_unknown_inputs_are_named) {
  auto s = add_session();
  auto missing = s->Run({{"x", floats({1, 3}, {1, 2, 3})}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("input 'y' (float[batch,3]) is missing"), std::string::npos);
  auto unknown = s->Run({{"q", floats({1, 3}, {1, 2, 3})}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown input 'q'; the model's inputs are 'x', 'y'"), std::string::npos)
      << unknown.status().message();
}

TEST(Session, unknown_output_name_is_rejected) {
  auto s = add_session();
  auto out = s->Run({{"x", floats({1, 3}, {1, 2, 3})}, {"y", floats({1, 3}, {1, 1, 1})}}, {"nope"});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("unknown output 'nope'"), std::string::npos);
}

TEST(Session, unsupported_ops_are_all_listed_with_nodes_and_opset) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2}).output("z");
  b.node("FancyOp", {"x"}, {"a"}, "fancy1");
  b.node("FancyOp", {"a"}, {"b"}, "fancy2");
  b.node("Weird", {"b"}, {"c"}, "weird", "com.example");
  b.node("Relu", {"c"}, {"z"}, "relu");
  std::string bytes = b.bytes();
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size());
  ASSERT_FALSE(s.ok());
  const std::string& m = s.status().message();
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(m.find("2 unsupported op type(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("FancyOp (opset 17) at nodes 'fancy1', 'fancy2'"), std::string::npos) << m;
  EXPECT_NE(m.find("com.example.Weird (opset 1) at node 'weird'"), std::string::npos) << m;
}

TEST(Session, wrong_input_count_for_an_op_is_an_error) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2}).output("z");
  b.node("Add", {"x"}, {"z"}, "lonely_add");
  std::string bytes = b.bytes();
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'lonely_add'"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("inputs, got 1"), std::string::npos) << s.status().message();
}

TEST(Session, kernel_errors_name_the_node) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1}, {"n"}).input("y", onnx::TensorProto::FLOAT, {-1}, {"m"});
  b.output("z");
  b.node("Add", {"x", "y"}, {"z"}, "mismatch");
  std::string bytes = b.bytes();
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  auto out = (*s)->Run({{"x", floats({2}, {1, 2})}, {"y", floats({3}, {1, 2, 3})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'mismatch' (Add, opset 17)"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("[2] and [3] cannot be broadcast"), std::string::npos) << out.status().message();
}

TEST(Session, concurrent_runs_agree_with_a_serial_run) {
  auto entries = testing::read_manifest();
  std::string model;
  for (const auto& e : entries)
    if (e.name == "bert_tiny_op17.onnx") model = e.model;
  ASSERT_FALSE(model.empty()) << "bert_tiny_op17.onnx missing from " << testing::models_dir();
  SessionOptions opts;
  opts.threads = 1;
  auto s = Session::Create(model, opts);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto inputs = (*s)->RandomInputs({{"batch", 1}, {"sequence", 8}}, 3);
  ASSERT_TRUE(inputs.ok()) << inputs.status().to_string();
  auto serial = (*s)->Run(*inputs);
  ASSERT_TRUE(serial.ok());
  std::vector<std::string> diffs(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        auto out = (*s)->Run(*inputs);
        if (!out.ok()) { diffs[t] = out.status().to_string(); return; }
        for (size_t k = 0; k < out->size(); ++k) {
          std::string d = testing::compare_tensors((*out)[k].tensor, (*serial)[k].tensor, 0.0);
          if (!d.empty()) diffs[t] = d;
        }
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(diffs[t], "") << "thread " << t;
}

TEST(Session, random_inputs_respect_embedding_tables_and_masks) {
  auto entries = testing::read_manifest();
  std::string model;
  for (const auto& e : entries)
    if (e.name == "bert_tiny_op13.onnx") model = e.model;
  ASSERT_FALSE(model.empty());
  auto s = Session::Create(model);
  ASSERT_TRUE(s.ok());
  auto inputs = (*s)->RandomInputs({{"batch", 2}, {"sequence", 32}}, 1);
  ASSERT_TRUE(inputs.ok()) << inputs.status().to_string();
  ASSERT_EQ(inputs->size(), 2u);
  const Tensor& ids = (*inputs)[0].tensor;
  EXPECT_EQ(ids.shape(), (Shape{2, 32}));
  int64_t mx = 0;
  for (int64_t i = 0; i < ids.num_elements(); ++i) mx = std::max(mx, ids.data<int64_t>()[i]);
  EXPECT_LT(mx, 1000);  // the tiny BERT's vocabulary
  EXPECT_GT(mx, 100);   // and actually spread over it
  const Tensor& mask = (*inputs)[1].tensor;
  for (int64_t i = 0; i < mask.num_elements(); ++i) ASSERT_EQ(mask.data<int64_t>()[i], 1);
}

TEST(Session, profiling_writes_a_chrome_trace) {
  std::string path = (std::filesystem::temp_directory_path() / ("sparsert_profile_" + std::to_string(::getpid()) + ".json")).string();
  SessionOptions opts;
  opts.profile_file = path;
  opts.disabled_passes = {"fuse_elementwise_chain"};  // one trace event per node of the model
  auto s = add_session(opts);
  ASSERT_TRUE(s->Run({{"x", floats({1, 3}, {1, 2, 3})}, {"y", floats({1, 3}, {1, 1, 1})}}).ok());
  EXPECT_EQ(s->EndProfiling(), path);
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"name\":\"add\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"name\":\"relu\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"ph\":\"X\""), std::string::npos) << text;
  std::remove(path.c_str());
  // Profiling has ended: a second call and the destructor write nothing.
  EXPECT_EQ(s->EndProfiling(), "");
  s.reset();
  EXPECT_FALSE(std::filesystem::exists(path));
}

// x[2,4] * W[4,3] with W of value w: a model whose weights a rewrite can change.
std::string matmul_model(float w) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y");
  b.initializer("w", {4, 3}, std::vector<float>(12, w));
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  return b.bytes();
}

std::vector<float> run_matmul(const Session& s) {
  auto out = s.Run({{"x", floats({2, 4}, std::vector<float>(8, 1.f))}});
  EXPECT_TRUE(out.ok()) << out.status().to_string();
  if (!out.ok()) return {};
  const Tensor& y = (*out)[0].tensor;
  return std::vector<float>(y.data<float>(), y.data<float>() + y.num_elements());
}

TEST(SessionPlanSharing, live_sessions_of_one_model_share_the_compiled_plan) {
  const std::string bytes = matmul_model(0.5f);
  auto a = Session::CreateFromBytes(bytes.data(), bytes.size());
  auto b = Session::CreateFromBytes(bytes.data(), bytes.size());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE((*a)->SharesCompiledPlanWith(**b));
  EXPECT_EQ(run_matmul(**a), std::vector<float>(6, 2.f));
  EXPECT_EQ(run_matmul(**b), std::vector<float>(6, 2.f));
  // Compile options make another plan; run-time options (profiling) do not.
  SessionOptions other_threads, profiled, unshared;
  other_threads.threads = 1;
  profiled.profile_file = (std::filesystem::temp_directory_path() / "sparsert_shared_plan_profile.json").string();
  unshared.share_compiled_plan = false;
  auto c = Session::CreateFromBytes(bytes.data(), bytes.size(), other_threads);
  auto d = Session::CreateFromBytes(bytes.data(), bytes.size(), profiled);
  auto e = Session::CreateFromBytes(bytes.data(), bytes.size(), unshared);
  ASSERT_TRUE(c.ok() && d.ok() && e.ok());
  EXPECT_FALSE((*c)->SharesCompiledPlanWith(**a));
  EXPECT_TRUE((*d)->SharesCompiledPlanWith(**a));
  EXPECT_FALSE((*e)->SharesCompiledPlanWith(**a));
  EXPECT_EQ(run_matmul(**d), std::vector<float>(6, 2.f));
  EXPECT_EQ((*d)->EndProfiling(), profiled.profile_file) << "the profiling session keeps its own executor";
  EXPECT_EQ((*a)->EndProfiling(), "");
  std::filesystem::remove(profiled.profile_file);
  // Other bytes: another plan.
  const std::string other = matmul_model(0.25f);
  auto f = Session::CreateFromBytes(other.data(), other.size());
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE((*f)->SharesCompiledPlanWith(**a));
  EXPECT_EQ(run_matmul(**f), std::vector<float>(6, 1.f));
}

TEST(SessionPlanSharing, a_rewritten_model_file_is_compiled_again) {
  const auto path = std::filesystem::temp_directory_path() / "sparsert_shared_plan_model.onnx";
  auto write = [&](float w) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << matmul_model(w);
  };
  write(0.5f);
  auto a = Session::Create(path.string());
  auto b = Session::Create(path.string());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE((*a)->SharesCompiledPlanWith(**b));
  // New weights (the file's size stays; its modification time or inode changes).
  std::filesystem::remove(path);
  write(0.75f);
  auto c = Session::Create(path.string());
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->SharesCompiledPlanWith(**a));
  EXPECT_EQ(run_matmul(**c), std::vector<float>(6, 3.f));
  EXPECT_EQ(run_matmul(**a), std::vector<float>(6, 2.f));
  // Once every session of a plan is gone, the next one compiles afresh (and runs).
  a->reset();
  b->reset();
  c->reset();
  auto d = Session::Create(path.string());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(run_matmul(**d), std::vector<float>(6, 3.f));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sparsert
