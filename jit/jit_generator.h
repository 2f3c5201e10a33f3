// Thin base for Xbyak code generators: W^X code pages, the System V ABI
// prologue/epilogue, and a name for dumps. The buffer is allocated read-write
// (never RWX: Xbyak's default ctor asks for RWX, so we pass DontSetProtectRWE),
// filled by generate(), then switched to read-exec by finalize(); it is never
// writable again while it can run.
#pragma once

#include <cstddef>
#include <string>

#include <xbyak/xbyak.h>

#include "base/status.h"

namespace sparsert::jit {

class JitGenerator : public Xbyak::CodeGenerator {
 public:
  explicit JitGenerator(std::string name, size_t max_code_bytes = 64 * 1024)
      : Xbyak::CodeGenerator(max_code_bytes, Xbyak::DontSetProtectRWE), name_(std::move(name)) {}
  ~JitGenerator() override = default;
  JitGenerator(const JitGenerator&) = delete;
  JitGenerator& operator=(const JitGenerator&) = delete;

  const std::string& name() const { return name_; }
  // Runs generate() and makes the pages read+exec. Xbyak reports failures by
  // exception (code too large, bad operand); they become a Status here.
  Status create();
  // Entry point once create() succeeded.
  template <typename Fn>
  Fn entry() const {
    return reinterpret_cast<Fn>(const_cast<uint8_t*>(getCode()));
  }

 protected:
  virtual void generate() = 0;

 public:
  // Saves the callee-saved GPRs used by generators (rbx, rbp, r12-r15) and
  // restores them; ymm registers are all caller-saved on System V. Public so
  // emit helpers (free functions taking the generator) can use them.
  void preamble();
  void postamble();

 protected:

 private:
  std::string name_;
};

}  // namespace sparsert::jit
