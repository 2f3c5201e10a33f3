#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

#include <random>

#include "runtime/session.h"
#include "tests/onnx_builder.h"
#include "tests/test_util.h"

namespace sparsert {
namespace {

bool overlaps(size_t a, size_t an, size_t b, size_t bn) { return a < b + bn && b < a + an; }

// Randomized: blocks alive at the same step never share bytes, except an
// in-place block with the input it took over; the arena is not wasteful.
TEST(MemoryPlan, live_blocks_never_overlap) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BlockRequest> blocks;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      BlockRequest b;
      b.first_step = i;
      b.last_step = i + static_cast<int>(rng() % 6);
      b.bytes = 1 + rng() % 5000;
      if (i > 0 && rng() % 3 == 0) {  // sometimes an in-place candidate
        const int r = static_cast<int>(rng() % i);
        b.reuse = r;
        if (rng() % 2) { blocks[r].last_step = i; b.bytes = blocks[r].bytes; }
      }
      blocks.push_back(b);
    }
    MemoryLayout m = plan_memory(blocks);
    ASSERT_EQ(m.offsets.size(), blocks.size());
    size_t sum = 0, peak_needed = 0;
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(m.offsets[i] % 64, 0u);
      EXPECT_LE(m.offsets[i] + blocks[i].bytes, m.total_bytes);
      sum += (blocks[i].bytes + 63) / 64 * 64;
      for (int j = 0; j < i; ++j) {
        const bool live_together = blocks[i].first_step <= blocks[j].last_step && blocks[j].first_step <= blocks[i].last_step;
        const bool in_place = blocks[i].reuse == j && m.offsets[i] == m.offsets[j];
        if (live_together && !in_place) {
          EXPECT_FALSE(overlaps(m.offsets[i], blocks[i].bytes, m.offsets[j], blocks[j].bytes))
              << "trial " << trial << " blocks " << j << " and " << i;
        }
      }
    }
    for (int s = 0; s < n + 6; ++s) {
      size_t live = 0;
      for (const BlockRequest& b : blocks)
        if (b.first_step <= s && s <= b.last_step) live += (b.bytes + 63) / 64 * 64;
      peak_needed = std::max(peak_needed, live);
    }
    EXPECT_LE(m.total_bytes, sum);  // never worse than no reuse
    if (m.in_place == 0) {
      EXPECT_GE(m.total_bytes, peak_needed);  // the live set must fit
    }
  }
}

TEST(MemoryPlan, in_place_takes_over_a_dying_input) {
  // 0 -> 1 (in place on 0) -> 2 (in place on 1), and 3 alive beside them.
  std::vector<BlockRequest> b = {{0, 1, 1000, -1}, {1, 2, 1000, 0}, {2, 3, 1000, 1}, {0, 3, 500, -1}};
  MemoryLayout m = plan_memory(b);
  EXPECT_EQ(m.in_place, 2);
  EXPECT_EQ(m.offsets[0], m.offsets[1]);
  EXPECT_EQ(m.offsets[1], m.offsets[2]);
  EXPECT_FALSE(overlaps(m.offsets[0], 1000, m.offsets[3], 500));
  // An input still read after the producing step is not taken over.
  std::vector<BlockRequest> c = {{0, 2, 1000, -1}, {1, 2, 1000, 0}};
  EXPECT_EQ(plan_memory(c).in_place, 0);
}

TEST(MemoryPlan, session_runs_on_the_arena_from_the_second_run) {
  using testing::OnnxBuilder;
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 64}, {"n"}).output("y");
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Sigmoid", {"r"}, {"s"}, "sigmoid");  // in place on r
  b.node("Reshape", {"s", "shape"}, {"v"}, "view");  // a view of s
  b.int64_initializer("shape", {-1});
  b.node("Add", {"v", "v"}, {"y"}, "add");
  std::string bytes = b.bytes();
  SessionOptions opts;
  opts.disabled_passes = {"fuse_elementwise_chain"};  // keep Relu -> Sigmoid as two nodes
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), opts);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  std::vector<float> x(3 * 64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.f;
  std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({3, 64}, x)}};
  auto first = (*s)->Run(in);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_NE((*s)->memory_summary().find("(1 in place)"), std::string::npos) << (*s)->memory_summary();
  for (int run = 0; run < 3; ++run) {
    auto again = (*s)->Run(in);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_EQ(testing::compare_tensors((*again)[0].tensor, (*first)[0].tensor, 0.0), "");
    // The returned output is the caller's: the next run must not overwrite it.
    EXPECT_NE((*again)[0].tensor.raw_data(), (*first)[0].tensor.raw_data());
  }
  // New input shapes plan a new pattern and still agree.
  std::vector<NamedTensor> in2 = {{"x", Tensor::from_vector<float>({2, 64}, std::vector<float>(128, 0.5f))}};
  auto other = (*s)->Run(in2);
  ASSERT_TRUE(other.ok());
  EXPECT_NEAR((*other)[0].tensor.data<float>()[5], 2.f / (1.f + std::exp(-0.5f)), 1e-6);
}

}  // namespace
}  // namespace sparsert
