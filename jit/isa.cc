#include "jit/isa.h"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>

namespace sparsert::jit {
namespace {

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

uint32_t detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return kIsaGeneric;
  const bool osxsave = c & bit_OSXSAVE;
  const bool fma = c & bit_FMA;
  const bool f16c = c & bit_F16C;
  if (!osxsave) return kIsaGeneric;
  const uint64_t xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM + YMM state
  const bool os_avx512 = (xcr0 & 0xE6) == 0xE6;         // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!os_avx || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return kIsaGeneric;
  const bool avx2 = b & bit_AVX2;
  const bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512VL) && (b & bit_AVX512DQ);
  const bool avx512_vbmi = c & (1u << 1);
  const bool avx512_vnni = c & (1u << 11);
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
  const bool avx_vnni = a1 & (1u << 4);
  const bool avx512_bf16 = a1 & (1u << 5);
  uint32_t isa = kIsaGeneric;
  if (avx2 && fma && f16c) isa |= kIsaAvx2;
  if ((isa & kIsaAvx2) && avx_vnni) isa |= kIsaAvxVnni;
  if ((isa & kIsaAvx2) && avx512 && os_avx512) {
    isa |= kIsaAvx512;
    if (avx512_vnni) isa |= kIsaAvx512Vnni;
    if (avx512_vnni && avx512_bf16) isa |= kIsaAvx512Bf16;
    if (avx512_vbmi) isa |= kIsaAvx512Vbmi;
  }
  return isa;
}

}  // namespace

uint32_t detected_isa() {
  static const uint32_t isa = detect();
  return isa;
}

uint32_t default_isa_cap() {
  static const uint32_t cap = [] {
    const char* env = std::getenv("SPARSERT_ISA");
    if (!env || !*env) return detected_isa();
    auto parsed = parse_isa(env);
    return parsed.ok() ? (*parsed & detected_isa()) : detected_isa();
  }();
  return cap;
}

StatusOr<uint32_t> parse_isa(const std::string& name) {
  if (name == "generic") return static_cast<uint32_t>(kIsaGeneric);
  if (name == "avx2") return static_cast<uint32_t>(kIsaAvx2);
  if (name == "avx_vnni") return static_cast<uint32_t>(kIsaAvxVnni);
  if (name == "avx512") return static_cast<uint32_t>(kIsaAvx512);
  // The VNNI and BF16 levels allow VBMI where the CPU has it (Ice Lake and
  // later, Zen 4 and 5; Cascade Lake has VNNI without it); "avx512" does
  // not, so its cap runs the paths written for AVX-512 without VBMI.
  if (name == "avx512_vnni") return static_cast<uint32_t>(kIsaAvx512Vnni | kIsaAvx512Vbmi | kIsaAvxVnni);
  if (name == "avx512_bf16") return static_cast<uint32_t>(kIsaAvx512Bf16 | kIsaAvx512Vbmi | kIsaAvxVnni);
  if (name == "native" || name == "all") return ~0u;
  return InvalidArgument("unknown ISA '", name, "' (expected avx512_bf16, avx512_vnni, avx512, avx_vnni, avx2, generic or native)");
}

std::string isa_name(uint32_t isa) {
  if (is_subset(kIsaAvx512Bf16, isa)) return "avx512_bf16";
  if (is_subset(kIsaAvx512Vnni, isa)) return "avx512_vnni";
  if (is_subset(kIsaAvx512, isa)) return "avx512";
  if (is_subset(kIsaAvxVnni, isa)) return "avx_vnni";
  if (is_subset(kIsaAvx2, isa)) return "avx2";
  return "generic";
}

std::string cpu_brand() {
  unsigned regs[12] = {};
  unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext < 0x80000004) return "unknown x86-64 CPU";
  for (unsigned i = 0; i < 3; ++i)
    __get_cpuid(0x80000002 + i, &regs[i * 4], &regs[i * 4 + 1], &regs[i * 4 + 2], &regs[i * 4 + 3]);
  char brand[49] = {};
  std::memcpy(brand, regs, 48);
  std::string s(brand);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? "unknown x86-64 CPU" : s.substr(start);
}

}  // namespace sparsert::jit
