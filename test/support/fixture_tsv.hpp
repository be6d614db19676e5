#pragma once
// Reads the fixtures' `.tsv` truth tables (a header row, then one map per row) and their files.

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test/support/temp_dir.hpp"

namespace kepler::testing {

using tsv_row = std::map<std::string, std::string>;

/// Rows of a tab-separated file keyed by its header; `#` lines and blank lines are skipped.
inline std::vector<tsv_row> read_tsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> header;
  std::vector<tsv_row> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
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
    tsv_row row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace kepler::testing

namespace kepler::test {

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
inline std::vector<fixture_row> read_fixture_tsv(const std::string& path) { return kepler::testing::read_tsv(path); }

/// `-` in a fixture table means "none".
inline std::string or_empty(const std::string& cell) { return cell == "-" ? std::string() : cell; }

}  // namespace kepler::test
