#include "http/gzip.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include <libdeflate.h>

namespace kepler {
namespace {

// The fastest level: on a 28 MB document (20,000 processes) libdeflate takes 74 ms where
// zlib's fastest takes 135 ms, for a smaller result (2.9 MB against 3.3 MB). It runs once per
// document, on a worker thread.
constexpr int compression_level = 1;

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

/// The q-value of one `coding;q=…` element (1 when absent; 0 when unreadable, to be safe).
double quality(std::string_view params) {
  while (!params.empty()) {
    const auto semicolon = params.find(';');
    const auto param = trimmed(params.substr(0, semicolon));
    params = semicolon == std::string_view::npos ? std::string_view{} : params.substr(semicolon + 1);
    if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      const std::string value(trimmed(param.substr(2)));
      char* end = nullptr;
      const double q = std::strtod(value.c_str(), &end);
      return end == value.c_str() + value.size() && !value.empty() && q > 0 && q <= 1 ? q : 0;
    }
  }
  return 1;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<double> gzip, any;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const auto element = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    const auto semicolon = element.find(';');
    const auto coding = trimmed(element.substr(0, semicolon));
    const auto q = semicolon == std::string_view::npos ? 1.0 : quality(element.substr(semicolon + 1));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) gzip = std::max(gzip.value_or(0), q);
    else if (coding == "*") any = q;
  }
  return gzip ? *gzip > 0 : any.value_or(0) > 0;
}

result<std::string> gzip_compress(std::string_view text) {
  const std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> compressor(
      libdeflate_alloc_compressor(compression_level), libdeflate_free_compressor);
  if (!compressor) throw std::bad_alloc();
  // Not zero-filled: only the pages the result touches become resident (the bound is about
  // the input's size; the result a tenth of it).
  const auto bound = libdeflate_gzip_compress_bound(compressor.get(), text.size());
  const std::unique_ptr<char[]> out(new char[bound]);
  const auto size = libdeflate_gzip_compress(compressor.get(), text.data(), text.size(), out.get(), bound);
  if (size == 0) return make_error("gzip: compression failed");
  return std::string(out.get(), size);
}

result<std::string> gzip_decompress(std::string_view member, std::size_t size) {
  const std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> decompressor(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  if (!decompressor) throw std::bad_alloc();
  std::string text(size, '\0');
  std::size_t in_used = 0, out_made = 0;
  const auto status = libdeflate_gzip_decompress_ex(decompressor.get(), member.data(), member.size(), text.data(),
                                                    text.size(), &in_used, &out_made);
  if (status != LIBDEFLATE_SUCCESS || in_used != member.size() || out_made != size)
    return make_error("gzip: not one whole member of " + std::to_string(size) + " bytes");
  return text;
}

}  // namespace kepler
