#include "metrics/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace kepler {
namespace {

// Long enough for the shortest round-trip form of any double ("-2.2250738585072014e-308").
constexpr std::size_t value_buffer_size = 32;
// Growth step of the scratch room: small enough to stay cache-hot while it is filled.
constexpr std::size_t room_chunk = 64 * 1024;

/// Writes the exposition spelling of `value` at `out`; returns the end.
char* write_value(char* out, double value) {
  if (std::isnan(value)) return std::copy_n("NaN", 3, out);
  if (std::isinf(value)) return std::copy_n(value > 0 ? "+Inf" : "-Inf", 4, out);
  // Cannot fail for a finite double with this buffer size.
  return std::to_chars(out, out + value_buffer_size, value).ptr;
}

char* write(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

/// Whether an 8-byte word holds byte `c` anywhere (exact, from the classic has-zero-byte trick).
constexpr bool word_has(std::uint64_t word, unsigned char c) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  const std::uint64_t v = word ^ (ones * c);
  return ((v - ones) & ~v & (ones << 7)) != 0;
}

/// Whether `text` holds a character that must be escaped. Eight bytes per step: label
/// values are scanned on every sample and almost never contain one.
bool needs_escape(std::string_view text, bool quote) {
  const char* p = text.data();
  std::size_t n = text.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if (word_has(word, '\\') || word_has(word, '\n') || (quote && word_has(word, '"'))) return true;
  }
  for (; n > 0; ++p, --n) {
    if (*p == '\\' || *p == '\n' || (quote && *p == '"')) return true;
  }
  return false;
}

/// Writes `text` escaping backslash and newline, plus double quote when `quote` is set.
/// Needs room for twice the text.
char* write_escaped(char* out, std::string_view text, bool quote) {
  if (!needs_escape(text, quote)) return write(out, text);
  for (const char c : text) {
    if (c == '\\' || (c == '"' && quote)) {
      *out++ = '\\';
      *out++ = c;
    } else if (c == '\n') {
      *out++ = '\\';
      *out++ = 'n';
    } else {
      *out++ = c;
    }
  }
  return out;
}

std::string_view type_name(metric_type type) {
  switch (type) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
  }
  return "untyped";
}

}  // namespace

char* exposition_writer::room(std::size_t bytes) {
  const std::size_t needed = size_ + bytes;
  // Past the reserved capacity std::string grows geometrically, so this stays amortised O(1).
  if (needed > out_.size()) out_.resize(std::max(needed, out_.size() + room_chunk));
  return out_.data() + size_;
}

void exposition_writer::family(std::string_view name, std::string_view help, metric_type type) {
  const std::size_t bound = 2 * name.size() + 2 * help.size() + 32;
  char* const begin = room(bound);
  char* out = write(begin, "# HELP ");
  out = write(out, name);
  *out++ = ' ';
  out = write_escaped(out, help, false);
  out = write(out, "\n# TYPE ");
  out = write(out, name);
  *out++ = ' ';
  out = write(out, type_name(type));
  *out++ = '\n';
  size_ += static_cast<std::size_t>(out - begin);
}

void exposition_writer::sample(std::string_view name, std::span<const label> labels, double value) {
  std::size_t bound = name.size() + 2 + value_buffer_size + 2;
  for (const auto& [key, val] : labels) bound += key.size() + 2 * val.size() + 4;
  char* const begin = room(bound);
  char* out = write(begin, name);
  if (!labels.empty()) {
    *out++ = '{';
    for (const auto& [key, val] : labels) {
      out = write(out, key);
      *out++ = '=';
      *out++ = '"';
      out = write_escaped(out, val, true);
      *out++ = '"';
      *out++ = ',';
    }
    out[-1] = '}';  // replaces the last comma
  }
  *out++ = ' ';
  out = write_value(out, value);
  *out++ = '\n';
  size_ += static_cast<std::size_t>(out - begin);
}

std::string format_value(double value) {
  char buf[value_buffer_size];
  return std::string(buf, write_value(buf, value));
}

}  // namespace kepler
