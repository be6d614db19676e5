#pragma once
// A temporary folder for web config files, removed with the object.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "test/support/test_certs.hpp"

namespace kepler::test {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kepler-web-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `text` to `name` in the folder; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path + "/" + name;
    write_text_file(file, text);
    return file;
  }

  std::string path;
};

}  // namespace kepler::test
