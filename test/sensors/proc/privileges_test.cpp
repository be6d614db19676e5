#include "sensors/proc/privileges.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "sensors/proc/procfs.hpp"
#include "test/sensors/test_support.hpp"

using namespace kepler;

namespace {

/// The effective set as the capget system call reports it (the kernel's own answer).
capability_mask effective_from_capget() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  REQUIRE(::syscall(SYS_capget, &header, data) == 0);
  return (capability_mask{data[1].effective} << 32) | data[0].effective;
}

// The status lines of a production-profile pod (uid 0 with BPF, PERFMON and SYS_PTRACE).
constexpr const char* pod_status =
    "Name:\tkepler\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
    "CapInh:\t0000000000000000\nCapPrm:\t000000c000080000\nCapEff:\t000000c000080000\n"
    "CapBnd:\t000000c000080000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n";

}  // namespace

TEST_CASE("the effective capabilities read from /proc/self/status are the kernel's", "[privileges]") {
  auto status = read_text_file("/proc/self/status");
  REQUIRE(status.ok());
  auto mask = parse_status_capabilities(status.value());
  REQUIRE(mask.ok());
  CHECK(mask.value() == effective_from_capget());
}

TEST_CASE("each capability set of a status file is found by its field name", "[privileges]") {
  CHECK(parse_status_capabilities(pod_status).value() == 0xc000080000);
  CHECK(parse_status_capabilities(pod_status, "CapBnd").value() == 0xc000080000);
  CHECK(parse_status_capabilities(pod_status, "CapInh").value() == 0);
  CHECK(capability_names(0xc000080000) == "CAP_SYS_PTRACE, CAP_PERFMON, CAP_BPF");
}

TEST_CASE("a status without the field, or with garbage in it, is an error naming the field", "[privileges]") {
  auto missing = parse_status_capabilities("Name:\tx\nCapEffective:\t0\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error_message() == "no CapEff line in the process status");
  for (const char* text : {"CapEff:\t\n", "CapEff:\tzz\n", "CapEff:\t1 2\n", "CapEff:\t10000000000000000\n"}) {
    auto bad = parse_status_capabilities(text);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error_message(), Catch::StartsWith("invalid CapEff in the process status"));
  }
}

TEST_CASE("capability names: none, all, and unknown bits by number", "[privileges]") {
  CHECK(capability_names(0) == "none");
  CHECK(capability_names(0x1ffffffffff) == "all (41)");
  CHECK(capability_names(0x4) == "CAP_DAC_READ_SEARCH");
  CHECK(capability_names((capability_mask{1} << 41) | 1) == "CAP_CHOWN, cap_41");
  // Every known capability plus an unknown one: listed, so that the unknown bit shows.
  CHECK_THAT(capability_names(0x3ffffffffff), Catch::StartsWith("CAP_CHOWN, CAP_DAC_OVERRIDE, "));
  CHECK_THAT(capability_names(0x3ffffffffff), Catch::EndsWith("CAP_CHECKPOINT_RESTORE, cap_41"));
}

TEST_CASE("a setuid or setgid start is refused, plain ids are not", "[privileges]") {
  CHECK_FALSE(elevated_start_reason({1000, 1000, 100, 100}).has_value());
  CHECK_FALSE(elevated_start_reason({0, 0, 0, 0}).has_value());
  auto setuid = elevated_start_reason({65534, 0, 65534, 65534});
  REQUIRE(setuid.has_value());
  CHECK_THAT(*setuid, Catch::StartsWith("refusing to run setuid (real uid 65534, effective uid 0)"));
  auto setgid = elevated_start_reason({65534, 65534, 65534, 0});
  REQUIRE(setgid.has_value());
  CHECK_THAT(*setgid, Catch::StartsWith("refusing to run setgid (real gid 65534, effective gid 0)"));
  // This test process was not started setuid.
  CHECK_FALSE(elevated_start_reason(current_process_ids()).has_value());
}

TEST_CASE("the privileges line names the ids and the effective capabilities", "[privileges]") {
  kepler::test::temp_dir t;
  t.write("proc/self/status", pod_status);
  CHECK(describe_privileges(t.path("proc"), {0, 0, 0, 0}) ==
        "running as uid 0, gid 0 with effective capabilities 000000c000080000: "
        "CAP_SYS_PTRACE, CAP_PERFMON, CAP_BPF");
  CHECK_THAT(describe_privileges(t.path("missing"), {7, 7, 8, 8}),
             Catch::StartsWith("running as uid 7, gid 8; effective capabilities unknown: unable to read "));
}
