#include "graph/onnx_import.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>

#include "graph/onnx_opset_upgrade.h"

namespace sparsert {
namespace {

namespace fs = std::filesystem;

// A read-only mapping of a whole external-data file, shared by every tensor in it.
struct MappedFile {
  void* base = MAP_FAILED;
  size_t size = 0;
  ~MappedFile() {
    if (base != MAP_FAILED && size) munmap(base, size);
  }
};

struct ImportContext {
  std::string model_dir;  // empty: model came from bytes without a directory
  std::map<std::string, std::shared_ptr<MappedFile>> mapped;
};

// Maps a whole regular file read-only; `what` names it in errors.
StatusOr<std::shared_ptr<MappedFile>> map_file(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(what, " '", path, "' cannot be opened: ", std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(what, " '", path, "' is not a regular file");
  }
  auto mf = std::make_shared<MappedFile>();
  mf->size = static_cast<size_t>(st.st_size);
  if (mf->size) mf->base = ::mmap(nullptr, mf->size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mf->size && mf->base == MAP_FAILED) return ResourceExhausted("cannot mmap ", what, " '", path, "': ", std::strerror(errno));
  return mf;
}

StatusOr<std::shared_ptr<MappedFile>> map_external_file(ImportContext& ctx, const std::string& location) {
  if (ctx.model_dir.empty())
    return InvalidArgument("tensor data is in external file '", location,
                           "' but the model was loaded from bytes without a model directory");
  fs::path rel(location);
  if (rel.is_absolute())
    return InvalidArgument("external data location '", location, "' is absolute; it must be relative to the model's directory");
  for (const auto& part : rel)
    if (part == "..")
      return InvalidArgument("external data location '", location, "' leaves the model's directory");
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(fs::path(ctx.model_dir), ec);
  fs::path full = fs::weakly_canonical(dir / rel, ec);
  if (ec) return NotFound("external data file '", location, "': ", ec.message());
  // Symlinks can still point outside: compare the resolved path to the directory.
  auto [dir_end, _] = std::mismatch(dir.begin(), dir.end(), full.begin(), full.end());
  if (dir_end != dir.end())
    return InvalidArgument("external data location '", location, "' resolves outside the model's directory");
  auto it = ctx.mapped.find(full.string());
  if (it != ctx.mapped.end()) return it->second;
  SPARSERT_ASSIGN_OR_RETURN(auto mf, map_file(full.string(), "external data file"));
  ctx.mapped[full.string()] = mf;
  return mf;
}

template <typename Src, typename Dst>
void copy_converted(const Src& src, Dst* dst) {
  for (int i = 0; i < src.size(); ++i) dst[i] = static_cast<Dst>(src.Get(i));
}

StatusOr<Tensor> tensor_from_proto(onnx::TensorProto& tp, ImportContext& ctx) {
  const std::string what = "tensor '" + tp.name() + "'";
  DType dt = dtype_from_onnx(tp.data_type());
  if (dt == DType::kUndefined) return Unimplemented(what, ": unsupported ONNX data type ", tp.data_type());
  if (dt == DType::kString) return Unimplemented(what, ": string tensors are not supported");
  if (tp.has_segment()) return Unimplemented(what, ": segmented tensors are not supported");
  Shape shape(tp.dims().begin(), tp.dims().end());
  auto count_or = checked_num_elements(shape);
  if (!count_or.ok()) return count_or.status().with_context(what);
  const int64_t count = *count_or;
  const size_t bytes = dtype_storage_bytes(dt, static_cast<size_t>(count));

  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::atoll(kv.value().c_str());
      else if (kv.key() == "length") length = std::atoll(kv.value().c_str());
    }
    if (location.empty()) return InvalidArgument(what, ": external data has no location");
    auto mf_or = map_external_file(ctx, location);
    if (!mf_or.ok()) return mf_or.status().with_context(what);
    std::shared_ptr<MappedFile> mf = *mf_or;
    if (length < 0) length = static_cast<int64_t>(bytes);
    if (offset < 0 || static_cast<size_t>(length) != bytes || static_cast<size_t>(offset) + bytes > mf->size)
      return InvalidArgument(what, ": external data range offset=", offset, " length=", length, " does not fit ",
                             dtype_name(dt), shape_to_string(shape), " (", bytes, " bytes) in '", location,
                             "' of ", mf->size, " bytes");
    char* p = static_cast<char*>(mf->base) + offset;
    if (reinterpret_cast<uintptr_t>(p) % 64 == 0)
      return Tensor::view(dt, shape, p, std::shared_ptr<void>(mf, p));
    // Unaligned data would be a misaligned load in every kernel: copy once instead.
    SPARSERT_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dt, shape));
    std::memcpy(t.raw_data(), p, bytes);
    return t;
  }

  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != bytes)
      return InvalidArgument(what, ": raw_data has ", tp.raw_data().size(), " bytes, expected ", bytes, " for ",
                             dtype_name(dt), shape_to_string(shape));
    std::string raw = std::move(*tp.mutable_raw_data());
    if (reinterpret_cast<uintptr_t>(raw.data()) % 16 == 0) return Tensor::from_bytes(dt, shape, std::move(raw));
    SPARSERT_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dt, shape));
    std::memcpy(t.raw_data(), raw.data(), bytes);
    return t;
  }

  SPARSERT_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dt, shape));
  auto mismatch = [&](int64_t got) {
    return InvalidArgument(what, ": has ", got, " typed values, expected ", count, " for ", shape_to_string(shape));
  };
  switch (dt) {
    case DType::kFloat32:
      if (tp.float_data_size() != count) return mismatch(tp.float_data_size());
      copy_converted(tp.float_data(), t.data<float>());
      break;
    case DType::kFloat64:
      if (tp.double_data_size() != count) return mismatch(tp.double_data_size());
      copy_converted(tp.double_data(), t.data<double>());
      break;
    case DType::kInt64:
      if (tp.int64_data_size() != count) return mismatch(tp.int64_data_size());
      copy_converted(tp.int64_data(), t.data<int64_t>());
      break;
    case DType::kUInt32:
      if (tp.uint64_data_size() != count) return mismatch(tp.uint64_data_size());
      copy_converted(tp.uint64_data(), t.data<uint32_t>());
      break;
    case DType::kUInt64:
      if (tp.uint64_data_size() != count) return mismatch(tp.uint64_data_size());
      copy_converted(tp.uint64_data(), t.data<uint64_t>());
      break;
    case DType::kInt32: if (tp.int32_data_size() != count) return mismatch(tp.int32_data_size());
      copy_converted(tp.int32_data(), t.data<int32_t>()); break;
    case DType::kInt16: if (tp.int32_data_size() != count) return mismatch(tp.int32_data_size());
      copy_converted(tp.int32_data(), t.data<int16_t>()); break;
    case DType::kUInt16:
    case DType::kFloat16:
    case DType::kBFloat16:  // 16-bit floats are stored as their bit patterns in int32_data
      if (tp.int32_data_size() != count) return mismatch(tp.int32_data_size());
      copy_converted(tp.int32_data(), t.data<uint16_t>()); break;
    case DType::kInt8: if (tp.int32_data_size() != count) return mismatch(tp.int32_data_size());
      copy_converted(tp.int32_data(), t.data<int8_t>()); break;
    case DType::kUInt8: if (tp.int32_data_size() != count) return mismatch(tp.int32_data_size());
      copy_converted(tp.int32_data(), t.data<uint8_t>()); break;
    case DType::kBool: if (tp.int32_data_size() != count) return mismatch(tp.int32_data_size());
      for (int64_t i = 0; i < count; ++i) t.data<bool>()[i] = tp.int32_data(static_cast<int>(i)) != 0;
      break;
    case DType::kInt4:
    case DType::kUInt4: {
      // int32_data holds the packed bytes, one per int32.
      int64_t packed = static_cast<int64_t>(bytes);
      if (tp.int32_data_size() != packed) return mismatch(tp.int32_data_size());
      copy_converted(tp.int32_data(), t.data<uint8_t>());
      break;
    }
    default:
      return Unimplemented(what, ": data type ", dtype_name(dt), " in typed fields");
  }
  return t;
}

ValueType value_type_from_proto(const onnx::ValueInfoProto& vi) {
  ValueType vt;
  if (!vi.has_type() || !vi.type().has_tensor_type()) return vt;
  const auto& tt = vi.type().tensor_type();
  vt.dtype = dtype_from_onnx(tt.elem_type());
  if (tt.has_shape()) {
    vt.has_shape = true;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value() && d.dim_value() >= 0) vt.dims.push_back(Dim::of(d.dim_value()));
      else vt.dims.push_back(Dim::sym(d.has_dim_param() ? d.dim_param() : ""));
    }
  }
  return vt;
}

StatusOr<AttributeValue> attribute_from_proto(onnx::AttributeProto& ap, ImportContext& ctx) {
  switch (ap.type()) {
    case onnx::AttributeProto::INT: return AttributeValue(static_cast<int64_t>(ap.i()));
    case onnx::AttributeProto::FLOAT: return AttributeValue(ap.f());
    case onnx::AttributeProto::STRING: return AttributeValue(ap.s());
    case onnx::AttributeProto::INTS: return AttributeValue(std::vector<int64_t>(ap.ints().begin(), ap.ints().end()));
    case onnx::AttributeProto::FLOATS: return AttributeValue(std::vector<float>(ap.floats().begin(), ap.floats().end()));
    case onnx::AttributeProto::STRINGS:
      return AttributeValue(std::vector<std::string>(ap.strings().begin(), ap.strings().end()));
    case onnx::AttributeProto::TENSOR: {
      SPARSERT_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(*ap.mutable_t(), ctx));
      return AttributeValue(std::move(t));
    }
    case onnx::AttributeProto::GRAPH:
    case onnx::AttributeProto::GRAPHS:
      return Unimplemented("attribute '", ap.name(), "' is a subgraph; control flow (If/Loop/Scan) is not supported yet");
    default:
      return Unimplemented("attribute '", ap.name(), "' has unsupported attribute type ", static_cast<int>(ap.type()));
  }
}

// Constant node -> constant value.
StatusOr<Tensor> constant_node_value(const Node& n) {
  const AttributeMap& a = n.attrs;
  if (a.has("value")) return a.get_tensor("value");
  if (a.has("value_float")) {
    SPARSERT_ASSIGN_OR_RETURN(float f, a.get_float("value_float"));
    return Tensor::scalar<float>(f);
  }
  if (a.has("value_int")) {
    SPARSERT_ASSIGN_OR_RETURN(int64_t i, a.get_int("value_int"));
    return Tensor::scalar<int64_t>(i);
  }
  if (a.has("value_floats")) {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<float> v, a.get_floats("value_floats"));
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (a.has("value_ints")) {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> v, a.get_ints("value_ints"));
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  return Unimplemented("Constant has no supported value attribute (value, value_float(s), value_int(s))");
}

StatusOr<Graph> convert_model(onnx::ModelProto& model, ImportContext& ctx) {
  Graph g;
  onnx::GraphProto& gp = *model.mutable_graph();
  g.name = gp.name();
  for (const auto& os : model.opset_import()) {
    std::string domain = os.domain() == "ai.onnx" ? "" : os.domain();
    g.opsets[domain] = static_cast<int>(os.version());
  }
  if (!g.opsets.count("")) {
    if (model.opset_import_size() == 0) g.opsets[""] = 1;  // IR < 3 models: opset 1 implied
  }
  // Initializers first: older exporters also list them as graph inputs.
  for (auto& init : *gp.mutable_initializer()) {
    if (init.name().empty()) return InvalidArgument("an initializer has no name");
    auto t = tensor_from_proto(init, ctx);
    if (!t.ok()) return t.status().with_context("initializer '" + init.name() + "'");
    g.add_constant(init.name(), std::move(t).value());
  }
  if (gp.sparse_initializer_size() > 0)
    return Unimplemented("sparse_initializer is not supported yet (", gp.sparse_initializer_size(), " found)");
  for (const auto& in : gp.input()) {
    ValueId id = g.find_value(in.name());
    if (id != kNoValue && g.value(id).constant) continue;  // initializer listed as input
    id = g.add_value(in.name(), value_type_from_proto(in));
    g.value(id).is_graph_input = true;
    g.inputs().push_back(id);
  }
  for (const auto& vi : gp.value_info()) {
    ValueId id = g.add_value(vi.name());
    if (!g.value(id).constant) g.value(id).type = value_type_from_proto(vi);
  }
  for (int ni = 0; ni < gp.node_size(); ++ni) {
    onnx::NodeProto& np = *gp.mutable_node(ni);
    Node n;
    n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(ni) : np.name();
    n.op_type = np.op_type();
    n.domain = (np.domain() == "ai.onnx") ? "" : np.domain();
    auto os = g.opsets.find(n.domain);
    n.opset = os == g.opsets.end() ? 1 : os->second;
    for (auto& ap : *np.mutable_attribute()) {
      auto v = attribute_from_proto(ap, ctx);
      if (!v.ok()) return v.status().with_context(n.describe());
      n.attrs.set(ap.name(), std::move(v).value());
    }
    if (n.op_type == "Constant" && n.domain.empty()) {
      if (np.output_size() != 1) return InvalidArgument(n.describe(), ": Constant must have exactly one output");
      auto t = constant_node_value(n);
      if (!t.ok()) return t.status().with_context(n.describe());
      ValueId id = g.find_value(np.output(0));
      if (id != kNoValue && (g.value(id).producer >= 0 || g.value(id).constant))
        return InvalidArgument(n.describe(), ": output '", np.output(0), "' is produced twice");
      g.add_constant(np.output(0), std::move(t).value());
      continue;
    }
    for (const auto& in : np.input()) {
      if (in.empty()) { n.inputs.push_back(kNoValue); continue; }
      n.inputs.push_back(g.add_value(in));
    }
    for (const auto& out : np.output()) {
      if (out.empty()) { n.outputs.push_back(kNoValue); continue; }
      ValueId id = g.add_value(out);
      const Value& v = g.value(id);
      if (v.producer >= 0 || v.constant || v.is_graph_input)
        return InvalidArgument(n.describe(), ": output '", out, "' is already produced elsewhere (SSA violated)");
      n.outputs.push_back(id);
    }
    NodeId id = g.add_node(std::move(n));
    SPARSERT_RETURN_IF_ERROR(upgrade_attributes_to_inputs(g, id));
  }
  for (const auto& out : gp.output()) {
    ValueId id = g.find_value(out.name());
    if (id == kNoValue) return InvalidArgument("graph output '", out.name(), "' is not produced by any node");
    Value& v = g.value(id);
    if (!v.constant) {
      ValueType declared = value_type_from_proto(out);
      if (declared.dtype != DType::kUndefined) v.type = declared;
    }
    v.is_graph_output = true;
    g.outputs().push_back(id);
  }
  SPARSERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  (void)order;
  return g;
}

StatusOr<Graph> parse_and_convert(const void* data, size_t size, ImportContext& ctx) {
  if (size > static_cast<size_t>(INT32_MAX))
    return Unimplemented("model protobuf is ", size, " bytes; protobuf allows at most 2 GiB (use external data)");
  onnx::ModelProto model;
  google::protobuf::io::CodedInputStream stream(static_cast<const uint8_t*>(data), static_cast<int>(size));
  stream.SetTotalBytesLimit(INT32_MAX);
  if (!model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    return DataLoss("not a valid ONNX model (protobuf parse failed: truncated or corrupt)");
  if (!model.has_graph()) return InvalidArgument("ONNX model has no graph");
  return convert_model(model, ctx);
}

}  // namespace

StatusOr<Graph> import_onnx_file(const std::string& path, std::vector<std::string>* external_files) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("model file '", path, "' does not exist");
  if (!fs::is_regular_file(path, ec)) return InvalidArgument("model path '", path, "' is not a regular file");
  // Parsed straight from a read-only mapping: no copy of the file in memory.
  auto mf = map_file(path, "model file");
  if (!mf.ok()) return mf.status();
  const void* bytes = (*mf)->size ? (*mf)->base : "";
  ImportContext ctx;
  ctx.model_dir = fs::absolute(fs::path(path), ec).parent_path().string();
  auto g = parse_and_convert(bytes, (*mf)->size, ctx);
  if (!g.ok()) return g.status().with_context("model '" + path + "'");
  if (external_files)
    for (const auto& [file, mapped] : ctx.mapped) external_files->push_back(file);
  return g;
}

StatusOr<Graph> import_onnx_bytes(const void* data, size_t size, const std::string& model_dir,
                                  std::vector<std::string>* external_files) {
  ImportContext ctx;
  ctx.model_dir = model_dir;
  auto g = parse_and_convert(data, size, ctx);
  if (g.ok() && external_files)
    for (const auto& [file, mapped] : ctx.mapped) external_files->push_back(file);
  return g;
}

}  // namespace sparsert
