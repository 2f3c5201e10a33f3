#include "graph/graph.h"

#include <sstream>

namespace sparsert {

bool same_known_dims(const ValueType& a, const ValueType& b) {
  if (!a.has_shape || !b.has_shape || a.dims.size() != b.dims.size()) return false;
  for (size_t i = 0; i < a.dims.size(); ++i) {
    const Dim &x = a.dims[i], &y = b.dims[i];
    if (x.is_static() != y.is_static()) return false;
    if (x.is_static() ? x.value != y.value : (x.symbol.empty() || x.symbol != y.symbol)) return false;
  }
  return true;
}

std::string dims_to_string(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    if (dims[i].is_static()) s += std::to_string(dims[i].value);
    else s += dims[i].symbol.empty() ? "?" : dims[i].symbol;
  }
  return s + "]";
}

std::string ValueType::to_string() const {
  return std::string(dtype_name(dtype)) + (has_shape ? dims_to_string(dims) : "[?]");
}

std::string Node::describe() const {
  std::string op = domain.empty() ? op_type : domain + "." + op_type;
  return "node '" + name + "' (" + op + ", opset " + std::to_string(opset) + ")";
}

ValueId Graph::add_value(const std::string& name, ValueType type) {
  auto it = by_name_.find(name);
  if (it != by_name_.end() && !name.empty()) return it->second;
  ValueId id = static_cast<ValueId>(values_.size());
  Value v;
  v.name = name;
  v.type = std::move(type);
  values_.push_back(std::move(v));
  if (!name.empty()) by_name_[name] = id;
  return id;
}

ValueId Graph::add_constant(const std::string& name, Tensor tensor) {
  ValueId id = add_value(name);
  set_constant(id, std::move(tensor));
  return id;
}

NodeId Graph::add_node(Node node) {
  NodeId id = static_cast<NodeId>(nodes_.size());
  for (ValueId in : node.inputs)
    if (in != kNoValue) values_[in].consumers.push_back(id);
  for (ValueId out : node.outputs)
    if (out != kNoValue) values_[out].producer = id;
  nodes_.push_back(std::move(node));
  return id;
}

ValueId Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNoValue : it->second;
}

std::string Graph::unused_name(const std::string& base) const {
  std::string name = base;
  for (int i = 1; find_value(name) != kNoValue; ++i) name = base + "_" + std::to_string(i);
  return name;
}

StatusOr<std::vector<NodeId>> Graph::topological_order() const {
  // Kahn's algorithm over value availability; keeps the file order among ready nodes.
  std::vector<int> missing(nodes_.size(), 0);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    for (ValueId in : nodes_[n].inputs) {
      if (in == kNoValue) continue;
      const Value& v = values_[in];
      if (v.producer >= 0) {
        ++missing[n];
      } else if (!v.constant && !v.is_graph_input) {
        return InvalidArgument(nodes_[n].describe(), ": input '", v.name,
                               "' is not a graph input, an initializer, or any node's output");
      }
    }
  }
  std::vector<NodeId> ready, order;
  for (size_t n = 0; n < nodes_.size(); ++n)
    if (missing[n] == 0) ready.push_back(static_cast<NodeId>(n));
  // Process in increasing id order among ready nodes for a stable, readable order.
  size_t head = 0;
  while (head < ready.size()) {
    NodeId n = ready[head++];
    order.push_back(n);
    for (ValueId out : nodes_[n].outputs) {
      if (out == kNoValue) continue;
      for (NodeId c : values_[out].consumers) {
        // A node may read the same value twice: count each edge.
        for (ValueId in : nodes_[c].inputs)
          if (in == out && --missing[c] == 0) ready.push_back(c);
      }
    }
  }
  if (order.size() != nodes_.size()) {
    for (size_t n = 0; n < nodes_.size(); ++n)
      if (missing[n] > 0) return InvalidArgument("graph has a cycle through ", nodes_[n].describe());
  }
  return order;
}

std::string Graph::dump() const {
  std::ostringstream os;
  os << "graph " << name << "\n";
  for (ValueId in : inputs_) os << "  input  " << values_[in].name << ": " << values_[in].type.to_string() << "\n";
  auto order = topological_order();
  std::vector<NodeId> ids;
  if (order.ok()) ids = *order;
  else for (size_t i = 0; i < nodes_.size(); ++i) ids.push_back(static_cast<NodeId>(i));
  for (NodeId id : ids) {
    const Node& n = nodes_[id];
    os << "  ";
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (i) os << ", ";
      if (n.outputs[i] == kNoValue) { os << "_"; continue; }
      const Value& v = values_[n.outputs[i]];
      os << v.name;
      if (v.type.dtype != DType::kUndefined || v.type.has_shape) os << ": " << v.type.to_string();
    }
    os << " = " << (n.domain.empty() ? "" : n.domain + ".") << n.op_type << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (i) os << ", ";
      if (n.inputs[i] == kNoValue) { os << "_"; continue; }
      const Value& v = values_[n.inputs[i]];
      os << v.name;
      if (v.constant) os << ":const" << shape_to_string(v.constant->shape());
    }
    os << ")";
    if (!n.name.empty()) os << "  # " << n.name;
    os << "\n";
  }
  for (ValueId out : outputs_) os << "  output " << values_[out].name << ": " << values_[out].type.to_string() << "\n";
  return os.str();
}

void Graph::remove_nodes(const std::vector<bool>& remove) {
  std::vector<Node> kept;
  kept.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (i >= remove.size() || !remove[i]) kept.push_back(std::move(nodes_[i]));
  nodes_ = std::move(kept);
  for (Value& v : values_) {
    v.producer = -1;
    v.consumers.clear();
  }
  for (size_t n = 0; n < nodes_.size(); ++n) {
    for (ValueId in : nodes_[n].inputs)
      if (in != kNoValue) values_[in].consumers.push_back(static_cast<NodeId>(n));
    for (ValueId out : nodes_[n].outputs)
      if (out != kNoValue) values_[out].producer = static_cast<NodeId>(n);
  }
  for (Value& v : values_)
    if (v.constant && v.consumers.empty() && !v.is_graph_output) v.constant.reset();
}

void Graph::set_constant(ValueId id, Tensor t) {
  Value& v = values_[id];
  v.type.dtype = t.dtype();
  v.type.has_shape = true;
  v.type.dims.clear();
  for (int64_t d : t.shape()) v.type.dims.push_back(Dim::of(d));
  v.constant = std::move(t);
}

}  // namespace sparsert
