// The IR: a Graph owns Values (tensors flowing between nodes, graph inputs,
// constants) and Nodes (op applications). Plain vectors and integer ids; no
// per-op classes. Attributes are a typed map.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "graph/attribute.h"
#include "graph/dtype.h"
#include "graph/tensor.h"

namespace sparsert {

// A dimension: a known size, or a named symbol ("batch", "seq") bound at run time.
struct Dim {
  int64_t value = -1;  // >= 0 when static
  std::string symbol;  // may be empty for an unknown, unnamed dim
  bool is_static() const { return value >= 0; }
  static Dim of(int64_t v) { return Dim{v, {}}; }
  static Dim sym(std::string s) { return Dim{-1, std::move(s)}; }
};
std::string dims_to_string(const std::vector<Dim>& dims);

struct ValueType {
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // false: rank unknown
  std::vector<Dim> dims;
  std::string to_string() const;  // "float[batch,128,768]" / "float[?]"
};

// True when both types have a shape and every dim provably matches: equal
// static sizes, or the same (named) symbol. What passes need to know that two
// tensors line up element for element.
bool same_known_dims(const ValueType& a, const ValueType& b);

using ValueId = int32_t;
using NodeId = int32_t;
constexpr ValueId kNoValue = -1;  // an omitted optional input

struct Value {
  std::string name;
  ValueType type;
  NodeId producer = -1;            // -1: graph input or constant
  std::vector<NodeId> consumers;
  std::optional<Tensor> constant;  // initializer / folded constant
  bool is_graph_input = false;
  bool is_graph_output = false;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for ai.onnx
  int opset = 0;       // the model's opset for this node's domain
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  AttributeMap attrs;
  // "node 'attn/MatMul' (MatMul, opset 13)" for error messages
  std::string describe() const;
};

class Graph {
 public:
  std::string name;
  std::map<std::string, int> opsets;  // domain -> version ("" = ai.onnx)

  ValueId add_value(const std::string& name, ValueType type = {});
  ValueId add_constant(const std::string& name, Tensor tensor);
  NodeId add_node(Node node);  // wires producer/consumer links
  ValueId find_value(const std::string& name) const;
  // `base`, or base_1, base_2, ...: the first no value of the graph has (for values passes add).
  std::string unused_name(const std::string& base) const;

  Value& value(ValueId id) { return values_[id]; }
  const Value& value(ValueId id) const { return values_[id]; }
  Node& node(NodeId id) { return nodes_[id]; }
  const Node& node(NodeId id) const { return nodes_[id]; }
  size_t num_values() const { return values_.size(); }
  size_t num_nodes() const { return nodes_.size(); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Value>& values() const { return values_; }

  std::vector<ValueId>& inputs() { return inputs_; }
  std::vector<ValueId>& outputs() { return outputs_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }

  // Node ids in an order where every node follows its producers; error on a cycle
  // or on a node reading a value nothing produces.
  StatusOr<std::vector<NodeId>> topological_order() const;
  // Readable text dump, one node per line.
  std::string dump() const;
  // Removes the nodes with remove[id] set; remaining nodes get new ids and all
  // producer/consumer links are rebuilt. Constants nothing reads any more are
  // released (their memory freed), except graph outputs.
  void remove_nodes(const std::vector<bool>& remove);
  // Makes `v` a constant holding `t` (its producer is expected to be removed).
  void set_constant(ValueId v, Tensor t);

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::unordered_map<std::string, ValueId> by_name_;
};

}  // namespace sparsert
