// /api/v1/summary's document: its exact shape for a small node, and JSON that stays valid
// whatever bytes the machine's names hold.

#include <cmath>

#include <catch2/catch.hpp>

#include "metrics/json_writer.hpp"
#include "metrics/summary.hpp"
#include "test/support/process_info.hpp"

using namespace kepler;

namespace {

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string html(std::string_view text) {
  std::string out;
  append_html(out, text);
  return out;
}

}  // namespace

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[metrics][json]") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string("tab\there\nnew\rline") == R"("tab\there\nnew\rline")");
  CHECK(json_string(std::string("\x01\x1f\x7f", 3)) == R"("\u0001\u001f\u007f")");
  CHECK(json_string(std::string("nul\0in", 6)) == R"("nul\u0000in")");
  CHECK(json_string("</script>") == "\"</script>\"");
}

TEST_CASE("invalid UTF-8 becomes U+FFFD, valid UTF-8 is kept", "[metrics][json]") {
  CHECK(json_string("größe €") == "\"größe €\"");
  CHECK(json_string("\xF0\x9F\x94\x8B") == "\"\xF0\x9F\x94\x8B\"");  // 🔋, four bytes
  CHECK(json_string("a\xFF"
                    "b") ==
        "\"a\xEF\xBF\xBD"
        "b\"");
  CHECK(json_string("\xC3") == "\"\xEF\xBF\xBD\"");                                  // cut short
  CHECK(json_string("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong '/'
  CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
  CHECK(json_string("\xF4\x90\x80\x80").find("\xEF\xBF\xBD") != std::string::npos);  // above U+10FFFF
  std::string valid;
  append_valid_utf8(valid, "ok\xFE");
  CHECK(valid == "ok\xEF\xBF\xBD");
}

TEST_CASE("HTML escaping leaves no markup in text", "[metrics][json]") {
  CHECK(html("<script>alert('x') & \"y\"</script>") ==
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  CHECK(html(std::string("bell\x07", 5)) == "bell?");
  CHECK(html("caf\xE9") == "caf\xEF\xBF\xBD");
}

TEST_CASE("numbers: shortest round trip, null for what JSON cannot hold", "[metrics][json]") {
  json_writer json;
  json.begin_array().value(0.1).value(40.0).value(1e21).value(-2.5).value(NAN).value(INFINITY);
  json.value(uint64_t{18446744073709551615ULL}).value(std::optional<double>()).value(true).end_array();
  CHECK(json.take() == "[0.1,40,1e+21,-2.5,null,null,18446744073709551615,null,true]");
}

TEST_CASE("the writer puts commas between values and keys, nested", "[metrics][json]") {
  json_writer json;
  json.begin_object().key("a").value(uint64_t{1}).key("b").begin_array().begin_object().end_object();
  json.begin_array().end_array().value("x").end_array().key("c").null().end_object();
  CHECK(json.take() == R"({"a":1,"b":[{},[],"x"],"c":null})");
}

TEST_CASE("the summary document of a small node, field by field", "[metrics][json]") {
  snapshot snap;
  snap.sequence = 7;
  snap.wall_ns = 1'700'000'000'250'000'000;
  snap.usage_ratio = 0.5;
  snap.zones.resize(1);
  auto& package = snap.zones[0];
  package.name = "package";
  package.watts = 40;
  package.active_watts = 20;
  package.idle_watts = 20;
  package.total_uj = 400'000'000;
  package.active_uj = 200'000'000;
  auto info = std::make_shared<process_info>(testing::regular_process("burn \"hot\"", "/bin/sh"));
  snap.running.push_back(process_row{{4242, 9}, info, 0, 0, 0});
  snap.running_watts = {15};
  snap.running_energy_uj = {150'000'000};
  snap.sources = {{"rapl", "package-0", true, 0, 1'700'000'000}};
  snap.collection_seconds = 0.002;
  snap.self = self_stats{0.5, 1048576, 12, 1'699'999'990};
  summary_context context{"node-1", "0.1.0", 5, {{"package", "rapl", meter_method::counter, ""}}};
  power_history history(4);
  const auto mark = history.record(snap);

  const auto json = summary_json(make_summary(snap, context, &history, mark));
  const std::string expected =
      R"({"version":1,"node":"node-1","kepler_version":"0.1.0","sequence":7,"time":1700000000.25,)"
      R"("interval_seconds":5,"usage_ratio":0.5,"ranked_zone":"package",)"
      R"("zones":[{"name":"package","watts":40,"active_watts":20,"idle_watts":20,"joules":400,)"
      R"("active_joules":200,"meter":{"source":"rapl","method":"counter","model":""}}],)"
      R"("processes":{"count":1,"top":[{"id":"4242","name":"burn \"hot\"","kind":"regular","pod":"",)"
      R"("namespace":"","watts":15,"share":0.75,"joules":150}],"others":{"count":0,"watts":0,"share":0},)"
      R"("outside":{"watts":5,"share":0.25}},)"
      R"("containers":{"count":0,"top":[],"others":{"count":0,"watts":0,"share":0},)"
      R"("outside":{"watts":20,"share":1}},)"
      R"("pods":{"count":0,"top":[],"others":{"count":0,"watts":0,"share":0},"outside":{"watts":20,"share":1}},)"
      R"("vms":{"count":0,"top":[],"others":{"count":0,"watts":0,"share":0},"outside":{"watts":20,"share":1}},)"
      R"("cpu_time":{"source":"procfs","bpf_attach_mode":""},"pod_source":null,)"
      R"("exporter":{"sources":[{"source":"rapl","zone":"package-0","up":true,"errors":0,)"
      R"("last_success":1700000000}],"restarts":0,"restarted":[],"collection_seconds":0.002,)"
      R"("cpu_ratio":null,"cpu_seconds":0.5,"resident_bytes":1048576,"open_fds":12,)"
      R"("start_time":1699999990,"http_drops":0},)"
      R"("history":{"zones":["package"],"points":[[1700000000.25,40]]}})";
  CHECK(json == expected);
}
