#pragma once
// Helpers shared by the libFuzzer targets: invariant checks that stop the run, and a private
// scratch directory for parsers that read files.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "test/support/temp_dir.hpp"

namespace kepler::fuzz {

/// Stops the run (libFuzzer saves the input as a crash) when an invariant does not hold.
#define KEPLER_FUZZ_CHECK(condition, what)                                                                  \
  do {                                                                                                      \
    if (!(condition)) {                                                                                     \
      std::fprintf(stderr, "invariant violated at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #condition); \
      std::abort();                                                                                         \
    }                                                                                                       \
  } while (0)

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The one scratch directory of this fuzzing process.
inline const test::temp_dir& scratch() {
  static const test::temp_dir dir;
  return dir;
}

}  // namespace kepler::fuzz
