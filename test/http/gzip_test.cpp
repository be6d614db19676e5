#include "http/gzip.hpp"

#include <future>
#include <vector>

#include <zlib.h>

#include <catch2/catch.hpp>

#include "http/metrics_document.hpp"
#include "test/http/test_client.hpp"

using namespace kepler;

namespace {

/// Decompresses one gzip member with zlib's inflate (the reader's side, not our code).
std::string gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int status = Z_OK;
  char chunk[65536];
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
  }
  const bool whole = status == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  REQUIRE(whole);
  return out;
}

}  // namespace

TEST_CASE("gzip output inflates back to the input, with a gzip header", "[http][gzip]") {
  for (const std::string& text : {std::string(), std::string("m 1\n"), *kepler::test::large_document('7')}) {
    const auto zipped = gzip_compress(text);
    REQUIRE(zipped.ok());
    const auto& compressed = zipped.value();
    REQUIRE(compressed.size() >= 18);
    CHECK(static_cast<unsigned char>(compressed[0]) == 0x1f);  // RFC 1952 magic
    CHECK(static_cast<unsigned char>(compressed[1]) == 0x8b);
    CHECK(gunzip(compressed) == text);
  }
}

TEST_CASE("a gzip member inflates back to its text; anything else is an error", "[http][gzip]") {
  const auto text = kepler::test::large_document('9');
  const auto zipped = gzip_compress(*text).value();
  CHECK(gzip_decompress(zipped, text->size()).value() == *text);
  CHECK_FALSE(gzip_decompress(zipped, text->size() - 1).ok());  // the size must be the text's
  CHECK_FALSE(gzip_decompress(zipped, text->size() + 1).ok());
  CHECK_FALSE(gzip_decompress(zipped.substr(0, zipped.size() / 2), text->size()).ok());
  CHECK_FALSE(gzip_decompress(zipped + "x", text->size()).ok());
  CHECK_FALSE(gzip_decompress("not gzip at all", 4).ok());
}

TEST_CASE("exposition text shrinks several times under gzip", "[http][gzip]") {
  const auto text = kepler::test::large_document('3');
  CHECK(gzip_compress(*text).value().size() * 5 < text->size());
}

TEST_CASE("Accept-Encoding negotiation follows q-values", "[http][gzip]") {
  for (const char* yes : {"gzip", "GZIP", "deflate, gzip", "gzip;q=0.5", "x-gzip", "*", "br;q=1.0, gzip;q=0.8, *;q=0.1",
                          " gzip ; q=1 ", "*;q=0.2, identity"}) {
    INFO(yes);
    CHECK(accepts_gzip(yes));
  }
  for (const char* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip;q=0.0, *", "*;q=0", "gzip;q=abc", "gzip;q=2",
                         "gzipx", "gzip;q=", "*, gzip;q=0"}) {
    INFO(no);
    CHECK_FALSE(accepts_gzip(no));
  }
}

TEST_CASE("a document is compressed once, however many threads ask", "[http][gzip]") {
  const metrics_document document(kepler::test::large_document('5'));
  CHECK_FALSE(document.gzip_ready());
  std::vector<std::future<std::shared_ptr<const std::string>>> askers;
  for (int i = 0; i < 8; ++i)
    askers.push_back(std::async(std::launch::async, [&document] { return document.gzipped(); }));
  const auto first = askers[0].get();
  REQUIRE(first);
  for (std::size_t i = 1; i < askers.size(); ++i) CHECK(askers[i].get() == first);  // the same bytes, not a copy
  CHECK(document.gzip_ready());
  CHECK(gunzip(*first) == *document.text());
}
