#pragma once
// Reads the shared fixtures' `.tsv` truth tables: a header row, then one map per row.

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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
