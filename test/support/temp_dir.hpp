#pragma once
// A temporary folder for a test's files (certificates, configs, service-account files),
// removed with everything in it when the object goes.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "test/support/test_certs.hpp"

namespace kepler::test {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kepler-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Path of `name` inside the folder.
  std::string file(const std::string& name) const { return path + "/" + name; }

  /// Writes `text` to `name` in the folder (atomically); returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    write_text_file(file(name), text);
    return file(name);
  }

  std::string path;
};

}  // namespace kepler::test
