#pragma once
// Files for tests: a temporary folder removed with everything in it when the object goes
// (fake sysfs/procfs trees, certificates, configs, service-account files), and whole-file
// reads and atomic writes. Header-only: the fuzz targets use it too.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kepler::test {

/// The whole content of a file (throws std::runtime_error when it cannot be read).
inline std::string whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Writes `content` to `path`, replacing it atomically (write a sibling, then rename), so a
/// reader never sees a half-written file.
inline void write_text_file(const std::string& path, std::string_view content) {
  const std::string temporary = path + ".writing";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kepler-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
    root_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& root() const { return root_; }

  /// Path of `relative` inside the folder.
  std::string path(const std::string& relative) const { return root_ + "/" + relative; }

  /// Writes `content` to `relative` (parent folders created, file replaced atomically);
  /// returns its path.
  std::string write(const std::string& relative, std::string_view content) const {
    const std::string target = path(relative);
    std::filesystem::create_directories(std::filesystem::path(target).parent_path());
    write_text_file(target, content);
    return target;
  }

  void mkdir(const std::string& relative) const { std::filesystem::create_directories(path(relative)); }
  void remove(const std::string& relative) const { std::filesystem::remove_all(path(relative)); }

 private:
  std::string root_;
};

}  // namespace kepler::test
