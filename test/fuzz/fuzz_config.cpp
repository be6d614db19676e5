// Configuration YAML: the daemon's config file (decoded, trimmed and validated as at start-up)
// and a kubeconfig. A file either loads or is refused with a message; a loaded configuration
// printed as the start-up banner prints reads back to the same configuration. Go durations
// survive formatting and parsing.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "k8s/kubeconfig.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using namespace kepler;

config_outcome load(const std::string& path) {
  const std::string flag = "--config.file=" + path;
  const char* argv[] = {"kepler", flag.c_str()};
  return load_config(2, argv);
}

void check_config(std::string_view text) {
  const auto file = fuzz::scratch().write("config.yaml", text);
  const auto outcome = load(file);
  if (outcome.next == config_outcome::action::exit) {
    KEPLER_FUZZ_CHECK(outcome.exit_code == 1 && !outcome.message.empty(), "a refused file exits 1 with a message");
    return;
  }
  const auto printed = to_yaml(outcome.config);
  const auto again = load(fuzz::scratch().write("printed.yaml", printed));
  if (again.next != config_outcome::action::run || to_yaml(again.config) != printed) {
    std::fprintf(stderr, "printed:\n%s\nreloaded: %s\n%s\n", printed.c_str(), again.message.c_str(),
                 to_yaml(again.config).c_str());
    KEPLER_FUZZ_CHECK(false, "the printed configuration reads back the same");
  }
}

void check_duration(std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) return;
  auto again = parse_duration(format_duration(parsed.value()));
  KEPLER_FUZZ_CHECK(again && again.value() == parsed.value(), "a formatted duration parses back to itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = kepler::fuzz::as_text(data, size);
  check_config(text);
  (void)load_kubeconfig(kepler::fuzz::scratch().write("kubeconfig", text));
  if (size < 64) check_duration(text);
  return 0;
}
