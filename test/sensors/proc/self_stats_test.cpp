#include "sensors/proc/self_stats.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <ctime>
#include <vector>

#include "test/sensors/test_support.hpp"

using namespace kepler;

TEST_CASE("self stats of a fake procfs follow its files", "[self_stats]") {
  kepler::test::temp_dir t;
  t.write("proc/stat", "cpu  1 2 3 4 5 6 7 8 9 10\nbtime 1700000000\n");
  t.write("proc/self/stat",
          "77 (kepler) S 1 77 77 0 -1 4194560 10 0 0 0 250 150 0 0 20 0 9 0 1234 10000 300 "
          "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n");
  for (const char* fd : {"1000", "1001", "1002"}) t.write(std::string("proc/self/fd/") + fd, "");

  const auto stats = read_self_stats(t.path("proc"));
  REQUIRE(stats.ok());
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  CHECK(stats.value().cpu_seconds == Approx(400 / hz));
  CHECK(stats.value().resident_bytes == 300u * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
  CHECK(stats.value().open_fds == 3);
  CHECK(stats.value().start_time_seconds == Approx(1700000000.0 + 1234 / hz));
}

TEST_CASE("self stats of this process are plausible and count its descriptors", "[self_stats]") {
  // Burn 50 ms of cpu (not wall time: the machine may be busy) so the tick-based counters
  // are non-zero.
  const auto cpu_now = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const double until = cpu_now() + 0.05;
  for (volatile uint64_t spins = 0; cpu_now() < until;) spins = spins + 1;

  const auto before = read_self_stats("/proc");
  REQUIRE(before.ok());
  CHECK(before.value().cpu_seconds > 0);
  CHECK(before.value().resident_bytes > 0);
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(before.value().start_time_seconds <= now + 1);
  CHECK(before.value().start_time_seconds > now - 3600);

  std::vector<int> extra;
  for (int i = 0; i < 3; ++i) extra.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const auto after = read_self_stats("/proc");
  for (int fd : extra) ::close(fd);
  REQUIRE(after.ok());
  CHECK(after.value().open_fds == before.value().open_fds + 3);
}

TEST_CASE("self stats report a missing procfs as an error", "[self_stats]") {
  kepler::test::temp_dir t;
  const auto stats = read_self_stats(t.path("proc"));
  REQUIRE_FALSE(stats.ok());
  CHECK_THAT(stats.error_message(), Catch::Contains(t.path("proc")));
}
