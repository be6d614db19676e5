#include "metrics/exposition.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>

using namespace kepler;

namespace {

/// Runs `promtool check metrics` on `document`; returns its exit status and output.
std::pair<int, std::string> promtool_check(const std::string& document) {
  char path[] = "/tmp/kepler_exposition_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, document.data(), document.size()) == static_cast<ssize_t>(document.size()));
  close(fd);
  const std::string command = "promtool check metrics < " + std::string(path) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buf[512];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

bool promtool_available() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("values print in their shortest round-trip form", "[http][exposition]") {
  CHECK(format_value(1) == "1");
  CHECK(format_value(0) == "0");
  CHECK(format_value(0.5) == "0.5");
  CHECK(format_value(-2.25) == "-2.25");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(1e-06) == "1e-06");
  CHECK(format_value(123456789012) == "123456789012");
  CHECK(format_value(1e21) == "1e+21");
}

TEST_CASE("non-finite values are spelled as Prometheus expects", "[http][exposition]") {
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
}

TEST_CASE("every formatted value parses back to the same double", "[http][exposition]") {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::uint64_t> bits;
  for (int i = 0; i < 10000; ++i) {
    double value;
    const auto raw = bits(rng);
    std::memcpy(&value, &raw, sizeof value);
    if (!std::isfinite(value)) continue;
    const auto text = format_value(value);
    INFO(text);
    REQUIRE(std::strtod(text.c_str(), nullptr) == value);
  }
  CHECK(std::strtod(format_value(std::numeric_limits<double>::denorm_min()).c_str(), nullptr) ==
        std::numeric_limits<double>::denorm_min());
  CHECK(std::strtod(format_value(-std::numeric_limits<double>::max()).c_str(), nullptr) ==
        -std::numeric_limits<double>::max());
}

TEST_CASE("a family writes its HELP and TYPE lines", "[http][exposition]") {
  exposition_writer w;
  w.family("kepler_node_cpu_joules_total", "Energy consumption of cpu at node level in joules", metric_type::counter);
  w.family("kepler_node_cpu_watts", "Power", metric_type::gauge);
  CHECK(w.take() ==
        "# HELP kepler_node_cpu_joules_total Energy consumption of cpu at node level in joules\n"
        "# TYPE kepler_node_cpu_joules_total counter\n"
        "# HELP kepler_node_cpu_watts Power\n"
        "# TYPE kepler_node_cpu_watts gauge\n");
}

TEST_CASE("help text escapes backslash and newline but not quotes", "[http][exposition]") {
  exposition_writer w;
  w.family("m", "a\\b\nc \"q\"", metric_type::gauge);
  CHECK(w.take() == "# HELP m a\\\\b\\nc \"q\"\n# TYPE m gauge\n");
}

TEST_CASE("samples list labels in the given order inside braces", "[http][exposition]") {
  exposition_writer w;
  w.sample("kepler_node_cpu_watts", {{"zone", "package"}, {"path", "/sys/class/powercap/intel-rapl:0"}}, 23.4);
  CHECK(w.take() == "kepler_node_cpu_watts{zone=\"package\",path=\"/sys/class/powercap/intel-rapl:0\"} 23.4\n");
}

TEST_CASE("a sample without labels has no braces", "[http][exposition]") {
  exposition_writer w;
  w.sample("kepler_node_cpu_usage_ratio", {}, 0.175);
  CHECK(w.take() == "kepler_node_cpu_usage_ratio 0.175\n");
}

TEST_CASE("label values escape backslash, double quote and newline", "[http][exposition]") {
  exposition_writer w;
  w.sample("m", {{"a", "C:\\dir"}, {"b", "say \"hi\""}, {"c", "two\nlines"}, {"d", ""}}, 1);
  CHECK(w.take() == "m{a=\"C:\\\\dir\",b=\"say \\\"hi\\\"\",c=\"two\\nlines\",d=\"\"} 1\n");
}

TEST_CASE("labels can come from a span built at run time", "[http][exposition]") {
  std::vector<label> labels{{"pid", "42"}, {"comm", "bash"}};
  exposition_writer w;
  w.sample("m", std::span<const label>(labels), std::numeric_limits<double>::infinity());
  CHECK(w.take() == "m{pid=\"42\",comm=\"bash\"} +Inf\n");
}

TEST_CASE("take hands over the document and leaves the writer empty", "[http][exposition]") {
  exposition_writer w;
  w.reserve(1024);
  w.sample("a", {}, 1);
  CHECK(w.take() == "a 1\n");
  w.sample("b", {}, 2);
  CHECK(w.take() == "b 2\n");
}

TEST_CASE("a rendered document passes promtool check metrics", "[http][exposition][promtool]") {
  if (!promtool_available()) {
    WARN("promtool not installed: skipping the promtool check");
    return;
  }
  exposition_writer w;
  w.family("kepler_node_cpu_usage_ratio", "CPU usage ratio of a node (value between 0.0 and 1.0)", metric_type::gauge);
  w.sample("kepler_node_cpu_usage_ratio", {{"node_name", ""}}, 0.175);
  w.family("kepler_process_cpu_joules_total", "Energy consumption of cpu at process level in joules",
           metric_type::counter);
  w.sample("kepler_process_cpu_joules_total",
           {{"pid", "4242"},
            {"comm", "we\"ird\\name"},
            {"exe", "/usr/bin/stress-ng"},
            {"type", "regular"},
            {"state", "running"},
            {"container_id", ""},
            {"vm_id", ""},
            {"zone", "package"},
            {"node_name", "n1"}},
           123456789012.5);
  w.sample("kepler_process_cpu_joules_total",
           {{"pid", "7"},
            {"comm", "line\nbreak"},
            {"exe", ""},
            {"type", "regular"},
            {"state", "terminated"},
            {"container_id", ""},
            {"vm_id", ""},
            {"zone", "package"},
            {"node_name", "n1"}},
           1e-06);
  w.family("kepler_process_cpu_watts", "Power consumption of cpu at process level in watts\nsecond line",
           metric_type::gauge);
  w.sample("kepler_process_cpu_watts", {{"pid", "1"}}, std::numeric_limits<double>::quiet_NaN());
  w.sample("kepler_process_cpu_watts", {{"pid", "2"}}, std::numeric_limits<double>::infinity());
  w.sample("kepler_process_cpu_watts", {{"pid", "3"}}, -std::numeric_limits<double>::infinity());
  w.sample("kepler_process_cpu_watts", {{"pid", "4"}}, 0);
  const auto [status, output] = promtool_check(w.take());
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}
