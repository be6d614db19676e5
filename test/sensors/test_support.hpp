#pragma once
// Helpers for the sensors tests: the fixtures' folder and TSV tables; temporary sysfs/procfs
// trees are test/support/temp_dir.hpp's.

#include <map>
#include <string>
#include <vector>

#include "test/support/fixture_tsv.hpp"
#include "test/support/temp_dir.hpp"

namespace kepler::test {

/// Root of the fixtures (test/fixtures/…; set by the build).
inline std::string fixtures_dir() { return KEPLER_FIXTURES_DIR; }

/// One row of a fixture table, by column name.
using tsv_row = std::map<std::string, std::string>;

/// Reads a fixture TSV: '#' lines are comments, the first other line names the columns.
inline std::vector<tsv_row> read_tsv(const std::string& path) { return kepler::testing::read_tsv(path); }

}  // namespace kepler::test
