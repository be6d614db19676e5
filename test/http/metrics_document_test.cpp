#include "http/metrics_document.hpp"

#include <atomic>
#include <future>
#include <new>
#include <vector>

#include <catch2/catch.hpp>

using namespace kepler;

TEST_CASE("a document is rendered once, on first demand, however many threads ask", "[http][document]") {
  std::atomic<int> renders = 0;
  const metrics_document document([&renders] {
    ++renders;
    return std::string("m 1\n");
  });
  CHECK_FALSE(document.text_ready());
  CHECK(renders == 0);  // publishing renders nothing

  std::vector<std::future<std::shared_ptr<const std::string>>> askers;
  for (int i = 0; i < 8; ++i) askers.push_back(std::async(std::launch::async, [&document] { return document.text(); }));
  const auto first = askers[0].get();
  REQUIRE(first);
  CHECK(*first == "m 1\n");
  for (std::size_t i = 1; i < askers.size(); ++i) CHECK(askers[i].get() == first);  // the same bytes, not a copy
  CHECK(document.text_ready());
  REQUIRE(document.gzipped());  // compressing renders nothing more
  CHECK(renders == 1);
}

TEST_CASE("a document asked for gzip first is rendered once for both forms", "[http][document]") {
  std::atomic<int> renders = 0;
  const metrics_document document([&renders] {
    ++renders;
    return std::string(100000, 'x');
  });
  REQUIRE(document.gzipped());
  CHECK(document.text_ready());
  CHECK(document.text()->size() == 100000);
  CHECK(renders == 1);
}

TEST_CASE("a document that cannot be rendered has no text and no gzip form", "[http][document]") {
  const metrics_document document([]() -> std::string { throw std::bad_alloc(); });
  CHECK(document.text() == nullptr);
  CHECK(document.text_ready());
  CHECK(document.gzipped() == nullptr);
}

TEST_CASE("what the renderer holds is released once it has run", "[http][document]") {
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> watch = held;
  const metrics_document document([held = std::move(held)] { return std::to_string(*held); });
  CHECK_FALSE(watch.expired());  // a snapshot stays alive until the document is rendered
  CHECK(*document.text() == "7");
  CHECK(watch.expired());
}
