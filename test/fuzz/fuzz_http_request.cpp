// HTTP requests as the metrics server reads them: Boost.Beast's request parser with the
// server's header and body limits, over one connection's bytes (pipelined requests, then the
// client closes), each request answered by route() with its Accept-Encoding and Basic
// credentials checked as the session does.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/basic_auth.hpp"
#include "http/gzip.hpp"
#include "http/routes.hpp"
#include "http/server_limits.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using namespace kepler;

std::string_view to_std(beast::string_view text) { return {text.data(), text.size()}; }

/// The user `prometheus` with password `secret` (bcrypt cost 4, so a check costs ~1 ms).
const basic_auth& auth() {
  static const auto users =
      basic_auth::create(std::map<std::string, std::string>{
                             {"prometheus", "$2b$04$L92OpS24YSPLBpBGF9TR2OB.1YhkMyokVOrCDc8zE5Y.2OOQEyVG6"}})
          .value();
  return *users;
}

route_state served(bool ready) {
  static const auto document = std::make_shared<const metrics_document>(std::make_shared<const std::string>(
      "# TYPE kepler_node_cpu_watts gauge\nkepler_node_cpu_watts{zone=\"package\"} 1\n"));
  static const auto page = std::make_shared<const metrics_document>(std::make_shared<const std::string>("<html>"));
  static const auto summary = std::make_shared<const metrics_document>(std::make_shared<const std::string>("{}"));
  static const auto waiting = std::make_shared<const std::string>("<html>waiting");
  route_state state;
  state.ready = ready;
  state.metrics = ready ? document : nullptr;
  state.ui_enabled = true;  // the page and /api/v1/summary are routes too
  state.page = ready ? page : nullptr;
  state.summary = ready ? summary : nullptr;
  state.waiting_page = waiting;
  return state;
}

/// What the session does with one complete request.
void answer(const http::request<http::string_body>& request, bool ready) {
  const auto reply = route(to_std(request.method_string()), to_std(request.target()), served(ready));
  KEPLER_FUZZ_CHECK((reply.body != nullptr) != (reply.document != nullptr),
                    "every answer has a body or a document to render, not both");
  if (reply.document) KEPLER_FUZZ_CHECK(reply.document->text() != nullptr, "the document renders");
  KEPLER_FUZZ_CHECK(reply.status == 200 || reply.status == 404 || reply.status == 405 || reply.status == 503,
                    "one of the statuses the server uses");
  if (reply.document && accepts_gzip(to_std(request[http::field::accept_encoding])))
    KEPLER_FUZZ_CHECK(reply.document->gzipped() != nullptr, "the document compresses");
  const auto authorization = to_std(request[http::field::authorization]);
  if (auth().quick_check(authorization) == basic_auth::verdict::needs_bcrypt) {
    auto credentials = parse_basic_authorization(authorization);
    KEPLER_FUZZ_CHECK(credentials.has_value(), "bcrypt only for well-formed credentials");
    if (credentials->user == "prometheus") (void)auth().verify(authorization);
  }
}

/// Parses one request from `buffer` as Beast's http::read does: the parser is given what
/// has arrived, and when it needs more, the rest is read first. Here nothing more arrives (the
/// client has sent everything and closed), so "needs more" means end of stream.
std::optional<http::request<http::string_body>> next_request(beast::flat_buffer& buffer) {
  const server_limits limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(limits.header_limit);
  parser.body_limit(limits.body_limit);
  parser.eager(true);
  beast::error_code ec;
  if (buffer.size() > 0) {
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec && ec != http::error::need_more) return std::nullopt;  // 400, 413 or 431: answered, closed
    if (parser.is_done()) return parser.release();
  }
  buffer.consume(buffer.size());
  if (!parser.got_some()) return std::nullopt;  // closed between two requests
  parser.put_eof(ec);                           // a request that ends with the connection, or a partial one (dropped)
  if (ec || !parser.is_done()) return std::nullopt;
  return parser.release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  beast::flat_buffer buffer;
  const auto input = kepler::fuzz::as_text(data, size);
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(size), boost::asio::buffer(input.data(), input.size())));
  for (int served_requests = 0; buffer.size() > 0 && served_requests < 16; ++served_requests) {
    auto request = next_request(buffer);
    if (!request) break;
    answer(*request, served_requests % 2 == 0);
    if (!request->keep_alive()) break;
  }
  return 0;
}
