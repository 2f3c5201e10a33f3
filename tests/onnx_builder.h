// Builds small ONNX models in C++ (via the protobuf API) for error-path tests.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace sparsert::testing {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 17) {
    model_.set_ir_version(8);
    auto* os = model_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }
  OnnxBuilder& input(const std::string& name, int elem_type, const std::vector<int64_t>& shape,
                     const std::vector<std::string>& symbols = {}) {
    fill(model_.mutable_graph()->add_input(), name, elem_type, shape, symbols);
    return *this;
  }
  OnnxBuilder& output(const std::string& name, int elem_type = onnx::TensorProto::FLOAT) {
    auto* vi = model_.mutable_graph()->add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
                        const std::string& name = "", const std::string& domain = "") {
    auto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    n->set_domain(domain);
    for (const auto& i : in) n->add_input(i);
    for (const auto& o : out) n->add_output(o);
    return *n;
  }
  onnx::TensorProto& initializer(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return *t;
  }
  onnx::TensorProto& int64_initializer(const std::string& name, const std::vector<int64_t>& values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return *t;
  }
  // Any element type from raw little-endian bytes.
  onnx::TensorProto& raw_initializer(const std::string& name, int elem_type, const std::vector<int64_t>& dims,
                                     const std::string& bytes) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(elem_type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(bytes);
    return *t;
  }
  static void int_attr(onnx::NodeProto& n, const std::string& name, int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void float_attr(onnx::NodeProto& n, const std::string& name, float value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void ints_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  static void floats_attr(onnx::NodeProto& n, const std::string& name, const std::vector<float>& values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float v : values) a->add_floats(v);
  }
  onnx::ModelProto& model() { return model_; }
  std::string bytes() const { return model_.SerializeAsString(); }

 private:
  static void fill(onnx::ValueInfoProto* vi, const std::string& name, int elem_type, const std::vector<int64_t>& shape,
                   const std::vector<std::string>& symbols) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* sh = tt->mutable_shape();
    for (size_t i = 0; i < shape.size(); ++i) {
      auto* d = sh->add_dim();
      if (shape[i] >= 0) d->set_dim_value(shape[i]);
      else d->set_dim_param(i < symbols.size() ? symbols[i] : "");
    }
  }
  onnx::ModelProto model_;
};

// GPT-2's gelu_new as PyTorch exports it, from value `in` to value `out`:
// 0.5 * h * (1 + tanh(sqrt(2/pi) * (h + cube_coef * h^3))) (cube_coef 0.044715;
// another value is a different function). Adds its constants as initializers.
inline void add_gelu_tanh(OnnxBuilder& b, const std::string& in, const std::string& out,
                          float cube_coef = 0.044715f) {
  b.initializer("half", {}, {0.5f});
  b.initializer("three", {}, {3.f});
  b.initializer("coef", {}, {cube_coef});
  b.initializer("s", {}, {std::sqrt(2.f / static_cast<float>(M_PI))});
  b.initializer("one", {}, {1.f});
  b.node("Mul", {in, "half"}, {"hh"}, "half");
  b.node("Pow", {in, "three"}, {"h3"}, "pow");
  b.node("Mul", {"coef", "h3"}, {"c3"}, "cube");
  b.node("Add", {in, "c3"}, {"inner"}, "add");
  b.node("Mul", {"inner", "s"}, {"scaled"}, "scale");
  b.node("Tanh", {"scaled"}, {"t"}, "tanh");
  b.node("Add", {"t", "one"}, {"t1"}, "one");
  b.node("Mul", {"hh", "t1"}, {out}, "gelu");
}

}  // namespace sparsert::testing
