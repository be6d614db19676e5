#pragma once
// Prometheus text exposition format 0.0.4, written straight into one string.

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace kepler {

enum class metric_type { counter, gauge };

/// A label name and its (unescaped) value.
using label = std::pair<std::string_view, std::string_view>;

/// Builds one exposition document. Families must be declared before their samples;
/// label values and help text are escaped as the format requires.
class exposition_writer {
 public:
  /// Writes the `# HELP` and `# TYPE` lines of a family.
  void family(std::string_view name, std::string_view help, metric_type type);

  /// Writes one sample line: `name{labels} value`.
  void sample(std::string_view name, std::span<const label> labels, double value);
  void sample(std::string_view name, std::initializer_list<label> labels, double value) {
    sample(name, std::span<const label>(labels.begin(), labels.size()), value);
  }

  /// Pre-allocates room for the whole document. Pass about the previous document's size:
  /// growing a multi-megabyte string by doubling costs several times the render itself.
  void reserve(std::size_t bytes) { out_.reserve(bytes); }
  /// Hands over the document and leaves the writer empty.
  std::string take() {
    out_.resize(size_);
    size_ = 0;
    std::string document = std::move(out_);
    out_.clear();
    return document;
  }
  /// Bytes written so far.
  std::size_t size() const { return size_; }

 private:
  /// Makes room for `bytes` more and returns where they go; `out_` runs ahead of `size_`
  /// so each line is written through a pointer instead of many small appends.
  char* room(std::size_t bytes);

  std::string out_;  // [0, size_) is the document; the rest is scratch room
  std::size_t size_ = 0;
};

/// Shortest text that parses back to the same double (`NaN`, `+Inf`, `-Inf` as Prometheus spells them).
std::string format_value(double value);

}  // namespace kepler
