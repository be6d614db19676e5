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
  CHECK(document.text_if_ready() == nullptr);
  CHECK(renders == 0);  // publishing renders nothing

  std::vector<std::future<std::shared_ptr<const std::string>>> askers;
  for (int i = 0; i < 8; ++i) askers.push_back(std::async(std::launch::async, [&document] { return document.text(); }));
  const auto first = askers[0].get();
  REQUIRE(first);
  CHECK(*first == "m 1\n");
  for (std::size_t i = 1; i < askers.size(); ++i) CHECK(askers[i].get() == first);  // the same bytes, not a copy
  CHECK(document.text_if_ready() == first);
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
  CHECK(document.gzipped()->size() < 1000);
  CHECK(document.text_if_ready() == nullptr);           // only the gzip form is kept
  CHECK(*document.text() == std::string(100000, 'x'));  // inflated, not rendered again
  CHECK(renders == 1);
}

TEST_CASE("a plain text is shared while requests hold it and freed after the last", "[http][document]") {
  const metrics_document document([] { return std::string(50000, 'y'); });
  auto first = document.text();
  std::weak_ptr<const std::string> watch = first;
  CHECK(document.text_if_ready() == first);
  CHECK(document.text() == first);  // an overlapping request: the same bytes
  first.reset();
  CHECK(watch.expired());  // nobody holds it: only the gzip form stays
  CHECK(document.text_if_ready() == nullptr);
  const auto again = document.text();
  REQUIRE(again);
  CHECK(*again == std::string(50000, 'y'));
}

TEST_CASE("a text made in advance is kept as it is", "[http][document]") {
  const auto text = std::make_shared<const std::string>("m 2\n");
  const metrics_document document(text);
  CHECK(document.text() == text);
  REQUIRE(document.gzipped());
  CHECK(document.text_if_ready() == text);
  CHECK(document.text() == text);
}

TEST_CASE("a document that cannot be rendered has no text and no gzip form", "[http][document]") {
  const metrics_document document([]() -> std::string { throw std::bad_alloc(); });
  CHECK(document.text() == nullptr);
  CHECK(document.text_if_ready() == nullptr);
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
