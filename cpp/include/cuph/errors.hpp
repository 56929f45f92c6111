// The engine's errors, and how an error caught on one thread is raised on another.
#pragma once
#include <cstdint>
#include <exception>
#include <stdexcept>

namespace cuph {

// Thrown when the input holds a NaN; `position` is the C-order flat index inside the item.
struct NanError : std::runtime_error {
  int64_t position;
  explicit NanError(int64_t pos) : std::runtime_error("NaN in input"), position(pos) {}
};

// An error caught in one place to be raised in another (after the other threads finish, or
// named with its item by the bindings). A NaN, the error users meet, is kept by value and raised
// afresh; any other error as a std::exception_ptr. Why by value: built with one toolchain (GCC
// 13.3 on a GPU machine's image), every NaN error crashed the process (SIGSEGV) where GCC 12's
// build raised its ValueError; each went through std::make_exception_ptr or
// std::current_exception and std::rethrow_exception. The cause is not established; the NaN
// path no longer takes that route.
class Failure {
 public:
  Failure() = default;
  static Failure nan(int64_t position) {
    Failure f;
    f.nan_ = position;
    return f;
  }
  // Inside a catch handler: keeps the exception being handled.
  void capture() noexcept {
    try {
      throw;
    } catch (const NanError& e) {
      nan_ = e.position;
    } catch (...) {
      other_ = std::current_exception();
    }
  }
  explicit operator bool() const { return nan_ >= 0 || other_; }
  bool is_nan() const { return nan_ >= 0; }
  int64_t nan_position() const { return nan_; }
  [[noreturn]] void raise() const {
    if (nan_ >= 0) throw NanError(nan_);
    std::rethrow_exception(other_);
  }

 private:
  int64_t nan_ = -1;
  std::exception_ptr other_;
};

}  // namespace cuph
