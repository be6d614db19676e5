#include "sensors/proc/process_scanner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <unordered_set>

#include "base/descriptor_budget.hpp"
#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_dir;

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
std::string stat_line(int pid, const std::string& comm, uint64_t utime, uint64_t stime, uint64_t starttime,
                      int threads = 1) {
  return std::to_string(pid) + " (" + comm + ") S 1 " + std::to_string(pid) + " " + std::to_string(pid) +
         " 0 -1 4194560 100 0 0 0 " + std::to_string(utime) + " " + std::to_string(stime) + " 0 0 20 0 " +
         std::to_string(threads) + " 0 " + std::to_string(starttime) +
         " 1000000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
}

uint64_t ticks_to_ns(uint64_t ticks) { return ticks * 1'000'000'000u / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)); }

/// Rewrites a file in place, as procfs regenerates its text: a kept descriptor sees the new
/// content. (temp_dir::write replaces the file, which a kept descriptor would never see.)
void rewrite(const temp_dir& t, const std::string& rel, const std::string& content) {
  std::ofstream(t.path(rel), std::ios::binary | std::ios::trunc) << content;
}

/// Descriptors this test process holds (the listing's own one included, the same every time).
std::size_t open_descriptor_count() {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

/// A soft RLIMIT_NOFILE under which about `free` more descriptors can be opened (those
/// already open at or above it stay open; new ones must be lower than the limit).
rlim_t limit_leaving_free(std::size_t free) {
  std::unordered_set<int> open;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    open.insert(std::stoi(entry.path().filename().string()));
  int fd = 0;
  for (std::size_t seen = 0;; ++fd) {
    if (open.count(fd) != 0) continue;
    if (++seen == free) break;
  }
  return static_cast<rlim_t>(fd) + 1;
}

/// Restores RLIMIT_NOFILE as it was at construction.
class file_limit_guard {
 public:
  file_limit_guard() { REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0); }
  ~file_limit_guard() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  file_limit_guard(const file_limit_guard&) = delete;
  file_limit_guard& operator=(const file_limit_guard&) = delete;
  const rlimit& saved() const { return saved_; }

 private:
  rlimit saved_{};
};

/// A fake procfs of `count` processes with pids 1.., start times 100 + pid, utime = pid.
void write_fake_processes(const temp_dir& t, int count) {
  t.write("proc/stat", "cpu  100 0 50 1000 0 0 0 0 0 0\nbtime 1700000000\n");
  for (int pid = 1; pid <= count; ++pid) {
    const std::string name = std::to_string(pid);
    t.write("proc/" + name + "/stat", stat_line(pid, std::string("p").append(name), static_cast<uint64_t>(pid), 0,
                                                100 + static_cast<uint64_t>(pid)));
  }
}

/// A fake procfs with two readable processes and some entries the scanner must ignore.
void write_fake_procfs(const temp_dir& t) {
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
  temp_dir t;
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
  CHECK(scanner.open_files() == 2);  // not the garbage one
  CHECK(table.value().fallback_reads == 0);
}

TEST_CASE("metadata is read once per (pid, start time) and pruned when the process is gone", "[process_scanner]") {
  temp_dir t;
  write_fake_procfs(t);
  process_scanner scanner(t.path("proc"));
  const auto first = scanner.scan();
  REQUIRE(first.ok());
  const auto first_info = find_pid(first.value(), 1)->info;

  // Same process, new name and binary: the cached metadata stays, cpu time moves on.
  rewrite(t, "proc/1/stat", stat_line(1, "renamed", 300, 60, 7));
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

  // The pid is reused by a new process: a new key, fresh metadata, the old entry pruned. The
  // kept file shows another start time, so it is reopened rather than trusted.
  rewrite(t, "proc/1/stat", stat_line(1, "reborn", 1, 0, 5000));
  t.remove("proc/22");
  const auto third = scanner.scan();
  REQUIRE(third.ok());
  REQUIRE(third.value().processes.size() == 1);
  const auto& reborn = third.value().processes.front();
  CHECK(reborn.key == process_key{1, 5000});
  CHECK(reborn.info->comm == "reborn");
  CHECK(reborn.info->exe == "/usr/bin/other");
  CHECK(scanner.cached_processes() == 1);
  CHECK(scanner.open_files() == 1);
}

TEST_CASE("a scan fails only when /proc/stat or the listing cannot be read", "[process_scanner]") {
  temp_dir t;
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
  SECTION("no procfs at all") { CHECK_FALSE(process_scanner(t.path("missing")).scan().ok()); }
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

TEST_CASE("a scan is stamped on the boot clock that process start times use", "[process_scanner][proc]") {
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

TEST_CASE("a child started by the test appears and disappears with its process", "[process_scanner][proc]") {
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

TEST_CASE("a one-thread process's cpu time comes in ns from schedstat, never going back", "[process_scanner]") {
  temp_dir t;
  t.write("proc/stat", "cpu  100 0 50 1000 0 0 0 0 0 0\nbtime 1700000000\n");
  t.write("proc/7/stat", stat_line(7, "light", 0, 0, 70));  // not one 10 ms tick yet
  t.write("proc/7/schedstat", "4321987 1000 42\n");
  t.write("proc/8/stat", stat_line(8, "threads", 300, 100, 80, 4));
  t.write("proc/8/schedstat", "999 0 1\n");  // its main thread's alone: not the process's
  process_scanner scanner(t.path("proc"));
  const auto first = scanner.scan();
  REQUIRE(first.ok());
  CHECK(find_pid(first.value(), 7)->cpu_ns == 4321987);
  CHECK(find_pid(first.value(), 8)->cpu_ns == ticks_to_ns(400));
  CHECK(scanner.open_files() == 3);  // two stat files, one schedstat

  // Process 7 starts a second thread: its ticks (10 ms) now count, not its main thread.
  rewrite(t, "proc/7/stat", stat_line(7, "light", 1, 0, 70, 2));
  rewrite(t, "proc/7/schedstat", "4400000 1000 43\n");
  const auto second = scanner.scan();
  REQUIRE(second.ok());
  CHECK(find_pid(second.value(), 7)->cpu_ns == ticks_to_ns(1));
  CHECK(scanner.open_files() == 2);  // its schedstat closed

  // Fewer ticks than the ns reported before: the counter holds (a counter never decreases).
  rewrite(t, "proc/7/stat", stat_line(7, "light", 0, 0, 70, 2));
  const auto third = scanner.scan();
  REQUIRE(third.ok());
  CHECK(find_pid(third.value(), 7)->cpu_ns == ticks_to_ns(1));

  // One thread again: ns from schedstat as soon as they are ahead.
  rewrite(t, "proc/7/stat", stat_line(7, "light", 1, 0, 70, 1));
  rewrite(t, "proc/7/schedstat", "12500000 1000 50\n");
  const auto fourth = scanner.scan();
  REQUIRE(fourth.ok());
  CHECK(find_pid(fourth.value(), 7)->cpu_ns == 12500000);
  CHECK(scanner.open_files() == 3);
}

TEST_CASE("a light process's cpu time is what the kernel counts in ns, not in 10 ms ticks", "[process_scanner][proc]") {
  // `sleep` (exec'd, so one thread even when this test runs under a sanitizer): it ran for a
  // fraction of a millisecond, which its stat ticks do not show.
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  const std::string dir = "/proc/" + std::to_string(pid);
  for (int wait = 0; wait < 200 && test::whole_file(dir + "/comm") != "sleep\n"; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // asleep
  const auto schedstat_ns = [&dir] { return parse_schedstat_run_ns(test::whole_file(dir + "/schedstat")).value(); };
  process_scanner scanner("/proc");
  const uint64_t before = schedstat_ns();
  const auto table = scanner.scan();
  const uint64_t after = schedstat_ns();
  const auto stat = parse_pid_stat(test::whole_file(dir + "/stat"));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  REQUIRE(table.ok());
  REQUIRE(stat.ok());
  REQUIRE(stat.value().num_threads == 1);
  const auto* child = find_pid(table.value(), pid);
  REQUIRE(child != nullptr);
  CHECK(child->cpu_ns >= before);
  CHECK(child->cpu_ns <= after);
  CHECK(child->cpu_ns > 0);
  CHECK(child->cpu_ns >= ticks_to_ns(stat.value().utime + stat.value().stime));
  CHECK(child->cpu_ns % ticks_to_ns(1) != 0);  // not a whole number of ticks (1 in 10^7 that it is)
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

TEST_CASE("with max_open_files = 2 every process is still reported, the rest read and closed", "[process_scanner]") {
  temp_dir t;
  write_fake_processes(t, 10);
  const std::size_t baseline = open_descriptor_count();
  process_scanner scanner(t.path("proc"), 2);
  const auto first = scanner.scan();
  REQUIRE(first.ok());
  REQUIRE(first.value().processes.size() == 10);
  CHECK(first.value().skipped == 0);
  CHECK(first.value().fallback_reads == 8);
  CHECK(scanner.open_files() == 2);
  CHECK(scanner.cached_processes() == 10);
  CHECK(open_descriptor_count() == baseline + 2);
  std::map<int32_t, std::shared_ptr<const process_info>> infos;
  for (const auto& p : first.value().processes) infos[p.key.pid] = p.info;

  for (int pid = 1; pid <= 10; ++pid)
    rewrite(t, "proc/" + std::to_string(pid) + "/stat",
            stat_line(pid, "renamed", static_cast<uint64_t>(pid) + 5, 0, 100 + static_cast<uint64_t>(pid)));
  const auto second = scanner.scan();
  REQUIRE(second.ok());
  REQUIRE(second.value().processes.size() == 10);
  CHECK(second.value().skipped == 0);
  CHECK(second.value().fallback_reads == 8);
  for (const auto& p : second.value().processes) {
    CHECK(p.key.start_ticks == 100 + static_cast<uint64_t>(p.key.pid));
    CHECK(p.cpu_ns == ticks_to_ns(static_cast<uint64_t>(p.key.pid) + 5));
    CHECK(p.info == infos[p.key.pid]);  // metadata read once, kept file or not
  }
  CHECK(scanner.open_files() == 2);
  CHECK(open_descriptor_count() == baseline + 2);

  for (int pid = 1; pid <= 10; ++pid) t.remove("proc/" + std::to_string(pid));
  const auto empty = scanner.scan();
  REQUIRE(empty.ok());
  CHECK(empty.value().processes.empty());
  CHECK(scanner.open_files() == 0);
  CHECK(open_descriptor_count() == baseline);
}

TEST_CASE("running out of descriptors falls back to open/read/close and reports everyone", "[process_scanner]") {
  temp_dir t;
  write_fake_processes(t, 40);
  process_scanner scanner(t.path("proc"), 1000);
  result<process_table> first = make_error("not scanned"), second = make_error("not scanned");
  {
    file_limit_guard guard;
    rlimit tight = guard.saved();
    tight.rlim_cur = limit_leaving_free(8);  // /proc/stat and the listing, then 6 to keep
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    first = scanner.scan();
    second = scanner.scan();
  }
  REQUIRE(first.ok());
  CHECK(first.value().processes.size() == 40);
  CHECK(first.value().skipped == 0);
  CHECK(first.value().fallback_reads > 0);
  REQUIRE(second.ok());
  CHECK(second.value().processes.size() == 40);
  CHECK(second.value().skipped == 0);
  CHECK(scanner.max_open_files() < 40);  // capped where descriptors ran out
  CHECK(scanner.open_files() <= scanner.max_open_files());
}

TEST_CASE("the default budget raises the soft descriptor limit and leaves 256 and the connections to the daemon",
          "[process_scanner]") {
  file_limit_guard guard;
  const rlimit& before = guard.saved();
  const std::size_t budget = raise_open_file_limit();
  rlimit after{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_max == before.rlim_max);
  const rlim_t wanted = std::min<rlim_t>(before.rlim_max, rlim_t{1} << 20);
  CHECK(after.rlim_cur == std::max(before.rlim_cur, wanted));
  const rlim_t soft = std::min<rlim_t>(after.rlim_cur, rlim_t{1} << 20);
  const auto rest = soft > 256 ? static_cast<std::size_t>(soft) - 256 : 0;
  CHECK(budget == rest - std::min(rest / 2, max_http_connections));  // the metrics server's share
  CHECK(process_scanner("/proc").max_open_files() == budget);
}

TEST_CASE("a kept /proc/<pid>/stat file fails with ESRCH once its process is reaped", "[process_scanner][proc]") {
  auto child = std::make_unique<child_process>(child_process::mode::idle);
  int err = 0;
  const kept_file file = kept_file::open_at(AT_FDCWD, ("/proc/" + std::to_string(child->pid()) + "/stat").c_str(), err);
  REQUIRE(file.is_open());
  char line[2048];
  CHECK(file.read_from_start(line, sizeof line) > 0);
  CHECK(file.read_from_start(line, sizeof line) > 0);  // re-readable from offset 0
  child.reset();                                       // killed and reaped
  CHECK(file.read_from_start(line, sizeof line) == -ESRCH);
}

TEST_CASE("a listed pid whose kept file fails with ESRCH is dropped, never reported stale", "[process_scanner][proc]") {
  // A fake procfs whose only process is a link to a real child's stat: after the child is
  // reaped, the pid is still listed but the kept file fails (as when a pid is reused).
  temp_dir t;
  t.write("proc/stat", "cpu  100 0 50 1000 0 0 0 0 0 0\n");
  auto child = std::make_unique<child_process>(child_process::mode::idle);
  const pid_t pid = child->pid();
  t.mkdir("proc/" + std::to_string(pid));
  std::filesystem::create_symlink("/proc/" + std::to_string(pid) + "/stat",
                                  t.path("proc/" + std::to_string(pid) + "/stat"));
  process_scanner scanner(t.path("proc"), 16);
  const auto first = scanner.scan();
  REQUIRE(first.ok());
  REQUIRE(find_pid(first.value(), pid) != nullptr);
  CHECK(scanner.open_files() == 1);

  child.reset();
  const auto second = scanner.scan();
  REQUIRE(second.ok());
  CHECK(second.value().processes.empty());
  CHECK(second.value().skipped == 0);
  CHECK(scanner.open_files() == 0);
  CHECK(scanner.cached_processes() == 0);
}

TEST_CASE("kept stat files are closed when their process ends, and none outlive the scanner",
          "[process_scanner][proc]") {
  const std::size_t baseline = open_descriptor_count();
  {
    process_scanner scanner("/proc");
    auto child = std::make_unique<child_process>(child_process::mode::idle);
    const pid_t pid = child->pid();
    const auto with_child = scanner.scan();
    REQUIRE(with_child.ok());
    REQUIRE(find_pid(with_child.value(), pid) != nullptr);
    // A stat file per process, and a schedstat file per one-thread process.
    const std::size_t kept_before = scanner.open_files();
    CHECK(kept_before > with_child.value().processes.size());
    CHECK(kept_before <= 2 * with_child.value().processes.size());
    CHECK(open_descriptor_count() == baseline + kept_before);

    child.reset();  // killed and reaped
    const auto without_child = scanner.scan();
    REQUIRE(without_child.ok());
    CHECK(find_pid(without_child.value(), pid) == nullptr);
    // Other processes of the machine may start or end between the scans: count them.
    std::unordered_set<process_key, process_key_hash> before_keys, after_keys;
    for (const auto& p : with_child.value().processes) before_keys.insert(p.key);
    for (const auto& p : without_child.value().processes) after_keys.insert(p.key);
    std::size_t ended = 0, started = 0;
    for (const auto& key : before_keys) ended += after_keys.count(key) == 0 ? 1 : 0;
    for (const auto& key : after_keys) started += before_keys.count(key) == 0 ? 1 : 0;
    CHECK(ended >= 1);
    CHECK(scanner.open_files() >= without_child.value().processes.size());
    CHECK(scanner.open_files() <= 2 * without_child.value().processes.size());
    if (started == 0) CHECK(scanner.open_files() < kept_before);
    CHECK(open_descriptor_count() == baseline + scanner.open_files());
  }
  CHECK(open_descriptor_count() == baseline);
}
