#pragma once
// A line for the log, decided by plain code and written by the actor that owns the logger.

#include <string>

namespace kepler {

struct log_note {
  bool warning = false;  ///< a warning, else information
  std::string text;
};

}  // namespace kepler
