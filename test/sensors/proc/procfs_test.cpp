#include "sensors/proc/procfs.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <set>

#include "test/sensors/test_support.hpp"
#include "test/support/child_process.hpp"

using namespace kepler;
using kepler::test::read_tsv;

namespace {

std::string procfs_fixture(const std::string& rel) { return kepler::test::fixtures_dir() + "/procfs/" + rel; }

uint64_t u64(const std::string& text) { return std::stoull(text); }

}  // namespace

TEST_CASE("every pid stat fixture parses to its expected fields", "[procfs]") {
  const auto rows = read_tsv(procfs_fixture("pid_stat/cases.tsv"));
  REQUIRE(rows.size() >= 20);
  for (const auto& row : rows) {
    const auto& file = row.at("file");
    INFO(file);
    const auto parsed = parse_pid_stat(test::whole_file(procfs_fixture("pid_stat/" + file)));
    REQUIRE(parsed.ok());
    const auto& s = parsed.value();
    CHECK(s.pid == std::stoi(row.at("pid")));
    CHECK(s.comm == row.at("comm"));
    CHECK(std::string(1, s.state) == row.at("state"));
    CHECK(s.ppid == std::stoi(row.at("ppid")));
    CHECK(s.utime == u64(row.at("utime")));
    CHECK(s.stime == u64(row.at("stime")));
    CHECK(s.num_threads == std::stoll(row.at("num_threads")));
    CHECK(s.starttime == u64(row.at("starttime")));
    CHECK(s.rss_pages == std::stoll(row.at("rss_pages")));
    CHECK(s.processor == std::stoi(row.at("processor")));
    CHECK(s.field_count == u64(row.at("nfields")));
  }
}

TEST_CASE("a comm holding parentheses and spaces ends at the last parenthesis", "[procfs]") {
  const auto parsed = parse_pid_stat("42 (a) b (c)) R 1 42 42 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 2 0 99 1000 5\n");
  REQUIRE(parsed.ok());
  CHECK(parsed.value().comm == "a) b (c)");
  CHECK(parsed.value().state == 'R');
  CHECK(parsed.value().utime == 7);
  CHECK(parsed.value().stime == 3);
  CHECK(parsed.value().starttime == 99);
  CHECK(parsed.value().rss_pages == 5);
  CHECK(parsed.value().field_count == 24);
  CHECK(parsed.value().processor == 0);  // not present on this short line
}

TEST_CASE("malformed pid stat lines are errors", "[procfs]") {
  CHECK_FALSE(parse_pid_stat("").ok());
  CHECK_FALSE(parse_pid_stat("42 comm S 1 2 3").ok());                                           // no parentheses
  CHECK_FALSE(parse_pid_stat("x (sh) S 1 2 3 4 5 6 7 8 9 10 11 12").ok());                       // bad pid
  CHECK_FALSE(parse_pid_stat("42 (sh) S 1 42 42 0 -1 0 0 0 0 0 1 2").ok());                      // truncated
  CHECK_FALSE(parse_pid_stat("42 (sh) S 1 42 42 0 -1 0 0 0 0 0 x 2 0 0 20 0 1 0 9 1 1").ok());   // utime
  CHECK_FALSE(parse_pid_stat("42 (sh) SS 1 42 42 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9 1 1").ok());  // state
}

TEST_CASE("every proc stat fixture gives its aggregate cpu columns and boot time", "[procfs]") {
  const auto rows = read_tsv(procfs_fixture("proc_stat/expected.tsv"));
  REQUIRE(rows.size() == 3);
  for (const auto& row : rows) {
    INFO(row.at("file"));
    const auto text = test::whole_file(procfs_fixture("proc_stat/" + row.at("file")));
    const auto parsed = parse_proc_stat(text);
    REQUIRE(parsed.ok());
    const auto& t = parsed.value();
    CHECK(t.user == u64(row.at("cpu_user")));
    CHECK(t.nice == u64(row.at("cpu_nice")));
    CHECK(t.system == u64(row.at("cpu_system")));
    CHECK(t.idle == u64(row.at("cpu_idle")));
    CHECK(t.iowait == u64(row.at("cpu_iowait")));
    CHECK(t.irq == u64(row.at("cpu_irq")));
    CHECK(t.softirq == u64(row.at("cpu_softirq")));
    CHECK(t.steal == u64(row.at("cpu_steal")));
    CHECK(t.guest == u64(row.at("cpu_guest")));
    CHECK(t.guest_nice == u64(row.at("cpu_guest_nice")));
    CHECK(t.busy() == t.user + t.nice + t.system + t.irq + t.softirq + t.steal);
    CHECK(t.total() == t.busy() + t.idle + t.iowait);

    const auto boot_time = parse_boot_time(text);
    if (row.at("btime") == "-") {
      CHECK_FALSE(boot_time.ok());
    } else {
      REQUIRE(boot_time.ok());
      CHECK(boot_time.value() == u64(row.at("btime")));
    }
  }
}

TEST_CASE("an old kernel's four-column cpu line is accepted, fewer columns are not", "[procfs]") {
  const auto old = parse_proc_stat("cpu  10 20 30 40\ncpu0 10 20 30 40\n");
  REQUIRE(old.ok());
  CHECK(old.value().idle == 40);
  CHECK(old.value().iowait == 0);
  CHECK_FALSE(parse_proc_stat("cpu  10 20 30\n").ok());
  CHECK_FALSE(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\n").ok());  // no aggregate line
  CHECK_FALSE(parse_proc_stat("cpu  1 2 x 4 5\n").ok());
  CHECK_FALSE(parse_proc_stat("").ok());
}

TEST_CASE("usage is the busy share of the window between two samples", "[procfs]") {
  cpu_times a;
  a.user = 100;
  a.idle = 900;
  cpu_times b = a;
  b.user += 30;
  b.system += 10;
  b.steal += 10;
  b.idle += 40;
  b.iowait += 10;
  CHECK(usage_ratio(a, b) == Approx(0.5));
  CHECK(usage_ratio(a, a) == 0.0);  // nothing elapsed
  CHECK(usage_ratio(b, a) == 0.0);  // counters went backwards
  cpu_times busy = a;
  busy.user += 100;
  CHECK(usage_ratio(a, busy) == 1.0);
  cpu_times idle = a;
  idle.idle += 100;
  CHECK(usage_ratio(a, idle) == 0.0);
  // iowait may go backwards on some kernels; the ratio must still stay within [0, 1].
  cpu_times with_iowait = a;
  with_iowait.iowait = 50;
  cpu_times iowait_dropped = with_iowait;
  iowait_dropped.iowait = 0;
  iowait_dropped.user += 100;  // Δbusy 100 > Δtotal 50
  CHECK(usage_ratio(with_iowait, iowait_dropped) == 1.0);
}

TEST_CASE("every cpuinfo fixture gives its cpu count, vendor, model and sockets", "[procfs]") {
  const auto rows = read_tsv(procfs_fixture("cpuinfo/expected.tsv"));
  REQUIRE(rows.size() == 5);
  for (const auto& row : rows) {
    INFO(row.at("file"));
    const auto cpus = parse_cpuinfo(test::whole_file(procfs_fixture("cpuinfo/" + row.at("file"))));
    REQUIRE(cpus.size() == u64(row.at("logical_cpus")));
    CHECK(cpus.front().vendor_id == row.at("vendor_id"));
    CHECK(cpus.front().model_name == row.at("model_name"));
    CHECK(cpus.front().cpu_cores == row.at("cpu_cores"));
    CHECK(cpus.front().siblings == row.at("siblings"));
    std::set<std::string> sockets;
    for (std::size_t i = 0; i < cpus.size(); ++i) {
      CHECK(cpus[i].processor == std::to_string(i));
      sockets.insert(cpus[i].physical_id);
    }
    CHECK(sockets.size() == u64(row.at("sockets(distinct physical id)")));
  }
}

TEST_CASE("a command line splits on NUL with trailing NULs dropped", "[procfs]") {
  using namespace std::string_literals;
  CHECK(parse_cmdline(""s).empty());
  CHECK(parse_cmdline("\0\0"s).empty());
  CHECK(parse_cmdline("/bin/sh\0-c\0echo hi\0"s) == std::vector<std::string>{"/bin/sh", "-c", "echo hi"});
  CHECK(parse_cmdline("a\0\0b"s) == std::vector<std::string>{"a", "", "b"});
  CHECK(parse_cmdline("no-nul"s) == std::vector<std::string>{"no-nul"});
}

TEST_CASE("USER_HZ comes from the kernel", "[procfs]") { CHECK(clock_ticks_per_second() == ::sysconf(_SC_CLK_TCK)); }

TEST_CASE("a whole file is read, and a missing one is an error naming it", "[procfs]") {
  kepler::test::temp_dir t;
  const std::string big(100000, 'x');  // longer than one read
  t.write("big", big);
  const auto text = read_text_file(t.path("big"));
  REQUIRE(text.ok());
  CHECK(text.value() == big);
  const auto missing = read_text_file(t.path("missing"));
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error_message(), Catch::Contains(t.path("missing")));
  // Files of /proc report size 0 but have content.
  const auto real = read_text_file("/proc/self/stat");
  REQUIRE(real.ok());
  CHECK(parse_pid_stat(real.value()).value().pid == ::getpid());
}

TEST_CASE("the start time in ns matches /proc's truncated clock ticks", "[procfs]") {
  CHECK(start_time_matches(1'234'567'890'123, 123'456, 100));  // 1234.56789 s → 123456 ticks
  CHECK(start_time_matches(1'234'567'890'123, 123'457, 100));  // one tick of slack
  CHECK_FALSE(start_time_matches(1'234'567'890'123, 123'460, 100));
  CHECK_FALSE(start_time_matches(1'234'567'890'123, 12'345, 100));
}

TEST_CASE("starttime is field 22 of a stat line even when comm holds ') '", "[procfs]") {
  std::string line =
      "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 98765 "
      "1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  CHECK(pid_stat_starttime(line) == 98765u);
  CHECK_FALSE(pid_stat_starttime("4242 (short) S 1 2 3"));
  CHECK_FALSE(pid_stat_starttime("no parenthesis"));
  CHECK(pid_stat_starttime(test::whole_file("/proc/self/stat")).has_value());
}

TEST_CASE("schedstat's first field is the main thread's time on a CPU in ns", "[procfs]") {
  CHECK(parse_schedstat_run_ns("4321987 1000 42\n") == 4321987u);
  CHECK(parse_schedstat_run_ns("0 0 0\n") == 0u);
  CHECK_FALSE(parse_schedstat_run_ns(""));
  CHECK_FALSE(parse_schedstat_run_ns("12345"));  // cut short: no end to the field
  CHECK_FALSE(parse_schedstat_run_ns("-5 1 2\n"));
  CHECK_FALSE(parse_schedstat_run_ns("x1 2 3\n"));
  CHECK(parse_schedstat_run_ns(test::whole_file("/proc/self/schedstat")).has_value());
}

TEST_CASE("a live process is alive and a reaped or reused one is not", "[procfs]") {
  uint64_t ticks = testing::proc_start_ticks(getpid());
  uint64_t ns_per_tick = 1'000'000'000u / uint64_t(sysconf(_SC_CLK_TCK));
  CHECK(process_alive("/proc", uint32_t(getpid()), ticks * ns_per_tick));
  CHECK_FALSE(process_alive("/proc", uint32_t(getpid()), (ticks + 50) * ns_per_tick));  // pid reused

  testing::child_process child([] {});
  child.go();
  child.wait();
  CHECK_FALSE(process_alive("/proc", uint32_t(child.pid()), 0));
}
