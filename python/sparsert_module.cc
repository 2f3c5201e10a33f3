// _sparsert: the pybind11 core of `import sparsert` (python/sparsert/__init__.py
// wraps it in ONNX Runtime's API). Sessions run with the GIL released; numpy
// inputs are viewed, not copied, when C-contiguous and of a supported dtype;
// outputs hand their buffers to numpy (a capsule keeps the tensor alive).
// Errors raise the exception class of their Status code, carrying its message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/session.h"

namespace py = pybind11;

namespace sparsert {
namespace {

// One Python exception class per Status code (created in the module init).
std::map<StatusCode, py::object>& exception_types() {
  static auto* types = new std::map<StatusCode, py::object>();
  return *types;
}

[[noreturn]] void raise(const Status& s) {
  auto it = exception_types().find(s.code());
  PyErr_SetString(it != exception_types().end() ? it->second.ptr() : PyExc_RuntimeError, s.message().c_str());
  throw py::error_already_set();
}

template <typename T>
T value_or_raise(StatusOr<T> v) {
  if (!v.ok()) raise(v.status());
  return std::move(v).value();
}

// numpy dtype <-> DType for the types tensors can hold.
py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: return py::dtype::of<float>();
    case DType::kFloat64: return py::dtype::of<double>();
    case DType::kFloat16: return py::dtype("float16");
    case DType::kInt8: return py::dtype::of<int8_t>();
    case DType::kUInt8: return py::dtype::of<uint8_t>();
    case DType::kInt16: return py::dtype::of<int16_t>();
    case DType::kUInt16: return py::dtype::of<uint16_t>();
    case DType::kInt32: return py::dtype::of<int32_t>();
    case DType::kUInt32: return py::dtype::of<uint32_t>();
    case DType::kInt64: return py::dtype::of<int64_t>();
    case DType::kUInt64: return py::dtype::of<uint64_t>();
    case DType::kBool: return py::dtype::of<bool>();
    default: break;
  }
  raise(Unimplemented("tensors of type ", dtype_name(t), " have no numpy equivalent"));
}

DType dtype_of(const py::dtype& d) {
  for (DType t : {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kInt8, DType::kUInt8, DType::kInt16,
                  DType::kUInt16, DType::kInt32, DType::kUInt32, DType::kInt64, DType::kUInt64, DType::kBool})
    if (d.is(numpy_dtype(t)) || d.equal(numpy_dtype(t))) return t;
  return DType::kUndefined;
}

py::array to_numpy(Tensor t) {
  auto* owned = new Tensor(std::move(t));
  py::capsule keep(owned, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
  return py::array(numpy_dtype(owned->dtype()), shape, owned->raw_data(), keep);
}

// A model input as the session sees it: the array itself when C-contiguous,
// else a contiguous copy held in `keep`.
Tensor from_numpy(const std::string& name, py::array a, std::vector<py::array>& keep) {
  const DType t = dtype_of(a.dtype());
  if (t == DType::kUndefined)
    raise(InvalidArgument("input '", name, "': numpy dtype ", std::string(py::str(a.dtype())), " is not supported"));
  if (!(a.flags() & py::array::c_style)) a = py::array::ensure(a, py::array::c_style);
  keep.push_back(a);
  Shape shape(a.shape(), a.shape() + a.ndim());
  return Tensor::view(t, shape, a.mutable_data());
}

py::dict info_dict(const TensorInfo& info) {
  py::dict d;
  d["name"] = info.name;
  d["type"] = std::string(dtype_name(info.dtype));
  if (info.has_shape) {
    py::list shape;
    for (size_t i = 0; i < info.shape.size(); ++i) {
      if (info.shape[i] >= 0) shape.append(info.shape[i]);
      else if (!info.symbols[i].empty()) shape.append(info.symbols[i]);
      else shape.append(py::none());
    }
    d["shape"] = shape;
  } else {
    d["shape"] = py::none();
  }
  return d;
}

class PySession {
 public:
  PySession(const py::object& model, const SessionOptions& options) {
    if (py::isinstance<py::bytes>(model)) {
      const std::string bytes = model.cast<std::string>();
      session_ = value_or_raise(Session::CreateFromBytes(bytes.data(), bytes.size(), options));
    } else {
      const std::string path = py::str(model);
      session_ = value_or_raise(Session::Create(path, options));
    }
  }

  py::list inputs() const { return infos(session_->inputs()); }
  py::list outputs() const { return infos(session_->outputs()); }

  py::list run(const std::vector<std::string>& output_names, const py::dict& feed) const {
    std::vector<py::array> keep;
    std::vector<NamedTensor> inputs;
    for (const auto& [key, value] : feed) {
      const std::string name = py::str(key);
      inputs.push_back({name, from_numpy(name, py::array::ensure(value), keep)});
      if (!inputs.back().tensor.raw_data() && inputs.back().tensor.num_elements() > 0)
        raise(InvalidArgument("input '", name, "' is not an array"));
    }
    std::optional<StatusOr<std::vector<NamedTensor>>> out;
    {
      py::gil_scoped_release release;
      out.emplace(session_->Run(inputs, output_names));
    }
    py::list result;
    for (NamedTensor& t : value_or_raise(std::move(*out))) result.append(to_numpy(std::move(t.tensor)));
    return result;
  }

  std::string end_profiling() { return session_->EndProfiling(); }
  std::string kernel_summary() const { return session_->kernel_summary(); }
  bool shares_compiled_plan_with(const PySession& other) const {
    return session_->SharesCompiledPlanWith(*other.session_);
  }
  std::string isa() const { return session_->isa(); }

 private:
  static py::list infos(const std::vector<TensorInfo>& v) {
    py::list l;
    for (const TensorInfo& i : v) l.append(info_dict(i));
    return l;
  }
  std::unique_ptr<Session> session_;
};

}  // namespace
}  // namespace sparsert

PYBIND11_MODULE(_sparsert, m) {
  using namespace sparsert;
  m.doc() = "sparsert core (use `import sparsert`)";
  py::object base = py::module_::import("builtins").attr("RuntimeError");
  const std::pair<StatusCode, const char*> kinds[] = {
      {StatusCode::kInvalidArgument, "InvalidArgument"}, {StatusCode::kNotFound, "NotFound"},
      {StatusCode::kUnimplemented, "NotImplemented"},    {StatusCode::kFailedPrecondition, "FailedPrecondition"},
      {StatusCode::kOutOfRange, "OutOfRange"},           {StatusCode::kResourceExhausted, "ResourceExhausted"},
      {StatusCode::kDataLoss, "DataLoss"},               {StatusCode::kInternal, "InternalError"}};
  py::object error = py::reinterpret_steal<py::object>(PyErr_NewException("sparsert.Error", base.ptr(), nullptr));
  m.attr("Error") = error;
  for (const auto& [code, name] : kinds) {
    py::object cls = py::reinterpret_steal<py::object>(
        PyErr_NewException((std::string("sparsert.") + name).c_str(), error.ptr(), nullptr));
    m.attr(name) = cls;
    exception_types()[code] = cls;
  }

  py::class_<SessionOptions>(m, "SessionOptions")
      .def(py::init<>())
      .def_readwrite("threads", &SessionOptions::threads)
      .def_readwrite("isa", &SessionOptions::isa)
      .def_readwrite("optimization_level", &SessionOptions::optimization_level)
      .def_readwrite("disabled_passes", &SessionOptions::disabled_passes)
      .def_readwrite("disabled_kernels", &SessionOptions::disabled_kernels)
      .def_readwrite("profile_file", &SessionOptions::profile_file)
      .def_readwrite("sparse_kernels", &SessionOptions::sparse_kernels)
      .def_readwrite("sparsity_threshold", &SessionOptions::sparsity_threshold)
      .def_readwrite("quantize", &SessionOptions::quantize)
      .def_readwrite("enable_mem_pattern", &SessionOptions::enable_mem_pattern)
      .def_readwrite("share_compiled_plan", &SessionOptions::share_compiled_plan);

  py::class_<PySession>(m, "Session")
      .def(py::init<const py::object&, const SessionOptions&>(), py::arg("model"), py::arg("options"))
      .def("inputs", &PySession::inputs)
      .def("outputs", &PySession::outputs)
      .def("run", &PySession::run, py::arg("output_names"), py::arg("feed"))
      .def("end_profiling", &PySession::end_profiling)
      .def("kernel_summary", &PySession::kernel_summary)
      .def("shares_compiled_plan_with", &PySession::shares_compiled_plan_with)
      .def("isa", &PySession::isa);
  m.def("supported_ops", &supported_ops);
}
