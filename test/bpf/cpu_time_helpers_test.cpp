// Tests that need no privileges: decoding helpers, liveness checks, loader error messages.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"
#include "bpf/map_batch.hpp"
#include "child_process.hpp"

using namespace kepler;

TEST_CASE("per-CPU values take 8-byte aligned slots for every possible CPU", "[bpf_helpers]") {
  CHECK(per_cpu_value_size(8, 4) == 32);
  CHECK(per_cpu_value_size(12, 4) == 64);
  CHECK(per_cpu_value_size(16, 3) == 48);
}

TEST_CASE("per-CPU counters are summed over every CPU's slot", "[bpf_helpers]") {
  std::array<uint64_t, 4> slots{1, 20, 300, 4000};
  CHECK(sum_per_cpu(reinterpret_cast<const std::byte*>(slots.data()), 4) == 4321);
  CHECK(sum_per_cpu(reinterpret_cast<const std::byte*>(slots.data()), 1) == 1);

  // cpu_time_cpu_state slots: {idle_since_ns, idle_ns} per CPU; only idle_ns is summed.
  std::array<cpu_time_cpu_state, 3> states{};
  for (std::size_t cpu = 0; cpu < states.size(); ++cpu) {
    states[cpu].idle_since_ns = 111 * (cpu + 1);
    states[cpu].idle_ns = std::array<uint64_t, 3>{5, 7, 11}[cpu];
    states[cpu].cgroup_ns[0] = 1000;  // gathered time is not idle time
  }
  CHECK(sum_per_cpu(reinterpret_cast<const std::byte*>(states.data()), 3, sizeof(cpu_time_cpu_state),
                    offsetof(cpu_time_cpu_state, idle_ns)) == 23);
}

TEST_CASE("the ABI structs have the sizes both sides expect", "[bpf_helpers]") {
  CHECK(sizeof(cpu_time_process_key) == 16);
  CHECK(sizeof(cpu_time_process_meta) == 32);
  CHECK(offsetof(cpu_time_process_meta, slot) == 24);
  CHECK(sizeof(cpu_time_exit_event) == 16);
  CHECK(sizeof(cpu_time_meta_change) == 48);
  CHECK(sizeof(cpu_time_cpu_state) % 8 == 0);  // per-CPU slots need no padding
  CHECK(offsetof(cpu_time_process_key, start_ns) == 8);
}

TEST_CASE("batch lookups fall back to iteration only on 'unsupported' errors", "[bpf_helpers]") {
  CHECK(batch_unsupported(EINVAL));
  CHECK(batch_unsupported(-EINVAL));
  CHECK(batch_unsupported(EOPNOTSUPP));
  CHECK(batch_unsupported(524));  // kernel ENOTSUPP
  CHECK_FALSE(batch_unsupported(ENOENT));
  CHECK_FALSE(batch_unsupported(EPERM));
  CHECK_FALSE(batch_unsupported(ENOSPC));
}

TEST_CASE("kernel CPU lists expand ranges and reject malformed text", "[bpf_helpers]") {
  std::vector<uint32_t> cpus{99};
  REQUIRE(parse_cpu_list("0-3,8,10-11\n", cpus));
  CHECK(cpus == std::vector<uint32_t>{0, 1, 2, 3, 8, 10, 11});
  REQUIRE(parse_cpu_list("0", cpus));
  CHECK(cpus == std::vector<uint32_t>{0});
  CHECK_FALSE(parse_cpu_list("", cpus));
  CHECK_FALSE(parse_cpu_list("3-1", cpus));
  CHECK_FALSE(parse_cpu_list("a-b", cpus));
  CHECK_FALSE(parse_cpu_list("1,,2", cpus));
}

TEST_CASE("the start time in ns matches /proc's truncated clock ticks", "[bpf_helpers]") {
  CHECK(start_time_matches(1'234'567'890'123, 123'456, 100));  // 1234.56789 s → 123456 ticks
  CHECK(start_time_matches(1'234'567'890'123, 123'457, 100));  // one tick of slack
  CHECK_FALSE(start_time_matches(1'234'567'890'123, 123'460, 100));
  CHECK_FALSE(start_time_matches(1'234'567'890'123, 12'345, 100));
}

TEST_CASE("starttime is field 22 of a stat line even when comm holds ') '", "[bpf_helpers]") {
  std::string line = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 98765 "
                     "1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  CHECK(stat_start_ticks(line) == 98765u);
  CHECK_FALSE(stat_start_ticks("4242 (short) S 1 2 3"));
  CHECK_FALSE(stat_start_ticks("no parenthesis"));
  CHECK(stat_start_ticks(testing::read_file("/proc/self/stat")).has_value());
}

TEST_CASE("a live process is alive and a reaped or reused one is not", "[bpf_helpers]") {
  uint64_t ticks = testing::proc_start_ticks(getpid());
  uint64_t ns_per_tick = 1'000'000'000u / uint64_t(sysconf(_SC_CLK_TCK));
  CHECK(process_alive(uint32_t(getpid()), ticks * ns_per_tick));
  CHECK_FALSE(process_alive(uint32_t(getpid()), (ticks + 50) * ns_per_tick));  // pid reused

  testing::child_process child([] {});
  child.go();
  child.wait();
  CHECK_FALSE(process_alive(uint32_t(child.pid()), 0));
}

TEST_CASE("loader errors name the cause and what to grant", "[bpf_helpers]") {
  CHECK(describe_bpf_failure("loading the eBPF program", -EPERM) ==
        "loading the eBPF program failed: Operation not permitted "
        "(needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
  CHECK_THAT(describe_bpf_failure("loading", EACCES), Catch::Contains("verifier rejection"));
  CHECK(describe_bpf_failure("loading", -EINVAL) ==
        "loading failed: Invalid argument (see the libbpf log for the verifier's reason)");
  CHECK(describe_bpf_failure("attaching", ENOENT) == "attaching failed: No such file or directory");
  CHECK(to_string(bpf_attach_mode::tp_btf) == "tp_btf");
  CHECK(to_string(bpf_attach_mode::raw_tp) == "raw_tp");
}

TEST_CASE("a kernel without BTF is refused before anything is loaded", "[bpf_helpers]") {
  probe_options options;
  options.btf_path = "/nonexistent/vmlinux";
  auto probe = cpu_time_probe::load(options);
  REQUIRE_FALSE(probe.ok());
  CHECK(probe.error_message() == "no BTF at /nonexistent/vmlinux "
                                 "(the kernel needs CONFIG_DEBUG_INFO_BTF=y for CO-RE)");
}

TEST_CASE("without capabilities the load fails and says which ones it needs", "[bpf_helpers]") {
  // In a child that drops every capability, so this holds for root and non-root alike.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capset, &header, data) != 0) _exit(2);
    set_bpf_log_callback({});
    auto probe = cpu_time_probe::load();
    std::string message = probe.ok() ? "loaded" : probe.error_message();
    (void)!write(fds[1], message.data(), message.size());
    _exit(0);
  }
  close(fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, std::size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(message == "loading the eBPF program failed: Operation not permitted "
                   "(needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
}
