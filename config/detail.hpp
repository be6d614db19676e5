#pragma once
// Internals shared by the configuration sources (flags, YAML, validation); not public API.

#include "config/config.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kepler::detail {

/// Applies one typed flag to a configuration; a value it cannot take is added to `errors`.
using flag_override = std::function<void(kepler_config&, std::vector<std::string>& errors)>;

/// What the command line asked for, before any file is read.
struct flag_result {
  bool exit = false;  ///< --help, --version or a syntax error ends the run here
  int exit_code = 0;
  std::string message;
  std::string config_file;  ///< --config.file, trimmed; empty = none
  /// One per flag the user typed, in declaration order; a flag's default is never applied.
  std::vector<flag_override> overrides;
  std::vector<std::string> warnings;
};

/// Parses argv (argv[0] is the program name) with Kepler's flags (docs/compatibility.md §2.3).
flag_result parse_flags(int argc, const char* const* argv);

/// Decodes the YAML file at `path` on top of `config`; returns one message per problem.
/// Unknown keys become warnings, once each.
std::vector<std::string> load_yaml_file(const std::string& path, kepler_config& config,
                                        std::vector<std::string>& warnings);

/// Removes leading and trailing whitespace.
std::string trim(std::string_view text);

/// `prefix e1, e2, …`.
std::string join_errors(std::string_view prefix, const std::vector<std::string>& errors);

}  // namespace kepler::detail
