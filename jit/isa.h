// CPU features as a bitmask lattice with a cap. Detected once (cpuid + XCR0, so
// an OS that does not save AVX-512 state is respected) and capped by
// SPARSERT_ISA=avx512_vnni|avx512|avx2|generic or an explicit cap, so every
// path can be tested on one machine. Kernels never call cpuid themselves.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace sparsert::jit {

enum Isa : uint32_t {
  kIsaGeneric = 0,
  kIsaAvx2 = 1u << 0,                           // AVX2 + FMA (+ F16C)
  kIsaAvxVnni = kIsaAvx2 | (1u << 1),           // AVX-VNNI (VEX vpdpbusd on ymm)
  kIsaAvx512 = kIsaAvx2 | (1u << 2),            // AVX-512 F/BW/VL/DQ
  kIsaAvx512Vnni = kIsaAvx512 | (1u << 3),      // + AVX512_VNNI
  kIsaAvx512Bf16 = kIsaAvx512Vnni | (1u << 4),  // + AVX512_BF16
  kIsaAvx512Vbmi = kIsaAvx512 | (1u << 5),      // + AVX512_VBMI (byte permutes: vpermi2b)
};

inline bool is_subset(uint32_t needed, uint32_t have) { return (needed & have) == needed; }

// Features this CPU and OS support (computed once).
uint32_t detected_isa();
// Detected features limited by the SPARSERT_ISA environment variable (if set).
uint32_t default_isa_cap();
// True when `isa` may be used under `cap` on this machine.
inline bool may_use(uint32_t isa, uint32_t cap) { return is_subset(isa, detected_isa() & cap); }
// Parses "avx512_vnni", "avx512", "avx_vnni", "avx2", "generic" (also "native": all detected).
StatusOr<uint32_t> parse_isa(const std::string& name);
// Best-known name of a feature set: "avx512_vnni", "avx2", ...
std::string isa_name(uint32_t isa);
// "AMD EPYC 7B13" or similar, from cpuid's brand string.
std::string cpu_brand();

}  // namespace sparsert::jit
