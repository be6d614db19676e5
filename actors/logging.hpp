#pragma once
// The daemon's logger: spdlog at the configured level, as text or JSON lines.

#include <cstdio>
#include <string>

namespace kepler {

/// Installs the default logger. `format` is text or json; `level` debug, info, warn or error.
/// Logs go to `out` (stdout, or stderr when the stdout exporter owns stdout).
void setup_logging(const std::string& level, const std::string& format, std::FILE* out);

}  // namespace kepler
