#include "sensors/process_scanner.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_tree;

namespace {

/// A forked child that idles or spins until the guard is destroyed.
class child_process {
 public:
  enum class mode { idle, busy };
  explicit child_process(mode m) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (m == mode::busy) {
        volatile uint64_t spins = 0;
        for (;;) spins = spins + 1;
      }
      for (;;) ::pause();
    }
    REQUIRE(pid_ > 0);
  }
  ~child_process() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

const process_sample* find_pid(const process_table& table, int32_t pid) {
  for (const auto& p : table.processes)
    if (p.key.pid == pid) return &p;
  return nullptr;
}

/// A /proc/<pid>/stat line with the fields the scanner uses.
std::string stat_line(int pid, const std::string& comm, uint64_t utime, uint64_t stime,
                      uint64_t starttime) {
  return std::to_string(pid) + " (" + comm + ") S 1 " + std::to_string(pid) + " " +
         std::to_string(pid) + " 0 -1 4194560 100 0 0 0 " + std::to_string(utime) + " " +
         std::to_string(stime) + " 0 0 20 0 1 0 " + std::to_string(starttime) +
         " 1000000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
}

uint64_t ticks_to_ns(uint64_t ticks) {
  return ticks * 1'000'000'000u / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
}

/// A fake procfs with two readable processes and some entries the scanner must ignore.
void write_fake_procfs(const temp_tree& t) {
  t.write("proc/stat", "cpu  100 0 50 1000 0 0 0 0 0 0\nbtime 1700000000\n");
  t.write("proc/1/stat", stat_line(1, "init", 150, 50, 7));
  std::filesystem::create_symlink("/usr/bin/one", t.path("proc/1/exe"));
  t.write("proc/22/stat", stat_line(22, "kworker/0:1-events", 0, 3, 9));  // no exe: kthread
  t.write("proc/333/stat", "garbage\n");
  t.mkdir("proc/4444");  // exited after the listing: no stat any more
  t.mkdir("proc/net");
  t.mkdir("proc/12a");
  std::filesystem::create_directory_symlink("1", t.path("proc/self"));
}

}  // namespace

TEST_CASE("a scan reports every readable pid with its cpu time and metadata", "[process_scanner]") {
  temp_tree t;
  write_fake_procfs(t);
  process_scanner scanner(t.path("proc"));
  const auto table = scanner.scan();
  REQUIRE(table.ok());
  CHECK(table.value().node.user == 100);
  CHECK(table.value().node.idle == 1000);
  CHECK(table.value().skipped == 1);  // the garbage stat; the vanished pid is silent
  REQUIRE(table.value().processes.size() == 2);

  const auto* init = find_pid(table.value(), 1);
  REQUIRE(init != nullptr);
  CHECK(init->key == process_key{1, 7});
  CHECK(init->cpu_ns == ticks_to_ns(200));
  CHECK(init->info->comm == "init");
  CHECK(init->info->exe == "/usr/bin/one");

  const auto* kthread = find_pid(table.value(), 22);
  REQUIRE(kthread != nullptr);
  CHECK(kthread->key == process_key{22, 9});
  CHECK(kthread->cpu_ns == ticks_to_ns(3));
  CHECK(kthread->info->comm == "kworker/0:1-events");
  CHECK(kthread->info->exe.empty());
  CHECK(scanner.cached_processes() == 2);
}

TEST_CASE("metadata is read once per (pid, start time) and pruned when the process is gone",
          "[process_scanner]") {
  temp_tree t;
  write_fake_procfs(t);
  process_scanner scanner(t.path("proc"));
  const auto first = scanner.scan();
  REQUIRE(first.ok());
  const auto first_info = find_pid(first.value(), 1)->info;

  // Same process, new name and binary: the cached metadata stays, cpu time moves on.
  t.write("proc/1/stat", stat_line(1, "renamed", 300, 60, 7));
  std::filesystem::remove(t.path("proc/1/exe"));
  std::filesystem::create_symlink("/usr/bin/other", t.path("proc/1/exe"));
  const auto second = scanner.scan();
  REQUIRE(second.ok());
  const auto* same = find_pid(second.value(), 1);
  REQUIRE(same != nullptr);
  CHECK(same->info == first_info);
  CHECK(same->info->comm == "init");
  CHECK(same->info->exe == "/usr/bin/one");
  CHECK(same->cpu_ns == ticks_to_ns(360));

  // The pid is reused by a new process: a new key, fresh metadata, the old entry pruned.
  t.write("proc/1/stat", stat_line(1, "reborn", 1, 0, 5000));
  t.remove("proc/22");
  const auto third = scanner.scan();
  REQUIRE(third.ok());
  REQUIRE(third.value().processes.size() == 1);
  const auto& reborn = third.value().processes.front();
  CHECK(reborn.key == process_key{1, 5000});
  CHECK(reborn.info->comm == "reborn");
  CHECK(reborn.info->exe == "/usr/bin/other");
  CHECK(scanner.cached_processes() == 1);
}

TEST_CASE("a scan fails only when /proc/stat or the listing cannot be read", "[process_scanner]") {
  temp_tree t;
  SECTION("no stat file") {
    t.mkdir("proc/1");
    const auto table = process_scanner(t.path("proc")).scan();
    REQUIRE_FALSE(table.ok());
    CHECK_THAT(table.error_message(), Catch::Contains(t.path("proc/stat")));
  }
  SECTION("garbage stat file") {
    t.write("proc/stat", "intr 1 2 3\n");
    const auto table = process_scanner(t.path("proc")).scan();
    REQUIRE_FALSE(table.ok());
    CHECK_THAT(table.error_message(), Catch::Contains(t.path("proc/stat")));
  }
  SECTION("no procfs at all") {
    CHECK_FALSE(process_scanner(t.path("missing")).scan().ok());
  }
}

TEST_CASE("a real /proc scan finds this test with its comm and exe", "[process_scanner][proc]") {
  process_scanner scanner("/proc");
  const auto table = scanner.scan();
  REQUIRE(table.ok());
  CHECK(table.value().node.total() > 0);
  const auto* self = find_pid(table.value(), ::getpid());
  REQUIRE(self != nullptr);
  char comm[16] = {};
  ::prctl(PR_GET_NAME, comm);
  CHECK(self->info->comm == comm);
  CHECK(self->info->exe == std::filesystem::read_symlink("/proc/self/exe").string());
  CHECK(scanner.cached_processes() == table.value().processes.size());
}

TEST_CASE("a scan is stamped on the boot clock that process start times use",
          "[process_scanner][proc]") {
  process_scanner scanner("/proc");
  const auto table = scanner.scan();
  REQUIRE(table.ok());
  CHECK(table.value().ns_per_tick * static_cast<uint64_t>(clock_ticks_per_second()) == 1'000'000'000);
  const auto* self = find_pid(table.value(), ::getpid());
  REQUIRE(self != nullptr);
  const uint64_t started_ns = self->key.start_ticks * table.value().ns_per_tick;
  CHECK(started_ns <= table.value().uptime_ns);
  CHECK(table.value().uptime_ns - started_ns < 600'000'000'000ull);  // this test began minutes ago at most
}

TEST_CASE("a child started by the test appears and disappears with its process",
          "[process_scanner][proc]") {
  process_scanner scanner("/proc");
  auto child = std::make_unique<child_process>(child_process::mode::idle);
  const pid_t pid = child->pid();
  const auto with_child = scanner.scan();
  REQUIRE(with_child.ok());
  const auto* seen = find_pid(with_child.value(), pid);
  REQUIRE(seen != nullptr);
  CHECK(seen->info->exe == std::filesystem::read_symlink("/proc/self/exe").string());

  child.reset();  // killed and reaped
  const auto without_child = scanner.scan();
  REQUIRE(without_child.ok());
  CHECK(find_pid(without_child.value(), pid) == nullptr);
  CHECK(scanner.cached_processes() == without_child.value().processes.size());
}

TEST_CASE("the cpu time of a busy child increases between scans", "[process_scanner][proc]") {
  process_scanner scanner("/proc");
  child_process child(child_process::mode::busy);
  const auto first = scanner.scan();
  REQUIRE(first.ok());
  REQUIRE(find_pid(first.value(), child.pid()) != nullptr);
  const uint64_t start_ns = find_pid(first.value(), child.pid())->cpu_ns;

  uint64_t latest_ns = start_ns;
  for (int attempt = 0; attempt < 40 && latest_ns <= start_ns; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto next = scanner.scan();
    REQUIRE(next.ok());
    REQUIRE(find_pid(next.value(), child.pid()) != nullptr);
    latest_ns = find_pid(next.value(), child.pid())->cpu_ns;
  }
  CHECK(latest_ns > start_ns);
}

TEST_CASE("a renamed process keeps its cached comm for the same key", "[process_scanner][proc]") {
  char original[16] = {};
  ::prctl(PR_GET_NAME, original);
  process_scanner scanner("/proc");
  const auto before = scanner.scan();
  REQUIRE(before.ok());
  const auto* self_before = find_pid(before.value(), ::getpid());
  REQUIRE(self_before != nullptr);
  const auto cached = self_before->info;

  ::prctl(PR_SET_NAME, "kepler-renamed");
  const auto after = scanner.scan();
  const auto fresh = process_scanner("/proc").scan();
  ::prctl(PR_SET_NAME, original);

  REQUIRE(after.ok());
  const auto* self_after = find_pid(after.value(), ::getpid());
  REQUIRE(self_after != nullptr);
  CHECK(self_after->key == self_before->key);
  CHECK(self_after->info == cached);
  CHECK(self_after->info->comm == original);
  // A scanner without the cache does see the new name, so the rename did happen.
  REQUIRE(fresh.ok());
  CHECK(find_pid(fresh.value(), ::getpid())->info->comm == "kepler-renamed");
}
