// Tests that need no privileges: decoding helpers, liveness checks, loader error messages.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"
#include "bpf/map_batch.hpp"
#include "test/bpf/probe_reads.hpp"

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
  CHECK(probe.error_message() ==
        "no BTF at /nonexistent/vmlinux "
        "(the kernel needs CONFIG_DEBUG_INFO_BTF=y for CO-RE)");
}

TEST_CASE("without capabilities the load fails and says which ones it needs", "[bpf_helpers]") {
  // In a child that drops every capability, so this holds for root and non-root alike.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);  // TSan's _exit would write the child's copy of unwritten output again
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
  CHECK(message ==
        "loading the eBPF program failed: Operation not permitted "
        "(needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
}
