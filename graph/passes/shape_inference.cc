#include "graph/passes/shape_inference.h"

#include "ops/registry.h"

namespace sparsert::passes {
namespace {

// Small integer constants (shape pieces, axes, Reshape targets) as values.
std::optional<DimValues> constant_values(const Tensor& t) {
  if ((t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32) || t.rank() > 1 || t.num_elements() > 64)
    return std::nullopt;
  DimValues v;
  for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(SymInt::of(t.element_as_int64(i)));
  return v;
}

bool same_type(const ValueType& a, const ValueType& b) {
  if (a.dtype != b.dtype || a.has_shape != b.has_shape || a.dims.size() != b.dims.size()) return false;
  for (size_t i = 0; i < a.dims.size(); ++i)
    if (a.dims[i].value != b.dims[i].value || a.dims[i].symbol != b.dims[i].symbol) return false;
  return true;
}

// The inferred type, refined by the declared one where inference knows less.
StatusOr<ValueType> merge(const ValueType& declared, const ValueType& inferred, const Value& v, const Node& node) {
  auto mismatch = [&]() {
    return InvalidArgument(node.describe(), ": output '", v.name, "' is inferred as ", inferred.to_string(),
                           " but the model declares ", declared.to_string());
  };
  ValueType out = inferred;
  if (declared.dtype != DType::kUndefined) {
    if (inferred.dtype != DType::kUndefined && inferred.dtype != declared.dtype) return mismatch();
    out.dtype = declared.dtype;
  }
  if (!declared.has_shape) return out;
  if (!inferred.has_shape) {
    out.has_shape = true;
    out.dims = declared.dims;
    return out;
  }
  if (declared.dims.size() != inferred.dims.size()) return mismatch();
  for (size_t i = 0; i < out.dims.size(); ++i) {
    const Dim &d = declared.dims[i], &n = inferred.dims[i];
    if (d.is_static() && n.is_static() && d.value != n.value) return mismatch();
    // A declared static size or name is better than an unnamed unknown.
    if (!n.is_static() && (d.is_static() || n.symbol.empty())) out.dims[i] = d;
  }
  return out;
}

}  // namespace

StatusOr<int> run_shape_inference(Graph& g, PassContext&) {
  const OpRegistry& registry = OpRegistry::global();
  SPARSERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.topological_order());
  std::vector<std::optional<DimValues>> values(g.num_values());
  for (size_t v = 0; v < g.num_values(); ++v)
    if (g.value(static_cast<ValueId>(v)).constant) values[v] = constant_values(*g.value(static_cast<ValueId>(v)).constant);
  int changed = 0;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    const OpSchema* schema = registry.find(n.domain, n.op_type);
    if (!schema || !schema->infer) continue;
    std::vector<std::optional<DimValues>> in_values;
    for (ValueId in : n.inputs) in_values.push_back(in == kNoValue ? std::nullopt : values[static_cast<size_t>(in)]);
    InferContext ctx(n, g, std::move(in_values));
    Status st = schema->infer(ctx);
    if (!st.ok()) return st.message().find(n.describe()) == std::string::npos ? st.with_context(n.describe()) : st;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const ValueId out = n.outputs[i];
      if (out == kNoValue) continue;
      Value& v = g.value(out);
      SPARSERT_ASSIGN_OR_RETURN(ValueType merged, merge(v.type, ctx.outputs()[i], v, n));
      if (!same_type(merged, v.type)) ++changed;
      v.type = std::move(merged);
      values[static_cast<size_t>(out)] = ctx.output_values()[i];
    }
  }
  return changed;
}

}  // namespace sparsert::passes
