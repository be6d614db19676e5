#pragma once
// Reading the shared cgroup fixtures (../shared/fixtures/cgroup) for the k8s tests.

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kepler::test {

/// Path of a file in the shared cgroup fixtures.
inline std::string cgroup_fixture(const std::string& name) {
  return std::string(KEPLER_FIXTURES_DIR) + "/cgroup/" + name;
}

/// Contents of a whole file, bytes as they are.
inline std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Non-empty lines of a file.
inline std::vector<std::string> file_lines(const std::string& path) {
  std::istringstream in(slurp_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

/// One row of a fixture table, by column name.
using fixture_row = std::map<std::string, std::string>;

/// Reads a fixture TSV: '#' lines are comments, the first other line names the columns.
inline std::vector<fixture_row> read_fixture_tsv(const std::string& path) {
  std::vector<std::string> header;
  std::vector<fixture_row> rows;
  for (const auto& line : file_lines(path)) {
    if (line[0] == '#') continue;
    std::vector<std::string> cells;
    std::size_t start = 0;
    for (auto tab = line.find('\t'); tab != std::string::npos; tab = line.find('\t', start)) {
      cells.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    cells.push_back(line.substr(start));
    if (header.empty()) {
      header = std::move(cells);
      continue;
    }
    fixture_row row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

/// `-` in a fixture table means "none".
inline std::string or_empty(const std::string& cell) { return cell == "-" ? std::string() : cell; }

}  // namespace kepler::test
