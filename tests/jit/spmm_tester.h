// Fluent tester for the SpMM kernels: builds a random sparse W with the given
// pattern and sparsity, random X and post-op operands, runs jit::Spmm under an
// ISA cap and compares it with jit::spmm_reference (the registry-free twin in
// jit/spmm/spmm_ref.cc, never a loop private to the test).
//   SpmmTester().m(37).n(13).k(129).pattern(4, 1).sparsity(0.9).Test(kIsaAvx2);
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "jit/isa.h"
#include "jit/spmm/spmm.h"
#include "jit/spmm/spmm_ref.h"

namespace sparsert::jit {

class SpmmTester {
 public:
  SpmmTester& m(int64_t v) { m_ = v; return *this; }
  SpmmTester& n(int64_t v) { n_ = v; return *this; }
  SpmmTester& k(int64_t v) { k_ = v; return *this; }
  SpmmTester& dtype(SpmmDType v) { dtype_ = v; return *this; }
  SpmmTester& out(SpmmOut v) { out_ = v; return *this; }
  SpmmTester& band_rows(int v) { band_rows_ = v; return *this; }
  SpmmTester& k_block(int v) { k_block_ = v; return *this; }  // 4: SpmmDesc::k_block (1x4 blocks)
  SpmmTester& layout(SpmmLayout v) { layout_ = v; return *this; }
  // Zero blocks of rows x cols (in W's N x K view): (1,1) unstructured, (4,1), (1,4).
  SpmmTester& pattern(int rows, int cols) { block_r_ = rows; block_c_ = cols; return *this; }
  SpmmTester& sparsity(double v) { sparsity_ = v; return *this; }
  SpmmTester& post(PostOpChain v) { post_ = v; return *this; }
  SpmmTester& threads(int v) { threads_ = v; return *this; }
  SpmmTester& w_is_kn(bool v) { w_is_kn_ = v; return *this; }  // W given as [K,N] (ONNX MatMul)
  SpmmTester& extremes(bool v) { extremes_ = v; return *this; }  // x = 255 / w = -128 everywhere non-zero
  SpmmTester& per_channel(bool v) { per_channel_ = v; return *this; }
  SpmmTester& seed(uint32_t v) { seed_ = v; return *this; }
  // X as a convolution's rows (SpmmConvRows, f32) over a random blocked image
  // of `channels` (a multiple of c.block): K = kh * kw * channels, M = the
  // output pixels from c.first_pixel on.
  SpmmTester& conv(const SpmmConvRows& c, int64_t channels) {
    conv_ = true;
    conv_rows_ = c;
    k_ = c.kh * c.kw * channels;
    m_ = c.oh * c.ow - c.first_pixel;
    return *this;
  }
  // Y and the residual channel-blocked by b (SpmmRunArgs::y_block), with a gap
  // after each block's rows that must stay untouched.
  SpmmTester& y_block(int64_t b) { y_block_ = b; return *this; }

  std::string describe() const {
    return "M=" + std::to_string(m_) + " N=" + std::to_string(n_) + " K=" + std::to_string(k_) + " " +
           to_string(dtype_) + " " + to_string(layout_) + " out=" + to_string(out_) + " band=" + std::to_string(band_rows_) + "x" + std::to_string(k_block_) + " pattern=" +
           std::to_string(block_r_) + "x" + std::to_string(block_c_) + " sparsity=" + std::to_string(sparsity_) +
           " post=" + to_string(post_) + " threads=" + std::to_string(threads_) +
           (conv_ ? " conv " + std::to_string(conv_rows_.kh) + "x" + std::to_string(conv_rows_.kw) + " stride " +
                        std::to_string(conv_rows_.sh) + "," + std::to_string(conv_rows_.sw) + " dilation " +
                        std::to_string(conv_rows_.dh) + "," + std::to_string(conv_rows_.dw) + " pad " +
                        std::to_string(conv_rows_.pt) + "," + std::to_string(conv_rows_.pl) + " in " +
                        std::to_string(conv_rows_.ih) + "x" + std::to_string(conv_rows_.iw) + " out " +
                        std::to_string(conv_rows_.oh) + "x" + std::to_string(conv_rows_.ow) + " block " +
                        std::to_string(conv_rows_.block) + " from pixel " + std::to_string(conv_rows_.first_pixel)
                  : std::string()) +
           (y_block_ > 0 ? " y_block " + std::to_string(y_block_) : std::string());
  }

  // Returns the implementation that ran (for tests that check dispatch).
  std::string Test(uint32_t isa_cap) const {
    SCOPED_TRACE(describe());
    std::mt19937 rng(seed_);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int> s8(-128, 127), u8(0, 255);
    const bool f32 = dtype_ == SpmmDType::kF32;
    const int64_t ld_w = w_is_kn_ ? n_ : k_;
    auto w_at = [&](int64_t r, int64_t c) { return w_is_kn_ ? c * n_ + r : r * k_ + c; };
    std::vector<float> wf(static_cast<size_t>(n_ * k_));
    std::vector<int8_t> wq(static_cast<size_t>(n_ * k_));
    for (int64_t r = 0; r < n_; r += block_r_)
      for (int64_t c = 0; c < k_; c += block_c_) {
        const bool zero = unit(rng) < sparsity_;
        for (int64_t i = r; i < std::min(n_, r + block_r_); ++i)
          for (int64_t j = c; j < std::min(k_, c + block_c_); ++j) {
            int8_t q = zero ? 0 : static_cast<int8_t>(extremes_ ? -128 : s8(rng));
            if (!zero && q == 0) q = 1;
            wq[static_cast<size_t>(w_at(i, j))] = q;
            wf[static_cast<size_t>(w_at(i, j))] = zero ? 0.f : normal(rng);
          }
      }
    (void)ld_w;
    std::vector<float> xf(static_cast<size_t>(m_ * k_));
    std::vector<uint8_t> xq(static_cast<size_t>(m_ * k_));
    for (auto& v : xf) v = normal(rng);
    for (auto& v : xq) v = static_cast<uint8_t>(extremes_ ? 255 : u8(rng));
    std::vector<float> image;
    SpmmConvRows rows = conv_rows_;
    if (conv_) {
      image.resize(static_cast<size_t>(k_ / (rows.kh * rows.kw) * rows.ih * rows.iw));
      for (auto& v : image) v = normal(rng);
      rows.x = image.data();
    }
    // Blocked Y: each channel block's m_ rows, then 3 rows of gap.
    const int64_t y_stride = (m_ + 3) * y_block_;
    const int64_t y_count = y_block_ > 0 ? (n_ + y_block_ - 1) / y_block_ * y_stride : m_ * n_;
    auto y_at = [&](int64_t m, int64_t n) {
      return y_block_ > 0 ? n / y_block_ * y_stride + m * y_block_ + n % y_block_ : m * n_ + n;
    };
    std::vector<float> bias(static_cast<size_t>(n_)), residual(static_cast<size_t>(y_count));
    for (auto& v : bias) v = normal(rng);
    for (auto& v : residual) v = normal(rng);
    std::vector<float> w_scales(per_channel_ ? static_cast<size_t>(n_) : 1);
    for (auto& v : w_scales) v = 0.001f + 0.01f * static_cast<float>(unit(rng));

    SpmmDesc d;
    d.n = n_;
    d.k = k_;
    d.dtype = dtype_;
    d.out = out_;
    d.layout = layout_;
    d.band_rows = band_rows_;
    d.k_block = k_block_;
    d.post = post_;
    d.isa_cap = isa_cap;
    const void* w = f32 ? static_cast<const void*>(wf.data()) : static_cast<const void*>(wq.data());
    const int64_t stride_n = w_is_kn_ ? 1 : k_, stride_k = w_is_kn_ ? n_ : 1;
    auto spmm = Spmm::create(d, w, stride_n, stride_k);
    EXPECT_TRUE(spmm.ok()) << spmm.status().to_string();
    if (!spmm.ok()) return "";

    const size_t out_bytes = out_ == SpmmOut::kU8 || out_ == SpmmOut::kS8 ? 1 : 4;
    std::vector<uint8_t> y(static_cast<size_t>(y_count) * out_bytes + 1, 0xAB), y_ref(y.size(), 0xCD);
    SpmmRunArgs a;
    a.m = m_;
    a.x = f32 ? static_cast<const void*>(xf.data()) : static_cast<const void*>(xq.data());
    a.ldx = k_;
    a.ldy = n_;
    a.bias = bias.data();
    a.residual = residual.data();
    a.ld_residual = n_;
    a.clip_min = -0.5f;
    a.clip_max = 0.75f;
    a.x_zero_point = extremes_ ? 0 : 117;
    a.x_scale = 0.02f;
    a.w_scales = w_scales.data();
    a.w_scales_count = static_cast<int64_t>(w_scales.size());
    a.y_scale = 0.05f;
    a.y_zero_point = out_ == SpmmOut::kU8 ? 128 : -3;
    a.y = y.data();
    if (conv_) {
      a.conv = &rows;
      a.x = nullptr;
    }
    a.y_block = y_block_;
    a.y_block_stride = y_stride;
    // int8 with float output: the range of Y for DynamicQuantizeLinear, checked below.
    float range[2] = {7.f, -7.f};
    const bool want_range = !f32 && out_ == SpmmOut::kF32;
    if (want_range) a.y_range = range;
    const Status st = (*spmm)->run(a, threads_);
    EXPECT_TRUE(st.ok()) << st.to_string();
    a.y_range = nullptr;
    a.y = y_ref.data();
    spmm_reference(d, w, stride_n, stride_k, a);
    EXPECT_EQ(y.back(), 0xAB) << "wrote past Y";

    const int64_t count = m_ * n_;
    if (out_ == SpmmOut::kS32) {
      const int32_t* got = reinterpret_cast<const int32_t*>(y.data());
      const int32_t* want = reinterpret_cast<const int32_t*>(y_ref.data());
      int64_t bad = 0;
      for (int64_t i = 0; i < count; ++i) bad += got[i] != want[i];
      EXPECT_EQ(bad, 0) << "first: " << first_mismatch(got, want, count);
    } else if (out_bytes == 1) {
      int64_t bad = 0;
      for (int64_t i = 0; i < count; ++i) {
        const int g = out_ == SpmmOut::kU8 ? y[i] : static_cast<int8_t>(y[i]);
        const int w8 = out_ == SpmmOut::kU8 ? y_ref[i] : static_cast<int8_t>(y_ref[i]);
        bad += std::abs(g - w8) > 1;  // one step: float vs double rounding at a tie
      }
      EXPECT_EQ(bad, 0);
    } else {
      const float* got = reinterpret_cast<const float*>(y.data());
      const float* want = reinterpret_cast<const float*>(y_ref.data());
      double scale = 1e-6, worst = 0.0;
      std::vector<bool> written(static_cast<size_t>(y_count), false);
      for (int64_t m = 0; m < m_; ++m)
        for (int64_t n = 0; n < n_; ++n) {
          const int64_t i = y_at(m, n);
          written[static_cast<size_t>(i)] = true;
          scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
          worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]));
        }
      EXPECT_LE(worst / scale, 2e-5) << "max abs error " << worst << " at output scale " << scale;
      int64_t stray = 0;  // blocked Y: lanes past N and the gaps untouched
      for (int64_t i = 0; i < y_count; ++i)
        if (!written[static_cast<size_t>(i)]) stray += std::memcmp(&got[i], "\xAB\xAB\xAB\xAB", 4) != 0;
      EXPECT_EQ(stray, 0) << "values written outside Y";
      if (want_range) {  // exactly {min(0, min Y), max(0, max Y)} of the Y written, NaN ignored
        float lo = 0.f, hi = 0.f;
        for (int64_t i = 0; i < count; ++i) lo = got[i] < lo ? got[i] : lo, hi = got[i] > hi ? got[i] : hi;
        EXPECT_EQ(range[0], lo);
        EXPECT_EQ(range[1], hi);
      }
    }
    return (*spmm)->impl_name();
  }

 private:
  template <typename T>
  static std::string first_mismatch(const T* got, const T* want, int64_t count) {
    for (int64_t i = 0; i < count; ++i)
      if (got[i] != want[i]) {
        std::ostringstream os;  // (string operator+ chains trip GCC 12's -Wrestrict false positive)
        os << "#" << i << " got " << got[i] << " want " << want[i];
        return os.str();
      }
    return "none";
  }

  int64_t m_ = 16, n_ = 16, k_ = 16;
  SpmmDType dtype_ = SpmmDType::kF32;
  SpmmOut out_ = SpmmOut::kF32;
  int band_rows_ = 1;
  int k_block_ = 1;
  SpmmLayout layout_ = SpmmLayout::kBands;
  int block_r_ = 1, block_c_ = 1;
  double sparsity_ = 0.5;
  PostOpChain post_{};
  int threads_ = 1;
  bool w_is_kn_ = false;
  bool extremes_ = false;
  bool per_channel_ = true;
  uint32_t seed_ = 7;
  bool conv_ = false;
  SpmmConvRows conv_rows_{};
  int64_t y_block_ = 0;
};

}  // namespace sparsert::jit
