// Binary element-wise ops with numpy broadcasting: arithmetic (Add Sub Mul Div
// Pow Mod Max Min), comparison (Equal Less Greater ...), logical (And Or Xor), and Where.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

enum class BinOp { kAdd, kSub, kMul, kDiv, kPow, kMod, kMax, kMin };
enum class CmpOp { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual };
enum class LogicOp { kAnd, kOr, kXor };

template <typename T>
T apply(BinOp op, T a, T b, bool fmod) {
  switch (op) {
    case BinOp::kAdd: return static_cast<T>(a + b);
    case BinOp::kSub: return static_cast<T>(a - b);
    case BinOp::kMul: return static_cast<T>(a * b);
    case BinOp::kDiv:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T(0) : static_cast<T>(a / b);
      else return a / b;
    case BinOp::kPow: return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    case BinOp::kMod:
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) return T(0);
        if (fmod) return static_cast<T>(a % b);
        T r = static_cast<T>(a % b);  // Python-style: sign follows the divisor
        if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
        return r;
      } else {
        return static_cast<T>(std::fmod(a, b));
      }
    case BinOp::kMax: return a > b ? a : b;
    case BinOp::kMin: return a < b ? a : b;
  }
  return T(0);
}

template <typename T>
bool compare(CmpOp op, T a, T b) {
  switch (op) {
    case CmpOp::kEqual: return a == b;
    case CmpOp::kLess: return a < b;
    case CmpOp::kGreater: return a > b;
    case CmpOp::kLessOrEqual: return a <= b;
    case CmpOp::kGreaterOrEqual: return a >= b;
  }
  return false;
}

// How one operand is laid against the output, for contiguous fast loops.
struct Layout {
  enum Kind { kFull, kScalar, kRepeatRows, kPerRow, kOther } kind = kOther;
  int64_t inner = 1;  // kRepeatRows: the operand is a row of `inner` elements repeated;
                      // kPerRow: one operand value per run of `inner` output elements
};

Layout layout_of(const Shape& in, const Shape& out) {
  int64_t n_in = 1, n_out = 1;
  for (int64_t d : in) n_in *= d;
  for (int64_t d : out) n_out *= d;
  if (in == out || n_in == n_out) return {Layout::kFull, 1};
  if (n_in == 1) return {Layout::kScalar, 1};
  // Right-align `in` against `out`; find its non-1 span.
  const size_t off = out.size() - in.size();
  size_t first = out.size(), last = 0;
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != 1) { first = std::min(first, i + off); last = i + off; }
  for (size_t d = first; d <= last; ++d)
    if (in[d - off] != out[d]) return {Layout::kOther, 1};  // a broadcast dim inside the span
  int64_t after = 1;
  for (size_t d = last + 1; d < out.size(); ++d) after *= out[d];
  if (after == 1) return {Layout::kRepeatRows, n_in};  // e.g. bias [N] against [B,S,N]
  bool before_is_one = true;
  for (size_t d = 0; d < first; ++d) before_is_one = before_is_one && out[d] == 1;
  if (before_is_one) return {Layout::kPerRow, after};  // e.g. [B,S,1] against [B,S,D]
  return {Layout::kOther, 1};
}

// One block of output rows of width w for the fast layouts, noexcept and free
// of Status handling so the loops vectorize. Pointers are already offset to the
// block's first row; n = rows * w.
template <typename TA, typename TOut, typename F>
void binary_block(Layout::Kind ka, Layout::Kind kb, const TA* __restrict pa, const TA* __restrict pb,
                  TOut* __restrict po, int64_t n, int64_t w, F f) noexcept {
  using L = Layout;
  if (ka == L::kFull && kb == L::kFull) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
  } else if (ka == L::kFull && kb == L::kScalar) {
    const TA y = pb[0];
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], y);
  } else if (ka == L::kScalar && kb == L::kFull) {
    const TA x = pa[0];
    for (int64_t i = 0; i < n; ++i) po[i] = f(x, pb[i]);
  } else if (ka == L::kFull && kb == L::kRepeatRows) {
    for (int64_t r = 0; r < n; r += w)
      for (int64_t j = 0; j < w; ++j) po[r + j] = f(pa[r + j], pb[j]);
  } else if (ka == L::kRepeatRows && kb == L::kFull) {
    for (int64_t r = 0; r < n; r += w)
      for (int64_t j = 0; j < w; ++j) po[r + j] = f(pa[j], pb[r + j]);
  } else if (ka == L::kFull && kb == L::kPerRow) {
    for (int64_t r = 0; r < n / w; ++r) {
      const TA y = pb[r];
      for (int64_t j = 0; j < w; ++j) po[r * w + j] = f(pa[r * w + j], y);
    }
  } else if (ka == L::kPerRow && kb == L::kFull) {
    for (int64_t r = 0; r < n / w; ++r) {
      const TA x = pa[r];
      for (int64_t j = 0; j < w; ++j) po[r * w + j] = f(x, pb[r * w + j]);
    }
  }
}

// Offset of a block starting at output row r (width w) into an operand of this layout.
inline int64_t block_offset(const Layout& l, int64_t r, int64_t w) {
  switch (l.kind) {
    case Layout::kFull: return r * w;
    case Layout::kPerRow: return r;
    default: return 0;  // scalar, repeated row
  }
}

// Runs out[i] = f(a[ia], b[ib]) over the broadcast of a and b. Common layouts get
// contiguous loops the compiler vectorizes; the general index walk is the twin
// every layout is checked against (tests/models/op_graphs.py: broadcast_layouts, vs ORT).
template <typename TA, typename TOut, typename F>
Status broadcast_binary(KernelContext& ctx, DType out_type, F&& f) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  auto shape = broadcast_shapes(a.shape(), b.shape());
  if (!shape.ok()) return shape.status().with_context(ctx.node().describe());
  SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, out_type, *shape, OutputInit::kOverwritten));
  const TA* pa = a.data<TA>();
  const TA* pb = b.data<TA>();
  TOut* po = out->data<TOut>();
  const int64_t n = out->num_elements();
  if (n == 0) return Status::OK();
  const Layout la = layout_of(a.shape(), *shape), lb = layout_of(b.shape(), *shape);
  using L = Layout;
  const bool fast = (la.kind == L::kFull && lb.kind != L::kOther) || (lb.kind == L::kFull && la.kind != L::kOther);
  if (!fast) {
    std::vector<std::vector<int64_t>> strides = {broadcast_strides(a.shape(), *shape),
                                                 broadcast_strides(b.shape(), *shape)};
    for_each_broadcast(*shape, strides, [&](int64_t i, const std::vector<int64_t>& off) {
      po[i] = f(pa[off[0]], pb[off[1]]);
    });
    return Status::OK();
  }
  // Rows of width w: the repeated row or per-row span; blocks never split a row.
  int64_t w = 1;
  if (la.kind == L::kRepeatRows || la.kind == L::kPerRow) w = la.inner;
  if (lb.kind == L::kRepeatRows || lb.kind == L::kPerRow) w = lb.inner;
  parallel_for(n / w, std::max<int64_t>(1, 32768 / w), [&](int64_t r0, int64_t r1) {
    binary_block<TA, TOut>(la.kind, lb.kind, pa + block_offset(la, r0, w), pb + block_offset(lb, r0, w), po + r0 * w,
                           (r1 - r0) * w, w, f);
  });
  return Status::OK();
}

Status check_same_types(const KernelContext& ctx) {
  if (ctx.input(0)->dtype() != ctx.input(1)->dtype())
    return InvalidArgument(ctx.node().describe(), ": input types differ (", dtype_name(ctx.input(0)->dtype()),
                           " vs ", dtype_name(ctx.input(1)->dtype()), ")");
  return Status::OK();
}

KernelFn arithmetic_kernel(BinOp op) {
  return [op](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    if (op == BinOp::kPow && a.dtype() != ctx.input(1)->dtype()) {
      // Pow allows a different exponent type (e.g. float base, int exponent): compute in double.
      if (a.dtype() != DType::kFloat32) return Unimplemented(ctx.node().describe(), ": Pow with mixed types");
      const Tensor& b = *ctx.input(1);
      SPARSERT_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(a.shape(), b.shape()));
      SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kFloat32, shape, OutputInit::kOverwritten));
      std::vector<std::vector<int64_t>> st = {broadcast_strides(a.shape(), shape), broadcast_strides(b.shape(), shape)};
      float* po = out->data<float>();
      for_each_broadcast(shape, st, [&](int64_t i, const std::vector<int64_t>& off) {
        po[i] = static_cast<float>(std::pow(a.data<float>()[off[0]], b.element_as_double(off[1])));
      });
      return Status::OK();
    }
    SPARSERT_RETURN_IF_ERROR(check_same_types(ctx));
    SPARSERT_ASSIGN_OR_RETURN(int64_t fmod, ctx.attrs().get_int("fmod", 0));
    return dispatch_numeric(a.dtype(), ctx.node(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, bool>) {
        return Unimplemented(ctx.node().describe(), ": arithmetic on bool");
      } else {
        // One instantiation per op keeps the switch out of the element loop.
        switch (op) {
          case BinOp::kAdd: return broadcast_binary<T, T>(ctx, a.dtype(), [](T x, T y) { return apply<T>(BinOp::kAdd, x, y, false); });
          case BinOp::kSub: return broadcast_binary<T, T>(ctx, a.dtype(), [](T x, T y) { return apply<T>(BinOp::kSub, x, y, false); });
          case BinOp::kMul: return broadcast_binary<T, T>(ctx, a.dtype(), [](T x, T y) { return apply<T>(BinOp::kMul, x, y, false); });
          case BinOp::kDiv: return broadcast_binary<T, T>(ctx, a.dtype(), [](T x, T y) { return apply<T>(BinOp::kDiv, x, y, false); });
          default:
            return broadcast_binary<T, T>(ctx, a.dtype(), [op, fmod](T x, T y) { return apply<T>(op, x, y, fmod != 0); });
        }
      }
    });
  };
}

KernelFn compare_kernel(CmpOp op) {
  return [op](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(check_same_types(ctx));
    return dispatch_numeric(ctx.input(0)->dtype(), ctx.node(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      return broadcast_binary<T, bool>(ctx, DType::kBool, [op](T x, T y) { return compare<T>(op, x, y); });
    });
  };
}

KernelFn logic_kernel(LogicOp op) {
  return [op](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kBool}));
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kBool}));
    return broadcast_binary<bool, bool>(ctx, DType::kBool, [op](bool x, bool y) {
      return op == LogicOp::kAnd ? (x && y) : op == LogicOp::kOr ? (x || y) : (x != y);
    });
  };
}

// Max/Min are variadic in ONNX: fold pairwise.
KernelFn variadic_kernel(BinOp op) {
  KernelFn pair = arithmetic_kernel(op);
  return [pair](KernelContext& ctx) -> Status {
    if (ctx.num_inputs() == 1) return ctx.set_output(0, *ctx.input(0));
    std::vector<Tensor> acc(1);
    Tensor cur = *ctx.input(0);
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      KernelContext step(ctx.node(), {&cur, ctx.input(i)}, &acc);
      SPARSERT_RETURN_IF_ERROR(pair(step));
      cur = acc[0];
    }
    return ctx.set_output(0, cur);
  };
}

Status where_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kBool}));
  const Tensor& c = *ctx.input(0);
  const Tensor& x = *ctx.input(1);
  const Tensor& y = *ctx.input(2);
  if (x.dtype() != y.dtype())
    return InvalidArgument(ctx.node().describe(), ": X and Y types differ (", dtype_name(x.dtype()), " vs ",
                           dtype_name(y.dtype()), ")");
  SPARSERT_ASSIGN_OR_RETURN(Shape s1, broadcast_shapes(c.shape(), x.shape()));
  auto shape = broadcast_shapes(s1, y.shape());
  if (!shape.ok()) return shape.status().with_context(ctx.node().describe());
  SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), *shape, OutputInit::kOverwritten));
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    std::vector<std::vector<int64_t>> st = {broadcast_strides(c.shape(), *shape), broadcast_strides(x.shape(), *shape),
                                            broadcast_strides(y.shape(), *shape)};
    const bool* pc = c.data<bool>();
    const char* px = static_cast<const char*>(x.raw_data());
    const char* py = static_cast<const char*>(y.raw_data());
    char* po = static_cast<char*>(out->raw_data());
    for_each_broadcast(*shape, st, [&](int64_t i, const std::vector<int64_t>& off) {
      std::memcpy(po + i * es, pc[off[0]] ? px + off[1] * es : py + off[2] * es, es);
    });
    return Status::OK();
  });
}

}  // namespace

void register_elementwise_binary_ops(OpRegistry& r) {
  const std::pair<const char*, BinOp> arith[] = {{"Add", BinOp::kAdd}, {"Sub", BinOp::kSub}, {"Mul", BinOp::kMul},
                                                 {"Div", BinOp::kDiv}, {"Pow", BinOp::kPow}, {"Mod", BinOp::kMod}};
  for (auto [name, op] : arith) r.add({"", name, 2, 2, 1, 1, arithmetic_kernel(op)});
  r.add({"", "Max", 1, 1 << 20, 1, 1, variadic_kernel(BinOp::kMax)});
  r.add({"", "Min", 1, 1 << 20, 1, 1, variadic_kernel(BinOp::kMin)});
  const std::pair<const char*, CmpOp> cmp[] = {{"Equal", CmpOp::kEqual},
                                               {"Less", CmpOp::kLess},
                                               {"Greater", CmpOp::kGreater},
                                               {"LessOrEqual", CmpOp::kLessOrEqual},
                                               {"GreaterOrEqual", CmpOp::kGreaterOrEqual}};
  for (auto [name, op] : cmp) r.add({"", name, 2, 2, 1, 1, compare_kernel(op)});
  const std::pair<const char*, LogicOp> logic[] = {{"And", LogicOp::kAnd}, {"Or", LogicOp::kOr}, {"Xor", LogicOp::kXor}};
  for (auto [name, op] : logic) r.add({"", name, 2, 2, 1, 1, logic_kernel(op)});
  r.add({"", "Where", 3, 3, 1, 1, where_kernel});
}

}  // namespace sparsert
