// The web config file (exporter-toolkit format): parsed as if it lay beside a set of real
// certificates (server.crt, server.key, ca.crt, client.crt, … made once per process), so that
// relative names reach the TLS context; a config that parses is then turned into the server's
// TLS context and basic auth, which either succeeds or names what is wrong.

#include <cstddef>
#include <cstdint>
#include <string>

#include "http/web_config.hpp"
#include "http/web_security.hpp"
#include "test/fuzz/fuzz_support.hpp"
#include "test/support/test_certs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kepler;
  static const auto& certs = test::test_certs::shared();
  const std::string text(fuzz::as_text(data, size));
  const std::string path = certs.dir + "/web.yml";
  auto parsed = parse_web_config(text, path);
  if (!parsed) {
    KEPLER_FUZZ_CHECK(parsed.error_message().starts_with("web config " + path + ": "), "errors name the file");
    return 0;
  }
  auto security = make_web_security(parsed.value());
  if (!security) {
    KEPLER_FUZZ_CHECK(!security.error_message().empty(), "errors say what is wrong");
    return 0;
  }
  KEPLER_FUZZ_CHECK(security.value()->tls != nullptr == parsed.value().tls.has_value(), "TLS when configured");
  KEPLER_FUZZ_CHECK(security.value()->auth != nullptr == !parsed.value().users.empty(), "auth when users are set");
  return 0;
}
