#pragma once
// gzip content coding for /metrics: negotiation, compression and inflation (libdeflate).

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace kepler {

/// Whether an `Accept-Encoding` value lets us answer with gzip: `gzip`, `x-gzip` or `*`
/// with a q-value above 0 (an explicit `gzip;q=0` wins over `*`).
bool accepts_gzip(std::string_view accept_encoding);

/// `text` as one gzip member (RFC 1952); an error names the failure (std::bad_alloc when
/// memory runs out, as everywhere).
result<std::string> gzip_compress(std::string_view text);

/// What gzip_compress made, inflated back to its `size` bytes; an error when `member` is not
/// one whole gzip member of exactly that size.
result<std::string> gzip_decompress(std::string_view member, std::size_t size);

}  // namespace kepler
