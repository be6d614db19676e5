#pragma once
// A regular process's metadata, for tests that build process tables by hand.

#include <string>

#include "sensors/proc/process_table.hpp"

namespace kepler::testing {

inline process_info regular_process(std::string comm, std::string exe) {
  process_info info;
  info.comm = std::move(comm);
  info.exe = std::move(exe);
  return info;
}

}  // namespace kepler::testing
