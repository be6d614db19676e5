#include "metrics/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace kepler {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

/// The length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one
/// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

/// Calls `ascii(c)` for each ASCII byte and `other(sequence)` for each valid multi-byte
/// sequence, with U+FFFD in place of each invalid byte.
template <class Ascii, class Other>
void each_character(std::string_view text, Ascii ascii, Other other) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence(text.substr(i));
    if (length == 1) ascii(text[i]);
    else other(length ? text.substr(i, length) : replacement);
    i += length ? length : 1;
  }
}

}  // namespace

void append_valid_utf8(std::string& out, std::string_view text) {
  each_character(
      text, [&](char c) { out += c; }, [&](std::string_view sequence) { out += sequence; });
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  each_character(
      text,
      [&](char c) {
        switch (c) {
          case '"': out += "\\\""; break;
          case '\\': out += "\\\\"; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
              out += "\\u00";
              out += hex[(c >> 4) & 0xF];
              out += hex[c & 0xF];
            } else {
              out += c;
            }
        }
      },
      [&](std::string_view sequence) { out += sequence; });
  out += '"';
}

void append_html(std::string& out, std::string_view text) {
  each_character(
      text,
      [&](char c) {
        switch (c) {
          case '&': out += "&amp;"; break;
          case '<': out += "&lt;"; break;
          case '>': out += "&gt;"; break;
          case '"': out += "&quot;"; break;
          case '\'': out += "&#39;"; break;
          default: out += static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' ? '?' : c;
        }
      },
      [&](std::string_view sequence) { out += sequence; });
}

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  // Whole numbers as integers (times, byte counts: 1700000000, not 1.7e+09) while exact.
  const bool whole = std::trunc(value) == value && std::fabs(value) < 9007199254740992.0;  // 2^53
  auto [end, ec] = whole ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value))
                         : std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc{} ? end : buffer);
}

void json_writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

json_writer& json_writer::begin_object() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_object() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

json_writer& json_writer::begin_array() {
  separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_array() {
  out_ += ']';
  first_.pop_back();
  return *this;
}

json_writer& json_writer::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view text) {
  separate();
  append_json_string(out_, text);
  return *this;
}

json_writer& json_writer::value(double number) {
  separate();
  append_json_number(out_, number);
  return *this;
}

json_writer& json_writer::value(uint64_t number) {
  separate();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, ec == std::errc{} ? end : buffer);
  return *this;
}

json_writer& json_writer::value(bool flag) {
  separate();
  out_ += flag ? "true" : "false";
  return *this;
}

json_writer& json_writer::value(std::optional<double> number) { return number ? value(*number) : null(); }

json_writer& json_writer::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace kepler
