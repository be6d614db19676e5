#pragma once
// Reading the shared cgroup fixtures (../shared/fixtures/cgroup) for the k8s tests.

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test/support/fixture_tsv.hpp"
#include "test/support/temp_dir.hpp"

namespace kepler::test {

/// Path of a file in the shared cgroup fixtures.
inline std::string cgroup_fixture(const std::string& name) {
  return std::string(KEPLER_FIXTURES_DIR) + "/cgroup/" + name;
}

/// Non-empty lines of a file.
inline std::vector<std::string> file_lines(const std::string& path) {
  std::istringstream in(whole_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

/// One row of a fixture table, by column name.
using fixture_row = std::map<std::string, std::string>;

/// Reads a fixture TSV: '#' lines are comments, the first other line names the columns.
inline std::vector<fixture_row> read_fixture_tsv(const std::string& path) {
  return kepler::testing::read_tsv(path);
}

/// `-` in a fixture table means "none".
inline std::string or_empty(const std::string& cell) { return cell == "-" ? std::string() : cell; }

}  // namespace kepler::test
