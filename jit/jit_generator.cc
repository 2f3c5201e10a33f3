#include "jit/jit_generator.h"

#include <cstdlib>
#include <cstdio>

namespace sparsert::jit {

Status JitGenerator::create() {
  try {
    generate();
    ready();  // resolves labels
    if (!setProtectModeRE(false)) return Internal("jit '" + name_ + "': cannot make code pages read+exec");
  } catch (const std::exception& e) {
    return Internal("jit '" + name_ + "': code generation failed: " + e.what());
  }
  // SPARSERT_JIT_DUMP=DIR writes each kernel's bytes (objdump -D -b binary -mi386:x86-64).
  if (const char* dir = std::getenv("SPARSERT_JIT_DUMP"); dir != nullptr && *dir != '\0') {
    const std::string path = std::string(dir) + "/" + name_ + ".bin";
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(getCode(), 1, getSize(), f);
      std::fclose(f);
    }
  }
  return Status::OK();
}

void JitGenerator::preamble() {
  push(rbx);
  push(rbp);
  push(r12);
  push(r13);
  push(r14);
  push(r15);
}

void JitGenerator::postamble() {
  pop(r15);
  pop(r14);
  pop(r13);
  pop(r12);
  pop(rbp);
  pop(rbx);
  vzeroupper();
  ret();
}

}  // namespace sparsert::jit
