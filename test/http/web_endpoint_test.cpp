// The web config's effect on what clients get: basic auth, extra headers, gzip.

#include <thread>
#include <tuple>

#include <poll.h>

#include <crypt.h>
#include <zlib.h>

#include <boost/beast/core/detail/base64.hpp>
#include <catch2/catch.hpp>

#include "test/http/web_fixture.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

std::string bcrypt_hash(const std::string& password, int cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2y$", cost, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

header_list basic(const std::string& user_and_password) {
  namespace b64 = boost::beast::detail::base64;
  std::string encoded(b64::encoded_size(user_and_password.size()), '\0');
  encoded.resize(b64::encode(encoded.data(), user_and_password.data(), user_and_password.size()));
  return {{"Authorization", "Basic " + encoded}};
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out(64 * 1024 * 1024, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  REQUIRE(status == Z_STREAM_END);
  return out;
}

const header_list accept_gzip{{"Accept-Encoding", "gzip"}};

}  // namespace

TEST_CASE("basic auth: no, wrong or unknown credentials get 401, the right ones the document", "[http][web]") {
  web_server web("basic_auth_users:\n  alice: " + bcrypt_hash("secret") + "\n  bob: " + bcrypt_hash("builder") + "\n");
  web.server->publish(document("m 1\n"));
  CHECK(web.server->auth_enabled());
  CHECK_FALSE(web.server->tls_enabled());
  client c(web.port);
  for (const auto& wrong : {header_list{}, basic("alice:wrong"), basic("mallory:secret"), basic("alice:builder"),
                            header_list{{"Authorization", "Basic !!!"}}, header_list{{"Authorization", "Bearer x"}}}) {
    const auto reply = c.request(http::verb::get, "/metrics", true, wrong);
    CHECK(reply.status == 401);
    CHECK(reply.header("www-authenticate") == "Basic");
    CHECK(reply.body == "Unauthorized\n");
    CHECK(reply.keep_alive);  // a client may retry with credentials on the same connection
  }
  const auto alice = c.request(http::verb::get, "/metrics", true, basic("alice:secret"));
  CHECK(alice.status == 200);
  CHECK(alice.body == "m 1\n");
  CHECK(c.request(http::verb::get, "/metrics", true, basic("bob:builder")).status == 200);
  CHECK(c.request(http::verb::get, "/metrics", true, basic("alice:secret")).status == 200);  // from the cache
  CHECK(c.request(http::verb::get, "/metrics", true, basic("alice:secret2")).status == 401);
}

TEST_CASE("basic auth guards every path, like the toolkit", "[http][web]") {
  web_server web("basic_auth_users:\n  alice: " + bcrypt_hash("secret") + "\n");
  for (const char* path : {"/", "/healthz", "/readyz", "/metrics", "/nope"}) {
    INFO(path);
    CHECK(fetch(web.port, path).status == 401);
  }
  const auto head = client(web.port).exchange_raw("HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(head.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(head.size() == head.find("\r\n\r\n") + 4);  // no body after a HEAD
}

TEST_CASE("basic auth over TLS", "[http][web]") {
  web_server web(tls_yaml() + "basic_auth_users:\n  prometheus: " + bcrypt_hash("scrape") + "\n");
  web.server->publish(document("m 1\n"));
  tls_client c(web.port);
  CHECK(c.get("/metrics").status == 401);
  CHECK(c.get("/metrics", basic("prometheus:scrape")).body == "m 1\n");
}

TEST_CASE("a slow bcrypt check does not hold up other clients", "[http][web]") {
  // Cost 13 takes about half a second: long enough to see another client served meanwhile.
  web_server web("basic_auth_users:\n  fast: " + bcrypt_hash("pw") + "\n  slow: " + bcrypt_hash("pw", 13) + "\n");
  web.server->publish(document("m 1\n"));
  client warm(web.port);
  REQUIRE(warm.request(http::verb::get, "/metrics", true, basic("fast:pw")).status == 200);  // now cached

  client slow(web.port);
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::authorization, basic("slow:wrong").front().second);
  http::write(slow.socket(), req);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its check is under way on a worker

  for (int i = 0; i < 5; ++i) CHECK(warm.request(http::verb::get, "/metrics", true, basic("fast:pw")).status == 200);
  CHECK(fetch(web.port, "/healthz").status == 401);  // a request without credentials needs no bcrypt
  pollfd pending{slow.socket().native_handle(), POLLIN, 0};
  CHECK(::poll(&pending, 1, 0) == 0);  // the slow client's answer is still being worked out

  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(slow.socket(), buffer, res);
  CHECK(res.result_int() == 401);
}

TEST_CASE("configured headers are added to every response", "[http][web]") {
  web_server web(
      "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=63072000\n"
      "basic_auth_users:\n  alice: " +
      bcrypt_hash("secret") + "\n");
  web.server->publish(document("m 1\n"));
  client c(web.port);
  for (const auto& [path, auth, status] :
       {std::tuple{"/metrics", true, 200u}, std::tuple{"/metrics", false, 401u}, std::tuple{"/nope", true, 404u}}) {
    INFO(path << " " << status);
    const auto reply = c.request(http::verb::get, path, true, auth ? basic("alice:secret") : header_list{});
    CHECK(reply.status == status);
    CHECK(reply.header("x-frame-options") == "deny");
    CHECK(reply.header("strict-transport-security") == "max-age=63072000");
  }
  const auto bad = client(web.port).exchange_raw("BROKEN\r\n\r\n");
  CHECK(bad.rfind("HTTP/1.1 400", 0) == 0);
  CHECK_THAT(bad, Catch::Contains("X-Frame-Options: deny\r\n"));
}

TEST_CASE("metrics go out gzipped to clients that accept it, compressed once per document", "[http][web]") {
  auto [server, port] = serve_local();
  const auto text = large_document('4');
  server->publish(text);
  client c(port);

  const auto zipped = c.request(http::verb::get, "/metrics", true, accept_gzip);
  CHECK(zipped.status == 200);
  CHECK(zipped.header("content-encoding") == "gzip");
  CHECK(zipped.header("vary") == "Accept-Encoding");
  CHECK(zipped.content_length == std::to_string(zipped.body.size()));
  CHECK(zipped.body.size() * 5 < text->size());
  CHECK(gunzip(zipped.body) == *text);
  CHECK(c.request(http::verb::get, "/metrics", true, accept_gzip).body == zipped.body);

  const auto plain = c.get("/metrics");
  CHECK(plain.header("content-encoding").empty());
  CHECK(plain.header("vary") == "Accept-Encoding");
  CHECK(plain.body == *text);

  const auto head = c.request(http::verb::head, "/metrics", true, accept_gzip);
  CHECK(head.header("content-encoding") == "gzip");
  CHECK(head.content_length == std::to_string(zipped.body.size()));
  CHECK(head.body.empty());

  const auto page = c.request(http::verb::get, "/healthz", true, accept_gzip);
  CHECK(page.header("content-encoding").empty());
  CHECK(page.body == "ok");

  server->publish(document("m 2\n"));  // a new document gets its own gzip
  CHECK(gunzip(c.request(http::verb::get, "/metrics", true, accept_gzip).body) == "m 2\n");
}

TEST_CASE("gzip over TLS with basic auth, as Prometheus scrapes", "[http][web]") {
  web_server web(tls_yaml() + "basic_auth_users:\n  prometheus: " + bcrypt_hash("scrape") + "\n");
  const auto text = large_document('9');
  web.server->publish(text);
  tls_client c(web.port);
  auto headers = basic("prometheus:scrape");
  headers.push_back(accept_gzip.front());
  const auto reply = c.get("/metrics", headers);
  CHECK(reply.status == 200);
  CHECK(reply.header("content-encoding") == "gzip");
  CHECK(gunzip(reply.body) == *text);
}

TEST_CASE("the page and the summary obey TLS and basic auth as /metrics does, and go out gzipped", "[http][web]") {
  web_server web(tls_yaml() + "basic_auth_users:\n  viewer: " + bcrypt_hash("look") + "\n", {}, "<p>waiting</p>");
  tls_client c(web.port);
  for (const char* path : {"/", "/api/v1/summary"}) {
    INFO(path);
    CHECK(c.get(path).status == 401);
    CHECK(c.get(path, basic("viewer:wrong")).status == 401);
  }
  CHECK(c.get("/", basic("viewer:look")).body == "<p>waiting</p>");
  CHECK(c.get("/api/v1/summary", basic("viewer:look")).status == 503);

  const std::string page = "<html>" + std::string(50'000, 'p') + "</html>";
  const std::string summary = "{\"version\":1,\"pad\":\"" + std::string(50'000, 's') + "\"}";
  const auto made = [](const std::string& text) { return std::make_shared<const metrics_document>(document(text)); };
  web.server->publish(published_documents{made("m 1\n"), made(page), made(summary)});
  auto headers = basic("viewer:look");
  headers.push_back(accept_gzip.front());
  for (const auto& [path, body, type] : {std::tuple{"/", page, "text/html; charset=utf-8"},
                                         std::tuple{"/api/v1/summary", summary, "application/json"}}) {
    INFO(path);
    const auto plain = c.get(path, basic("viewer:look"));
    CHECK(plain.status == 200);
    CHECK(plain.header("content-type") == type);
    CHECK(plain.body == body);
    const auto zipped = c.get(path, headers);
    CHECK(zipped.header("content-encoding") == "gzip");
    CHECK(zipped.body.size() * 5 < body.size());
    CHECK(gunzip(zipped.body) == body);
  }
  CHECK(c.get("/metrics", basic("viewer:look")).body == "m 1\n");
}

TEST_CASE("stop waits for a bcrypt check in flight and then closes", "[http][web]") {
  web_server web("basic_auth_users:\n  slow: " + bcrypt_hash("pw", 12) + "\n");
  client slow(web.port);
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::authorization, basic("slow:pw").front().second);
  http::write(slow.socket(), req);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  web.server->stop();
  CHECK(slow.read_to_end().empty());  // closed without an answer once the check returned
}
