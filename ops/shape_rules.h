// Static shape and type inference: a rule per op computes its outputs' dtypes
// and dims (static or symbolic) from its inputs' types, the constant inputs,
// and the symbolic contents of small integer tensors (the Shape -> Gather ->
// Concat -> Reshape chains exporters write), so "batch" and "sequence" flow
// through a whole BERT. What cannot be known (a Reshape to a computed shape)
// is left unknown, never guessed. Kernels still compute the real shapes at run
// time; the rules feed the passes (and the executor's optional check).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

class OpRegistry;

// One element of a small integer tensor: a known value (which may be negative,
// e.g. Reshape's -1) or a symbol ("" when nothing is known).
struct SymInt {
  int64_t value = 0;
  std::string symbol;
  bool known = true;
  static SymInt of(int64_t v) { return SymInt{v, {}, true}; }
  static SymInt from_dim(const Dim& d) { return d.is_static() ? of(d.value) : SymInt{0, d.symbol, false}; }
  Dim to_dim() const { return known ? (value >= 0 ? Dim::of(value) : Dim::sym("")) : Dim::sym(symbol); }
};
// The symbolic contents of a 0-d or 1-d integer tensor.
using DimValues = std::vector<SymInt>;

class InferContext {
 public:
  InferContext(const Node& node, const Graph& graph, std::vector<std::optional<DimValues>> input_values)
      : node_(node), graph_(graph), input_values_(std::move(input_values)),
        outputs_(node.outputs.size()), output_values_(node.outputs.size()) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  bool has_input(int i) const { return i < num_inputs() && node_.inputs[i] != kNoValue; }
  // Type of input i (an empty ValueType when absent).
  const ValueType& input(int i) const;
  // The constant behind input i, or nullptr.
  const Tensor* constant(int i) const;
  // Symbolic element values of input i (a constant small int tensor, or one
  // whose contents the rules tracked), or nullopt.
  const std::optional<DimValues>& input_values(int i) const;

  ValueType& output(int i) { return outputs_[static_cast<size_t>(i)]; }
  void set_output(int i, DType dtype, std::vector<Dim> dims);
  void set_output_rank_unknown(int i, DType dtype);
  void set_output_values(int i, DimValues v) { output_values_[static_cast<size_t>(i)] = std::move(v); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }

  const std::vector<ValueType>& outputs() const { return outputs_; }
  const std::vector<std::optional<DimValues>>& output_values() const { return output_values_; }

 private:
  const Node& node_;
  const Graph& graph_;
  std::vector<std::optional<DimValues>> input_values_;
  std::vector<ValueType> outputs_;
  std::vector<std::optional<DimValues>> output_values_;
};

using ShapeRule = std::function<Status(InferContext&)>;

// Attaches the shape rule of every registered op (called by register_all_ops).
void register_shape_rules(OpRegistry& r);

// Numpy broadcast of symbolic dims: equal symbols or 1 broadcast; error when two
// static dims differ.
StatusOr<std::vector<Dim>> broadcast_dims(const std::vector<Dim>& a, const std::vector<Dim>& b, const Node& node);

}  // namespace sparsert
