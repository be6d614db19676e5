#pragma once
// A small JSON writer for /api/v1/summary, and the escaping the page shares with it. Text from
// the machine (a process's comm, a container's name) may be any bytes: invalid UTF-8 becomes
// U+FFFD, so what we write is always valid JSON and valid HTML.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kepler {

/// Appends `text` to `out` with every invalid UTF-8 sequence replaced by U+FFFD.
void append_valid_utf8(std::string& out, std::string_view text);

/// Appends `text` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view text);

/// Appends `text` escaped for HTML text and attribute values.
void append_html(std::string& out, std::string_view text);

/// Shortest text that parses back to `value`; "null" for NaN and infinities (JSON has neither).
void append_json_number(std::string& out, double value);

/// Writes one JSON document: values, keys and commas in order, nesting checked by the caller.
class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  /// The key of the next value, inside an object.
  json_writer& key(std::string_view name);
  json_writer& value(std::string_view text);
  json_writer& value(const char* text) { return value(std::string_view(text)); }
  json_writer& value(const std::string& text) { return value(std::string_view(text)); }
  json_writer& value(double number);
  json_writer& value(uint64_t number);
  json_writer& value(bool flag);
  json_writer& value(std::optional<double> number);  ///< null when empty
  json_writer& null();

  void reserve(std::size_t bytes) { out_.reserve(bytes); }
  std::string take() { return std::move(out_); }

 private:
  void separate();  // a comma before every value but the first of its container

  std::string out_;
  std::vector<bool> first_;  // per open container: no value written yet
  bool after_key_ = false;
};

}  // namespace kepler
