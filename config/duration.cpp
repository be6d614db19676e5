// Go's time.ParseDuration and Duration.String, so config files and flags read as in Kepler.

#include "config/config.hpp"

#include <array>
#include <cstdint>
#include <optional>

namespace kepler {

namespace {

constexpr uint64_t max_magnitude = uint64_t{1} << 63;  // |INT64_MIN|

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Nanoseconds per unit; µs accepts both the micro sign and the Greek mu, as Go does.
std::optional<uint64_t> unit_ns(std::string_view unit) {
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 8> units{{
      {"ns", 1},
      {"us", 1'000},
      {"\u00b5s", 1'000},
      {"\u03bcs", 1'000},
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  }};
  for (const auto& [name, ns] : units)
    if (name == unit) return ns;
  return std::nullopt;
}

/// Consumes leading digits; nullopt on overflow.
std::optional<uint64_t> leading_int(std::string_view& s) {
  uint64_t v = 0;
  while (!s.empty() && is_digit(s.front())) {
    if (v > (max_magnitude - 1) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(s.front() - '0');
    if (v > max_magnitude) return std::nullopt;
    s.remove_prefix(1);
  }
  return v;
}

/// Consumes fraction digits; digits beyond 64-bit precision are dropped, not an error.
void leading_fraction(std::string_view& s, uint64_t& f, double& scale) {
  bool overflow = false;
  f = 0;
  scale = 1;
  while (!s.empty() && is_digit(s.front())) {
    if (!overflow && f <= (UINT64_MAX - 9) / 10) {
      f = f * 10 + static_cast<uint64_t>(s.front() - '0');
      scale *= 10;
    } else {
      overflow = true;
    }
    s.remove_prefix(1);
  }
}

/// Parses one `<number><unit>` term and adds it to `total`.
bool parse_term(std::string_view& s, uint64_t& total) {
  if (!(s.front() == '.' || is_digit(s.front()))) return false;
  auto before = s.size();
  auto whole = leading_int(s);
  if (!whole) return false;
  bool pre = before != s.size();
  uint64_t frac = 0;
  double scale = 1;
  bool post = false;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    before = s.size();
    leading_fraction(s, frac, scale);
    post = before != s.size();
  }
  if (!pre && !post) return false;
  size_t i = 0;
  while (i < s.size() && s[i] != '.' && !is_digit(s[i])) ++i;
  auto unit = unit_ns(s.substr(0, i));
  if (!unit) return false;
  s.remove_prefix(i);
  uint64_t v = *whole;
  if (v > max_magnitude / *unit) return false;
  v *= *unit;
  if (frac > 0) {
    v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(*unit) / scale));
    if (v > max_magnitude) return false;
  }
  total += v;
  return total <= max_magnitude;
}

/// Appends the fraction of v / 10^prec without trailing zeros; returns the integer part.
uint64_t format_fraction(std::string& out, uint64_t v, int prec) {
  std::string digits;
  bool significant = false;
  for (int i = 0; i < prec; ++i) {
    auto digit = static_cast<char>('0' + v % 10);
    significant = significant || digit != '0';
    if (significant) digits.insert(digits.begin(), digit);
    v /= 10;
  }
  if (!digits.empty()) out = "." + digits + out;
  return v;
}

}  // namespace

result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto invalid = [text] { return make_error(errc::parse, "invalid duration \"" + std::string(text) + "\""); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds{0};
  if (s.empty()) return invalid();
  uint64_t total = 0;
  while (!s.empty())
    if (!parse_term(s, total)) return invalid();
  if (!negative && total > max_magnitude - 1) return invalid();
  return std::chrono::nanoseconds{negative ? static_cast<int64_t>(0 - total) : static_cast<int64_t>(total)};
}

std::string format_duration(std::chrono::nanoseconds duration) {
  auto count = duration.count();
  bool negative = count < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  std::string out;
  if (u == 0) return "0s";
  if (u < 1'000'000'000) {
    // Sub-second values keep the largest unit that is not larger than the value.
    auto [unit, prec] = u < 1'000 ? std::pair{"ns", 0} : u < 1'000'000 ? std::pair{"\u00b5s", 3} : std::pair{"ms", 6};
    out = unit;
    u = format_fraction(out, u, prec);
    out = std::to_string(u) + out;
  } else {
    out = "s";
    u = format_fraction(out, u, 9);
    out = std::to_string(u % 60) + out;
    if (u /= 60; u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      if (u /= 60; u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return negative ? "-" + out : out;
}

}  // namespace kepler
