#include "jit/isa.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace sparsert::jit {
namespace {

TEST(Isa, lattice_is_ordered) {
  EXPECT_TRUE(is_subset(kIsaAvx2, kIsaAvx512Vnni));
  EXPECT_TRUE(is_subset(kIsaAvx512, kIsaAvx512Vnni));
  EXPECT_FALSE(is_subset(kIsaAvx512Vnni, kIsaAvx512));
  EXPECT_FALSE(is_subset(kIsaAvx512, kIsaAvxVnni));
  EXPECT_TRUE(is_subset(kIsaGeneric, kIsaAvx2));
}

TEST(Isa, parse_and_name_round_trip) {
  for (const char* name : {"generic", "avx2", "avx_vnni", "avx512"}) {
    auto isa = parse_isa(name);
    ASSERT_TRUE(isa.ok()) << name;
    EXPECT_EQ(isa_name(*isa), name);
  }
  EXPECT_EQ(isa_name(*parse_isa("avx512_vnni")), "avx512_vnni");
  auto bad = parse_isa("sse9");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'sse9'"), std::string::npos);
}

TEST(Isa, cap_limits_what_may_be_used) {
  EXPECT_TRUE(may_use(kIsaGeneric, kIsaGeneric));
  EXPECT_FALSE(may_use(kIsaAvx2, kIsaGeneric));
}

// Detection agrees with what the kernel reports in /proc/cpuinfo.
TEST(Isa, detection_matches_proc_cpuinfo) {
  std::ifstream f("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0) { flags = line + " "; break; }
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags line";
  auto has = [&](const char* flag) { return flags.find(std::string(" ") + flag + " ") != std::string::npos; };
  const uint32_t d = detected_isa();
  EXPECT_EQ(is_subset(kIsaAvx2, d), has("avx2") && has("fma") && has("f16c"));
  EXPECT_EQ(is_subset(kIsaAvx512, d), has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq"));
  EXPECT_EQ(is_subset(kIsaAvx512Vnni, d), is_subset(kIsaAvx512, d) && has("avx512_vnni"));
  std::printf("[ INFO     ] detected ISA: %s on %s\n", isa_name(d).c_str(), cpu_brand().c_str());
}

}  // namespace
}  // namespace sparsert::jit
