#pragma once
// The cgroup fixtures (test/fixtures/cgroup): /proc/<pid>/cgroup files and their truth tables.

#include <string>

#include "test/support/fixture_tsv.hpp"

namespace kepler::test {

/// Path of a file in the cgroup fixtures.
inline std::string cgroup_fixture(const std::string& name) {
  return std::string(KEPLER_FIXTURES_DIR) + "/cgroup/" + name;
}

}  // namespace kepler::test
