// Status and StatusOr<T>: how every module reports errors across its boundary.
// Exceptions are used only at the Python/CLI edge, where a Status becomes a message.
#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace sparsert {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong (model, tensor, option)
  kNotFound,           // a named thing (file, input, initializer) does not exist
  kUnimplemented,      // valid input we do not support (op, dtype, opset)
  kFailedPrecondition, // called in the wrong state
  kOutOfRange,         // index/size outside what is valid
  kResourceExhausted,  // allocation refused (too large or out of memory)
  kDataLoss,           // truncated or corrupt file
  kInternal,           // a bug in sparsert
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>"
  std::string to_string() const;
  // Returns a copy whose message is "<context>: <message>", for adding where an error happened.
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

#define SPARSERT_DEFINE_STATUS_FACTORY(Name)                     \
  template <typename... Args>                                   \
  Status Name(const Args&... args) {                            \
    return Status(StatusCode::k##Name, str_cat(args...));       \
  }
SPARSERT_DEFINE_STATUS_FACTORY(InvalidArgument)
SPARSERT_DEFINE_STATUS_FACTORY(NotFound)
SPARSERT_DEFINE_STATUS_FACTORY(Unimplemented)
SPARSERT_DEFINE_STATUS_FACTORY(FailedPrecondition)
SPARSERT_DEFINE_STATUS_FACTORY(OutOfRange)
SPARSERT_DEFINE_STATUS_FACTORY(ResourceExhausted)
SPARSERT_DEFINE_STATUS_FACTORY(DataLoss)
SPARSERT_DEFINE_STATUS_FACTORY(Internal)
#undef SPARSERT_DEFINE_STATUS_FACTORY

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : v_(status) {  // NOLINT: implicit like absl::StatusOr
    if (status.ok()) v_ = Status(StatusCode::kInternal, "StatusOr constructed from OK status");
  }
  StatusOr(Status&& status) : StatusOr(static_cast<const Status&>(status)) {}  // NOLINT
  StatusOr(const T& value) : v_(value) {}                                      // NOLINT
  StatusOr(T&& value) : v_(std::move(value)) {}                                 // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  // A reference, so `const std::string& m = x.status().message();` never dangles.
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

#define SPARSERT_CONCAT_INNER(a, b) a##b
#define SPARSERT_CONCAT(a, b) SPARSERT_CONCAT_INNER(a, b)

#define SPARSERT_RETURN_IF_ERROR(expr)              \
  do {                                              \
    ::sparsert::Status _st = (expr);                \
    if (!_st.ok()) return _st;                      \
  } while (0)

#define SPARSERT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

#define SPARSERT_ASSIGN_OR_RETURN(lhs, expr) \
  SPARSERT_ASSIGN_OR_RETURN_IMPL(SPARSERT_CONCAT(_status_or_, __LINE__), lhs, expr)

}  // namespace sparsert
