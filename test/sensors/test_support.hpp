#pragma once

#include "test/support/fixture_tsv.hpp"
// Helpers for the sensors tests: temporary sysfs/procfs trees and the fixtures' TSV tables.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kepler::test {

/// Root of the shared fixtures (set by the build).
inline std::string fixtures_dir() { return KEPLER_FIXTURES_DIR; }

/// A directory created with mkdtemp and removed with everything in it on destruction.
class temp_tree {
 public:
  temp_tree() {
    auto pattern = (std::filesystem::temp_directory_path() / "kepler-sensors-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
  }
  ~temp_tree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  temp_tree(const temp_tree&) = delete;
  temp_tree& operator=(const temp_tree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

  /// Writes `content` to `rel`, creating parent directories; replaces the file atomically
  /// so a reader never sees a half-written file.
  void write(const std::string& rel, const std::string& content) const {
    const std::filesystem::path target = path(rel);
    std::filesystem::create_directories(target.parent_path());
    const auto tmp = target.string() + ".tmp";
    std::ofstream(tmp, std::ios::binary) << content;
    std::filesystem::rename(tmp, target);
  }
  void mkdir(const std::string& rel) const { std::filesystem::create_directories(path(rel)); }
  void remove(const std::string& rel) const { std::filesystem::remove_all(path(rel)); }

 private:
  std::string root_;
};

/// Contents of a whole file.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// One row of a fixture table, by column name.
using tsv_row = std::map<std::string, std::string>;

/// Reads a fixture TSV: '#' lines are comments, the first other line names the columns.
inline std::vector<tsv_row> read_tsv(const std::string& path) { return kepler::testing::read_tsv(path); }

}  // namespace kepler::test
