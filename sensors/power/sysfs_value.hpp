#pragma once
// One decimal value from a sysfs attribute file, read with a single read() into a stack buffer:
// samplers read these every interval (or every 100 ms), so nothing is allocated on success.

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace kepler {

/// The first bytes of the file at `path`, with one read() into `buffer` (no allocation): how many
/// were read. The error names the file.
result<std::size_t> read_file_head(const std::string& path, char* buffer, std::size_t size);

/// The decimal integer in the file at `path` (surrounding whitespace allowed). The error names
/// the file and what was wrong with it: unreadable, empty, too long, or not a number.
result<uint64_t> read_unsigned_file(const std::string& path);
result<int64_t> read_signed_file(const std::string& path);

}  // namespace kepler
