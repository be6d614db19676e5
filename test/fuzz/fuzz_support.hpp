#pragma once
// Helpers shared by the libFuzzer targets: invariant checks that stop the run, and a private
// scratch directory for parsers that read files.

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace kepler::fuzz {

/// Stops the run (libFuzzer saves the input as a crash) when an invariant does not hold.
#define KEPLER_FUZZ_CHECK(condition, what)                                                  \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "invariant violated at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                             \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A directory of this process under $TMPDIR, removed at exit.
class scratch_dir {
 public:
  scratch_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "kepler-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    root_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& relative) const { return root_ + "/" + relative; }

  /// Writes `content` to `relative` (parents created), replacing what was there.
  std::string write(const std::string& relative, std::string_view content) const {
    const auto file = path(relative);
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", file.c_str());
      std::abort();
    }
    return file;
  }

 private:
  std::string root_;
};

/// The one scratch directory of this fuzzing process.
inline const scratch_dir& scratch() {
  static const scratch_dir dir;
  return dir;
}

}  // namespace kepler::fuzz
