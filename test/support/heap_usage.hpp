#pragma once
// What glibc's malloc says a piece of code allocated, for checking memory estimates.

#include <malloc.h>

#include <cstdlib>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // gcc
#define KEPLER_HEAP_REPLACED 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define KEPLER_HEAP_REPLACED 1
#endif
#endif

namespace kepler::testing {

/// False under AddressSanitizer and ThreadSanitizer: they replace glibc's malloc, and
/// mallinfo2() then reports nothing.
#ifdef KEPLER_HEAP_REPLACED
inline constexpr bool heap_usage_measurable = false;
#else
inline constexpr bool heap_usage_measurable = true;
#endif

/// Heap bytes glibc has handed out (in-use chunks, headers included, plus mmapped blocks).
inline std::size_t heap_in_use() {
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

/// Bytes the heap grows by while `build` runs. Chunks parked in this thread's tcache already
/// count as in use, and `build` would get them back without the count moving; so the small
/// size classes' tcache bins are emptied first (their chunks held until the end).
template <class Build>
std::size_t heap_growth(Build&& build) {
  constexpr std::size_t per_class = 64;  // more than any tcache bin holds (default 7)
  std::vector<void*> held;
  held.reserve(per_class * 65);
  for (std::size_t size = 8; size <= 1032; size += 16)
    for (std::size_t i = 0; i < per_class; ++i) held.push_back(std::malloc(size));
  const auto before = heap_in_use();
  build();
  const auto growth = heap_in_use() - before;
  for (void* block : held) std::free(block);
  return growth;
}

}  // namespace kepler::testing
