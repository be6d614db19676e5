#pragma once
// Small text helpers shared by the sysfs and procfs readers (header-only, no allocation).

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

namespace kepler {

/// `text` without leading and trailing ASCII whitespace (space, tab, newline, CR, VT, FF).
inline std::string_view trim_space(std::string_view text) {
  constexpr std::string_view space = " \t\n\r\v\f";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

/// Parses the whole of `text` as a decimal integer of type T (a leading '-' only for signed
/// types); false on empty input, trailing garbage or overflow, leaving `value` untouched.
template <class T>
bool parse_decimal(std::string_view text, T& value) {
  T parsed{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
  if (ec != std::errc{} || ptr != end || text.empty()) return false;
  value = parsed;
  return true;
}

/// The message of an errno value (thread-safe, unlike strerror).
inline std::string errno_text(int err) { return std::generic_category().message(err); }

}  // namespace kepler
