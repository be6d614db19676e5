// The estimate's models against figures computed by hand from the sources (the shipped
// tables of sensors/power/models/, whose README names them, and the sources' worked examples). Every expected figure's
// arithmetic is in the comments; each must match within 1 %.
#include "sensors/power/estimate_model.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include "test/sensors/power/estimate_test_support.hpp"

using namespace kepler;
using Catch::Matchers::Contains;

namespace {

/// Within 1 % of `expected`.
Approx within_1pc(double expected) { return Approx(expected).epsilon(0.01); }

const estimate_tables& tables() { return builtin_estimate_tables(); }

/// The model for a node whose cpuinfo and DMI are `cpuinfo`, `vendor`, `product`.
estimate_model model_for(const std::string& cpuinfo, const std::string& vendor = "", const std::string& product = "",
                         kepler_config config = {}) {
  return choose_estimate_model(config, node_facts_from(cpuinfo, vendor, product, "", ""), tables());
}

const specpower_server& server_at_row(int row) {
  const auto& servers = tables().servers;
  return *std::find_if(servers.begin(), servers.end(), [row](const auto& s) { return s.source_row == row; });
}

}  // namespace

// --- cloud VMs: CCF ---------------------------------------------------------------------------

TEST_CASE("AWS m5.large (Skylake, 2 vCPU) at 50 % draws 4.91 W", "[estimate]") {
  // AWSInstanceTypes.ts:974 maps m5.large to [Skylake]; Skylake is 0.65-4.26 W per vCPU.
  // 0.65 + 0.5 × (4.26 − 0.65) = 2.455 W per vCPU; × 2 vCPUs = 4.91 W. At 0 %: 2 × 0.65 = 1.30 W.
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", 1, 2, "GenuineIntel", 6, 85,
                                           4, true),
                         "Amazon EC2", "m5.large");
  CHECK(model.name == "ccf-aws-skylake");
  CHECK_FALSE(model.fallback);
  CHECK(model.curve.watts_at(0.5) == within_1pc(4.91));
  CHECK(model.curve.watts_at(0.0) == within_1pc(1.30));
  CHECK(model.parameters == "0.65-4.26 W per vCPU x 2 vCPUs, linear in CPU usage");
  CHECK_THAT(model.basis, Contains("m5.large") && Contains("DMI product_name") && Contains("Skylake"));
}

TEST_CASE("AWS c5.large (Cascade Lake or Skylake, 2 vCPU) at 10 % draws 1.984 W", "[estimate]") {
  // AWSInstanceTypes.ts:1045 maps c5.large to [Cascade Lake, Skylake]: CCF takes the mean.
  // min = (0.64 + 0.65) / 2 = 0.645, max = (3.97 + 4.26) / 2 = 4.115 W per vCPU.
  // 0.645 + 0.1 × (4.115 − 0.645) = 0.992 W per vCPU; × 2 vCPUs = 1.984 W.
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz", 1, 2, "GenuineIntel", 6,
                                           85, 7, true),
                         "Amazon EC2", "c5.large");
  CHECK(model.name == "ccf-aws-cascade-lake+skylake");
  CHECK(model.curve.watts_at(0.1) == within_1pc(1.984));
  CHECK_THAT(model.parameters, Contains("mean of Cascade Lake, Skylake: 0.645-4.115 W per vCPU x 2 vCPUs"));
}

TEST_CASE("GCP n1-standard-4 takes the median of five microarchitectures", "[estimate]") {
  // MachineTypes.ts:38 maps the n1 family to Skylake, Broadwell, Haswell, Sandy Bridge, Ivy
  // Bridge; with Sandy or Ivy Bridge in the set CCF takes the median:
  // min = median(0.65, 0.71, 1.00, 2.17, 3.04) = 1.00; max = median(4.26, 3.69, 4.74, 8.58, 8.25) = 4.74.
  // 4 vCPUs: 0 % → 4 × 1.00 = 4.00 W; 50 % → 4 × (1.00 + 0.5 × 3.74) = 11.48 W; 100 % → 4 × 4.74 = 18.96 W.
  // GCE's DMI does not name the machine type: it comes from estimate.instanceType.
  kepler_config config;
  config.estimate.instance_type = "n1-standard-4";
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) CPU @ 2.20GHz", 1, 4, "GenuineIntel", 6, 79, 0, true),
                         "Google", "Google Compute Engine", config);
  CHECK(model.name == "ccf-gcp-skylake+broadwell+haswell+sandy-bridge+ivy-bridge");
  CHECK(model.curve.watts_at(0.0) == within_1pc(4.00));
  CHECK(model.curve.watts_at(0.5) == within_1pc(11.48));
  CHECK(model.curve.watts_at(1.0) == within_1pc(18.96));
  CHECK_THAT(model.parameters, Contains("median of"));
  CHECK_THAT(model.basis, Contains("estimate.instanceType"));
}

TEST_CASE("GCE without a machine type goes by the CPU's microarchitecture from CPUID", "[estimate]") {
  // GCE names its CPUs `Intel(R) Xeon(R) CPU @ 2.20GHz`; family 6 model 79 is Broadwell:
  // 0.71-3.69 W per vCPU (GcpFootprintEstimationConstants.ts). 4 vCPUs at 50 %:
  // 4 × (0.71 + 0.5 × 2.98) = 4 × 2.20 = 8.80 W.
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) CPU @ 2.20GHz", 1, 4, "GenuineIntel", 6, 79, 0, true),
                         "Google", "Google Compute Engine");
  CHECK(model.name == "ccf-gcp-broadwell");
  CHECK(model.curve.watts_at(0.5) == within_1pc(8.80));
}

TEST_CASE("Azure D4s v5 (Ice Lake, no coefficient) takes Azure's average and says so", "[estimate]") {
  // VirtualMachineTypes.ts:1168 maps D4s v5 to [Ice Lake], which has no coefficient, so CCF uses
  // Azure's average of every CPU microarchitecture: 0.74-3.54 W per vCPU.
  // 50 %: 0.74 + 0.5 × 2.80 = 2.14 W per vCPU; × 4 vCPUs = 8.56 W.
  kepler_config config;
  config.estimate.instance_type = "Standard_D4s_v5";  // as Azure's metadata service names it
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", 1, 4, "GenuineIntel", 6,
                                           106, 6, true),
                         "Microsoft Corporation", "Virtual Machine", config);
  CHECK(model.name == "ccf-azure-average");
  CHECK(model.fallback);
  CHECK(model.curve.watts_at(0.5) / 4 == within_1pc(2.14));
  CHECK_THAT(model.parameters, Contains("no coefficient for Ice Lake"));
}

TEST_CASE("AWS Graviton2 is recognised from the instance type and from the Arm part", "[estimate]") {
  // m6g.large → [AWS Graviton2] (AWSInstanceTypes.ts:957): 0.47-1.69 W per vCPU, like EPYC 2nd Gen.
  // 2 vCPUs at 100 %: 2 × 1.69 = 3.38 W.
  auto typed = model_for(test::arm_cpuinfo(2, "0xd0c"), "Amazon EC2", "m6g.large");
  CHECK(typed.name == "ccf-aws-aws-graviton2");
  CHECK(typed.curve.watts_at(1.0) == within_1pc(3.38));
  // Without a type (older DMI), Neoverse N1 (part 0xd0c) is Graviton2's core.
  auto by_cpu = model_for(test::arm_cpuinfo(2, "0xd0c"), "Amazon EC2", "");
  CHECK(by_cpu.name == "ccf-aws-aws-graviton2");
  CHECK(by_cpu.curve.watts_at(1.0) == within_1pc(3.38));
}

TEST_CASE("a cloud VM whose CPU is in no table takes the provider's fallback", "[estimate]") {
  // AWS's average: 0.74-3.5 W per vCPU (AwsFootprintEstimationConstants.ts); 8 vCPUs at 0 %: 5.92 W.
  auto model =
      model_for(test::x86_cpuinfo("Some Future CPU", 1, 8, "GenuineIntel", 6, 250, 0, true), "Amazon EC2", "zz9.large");
  CHECK(model.name == "ccf-aws-average");
  CHECK(model.fallback);
  CHECK(model.curve.watts_at(0) == within_1pc(5.92));
  CHECK_THAT(model.basis, Contains("instance type zz9.large is not in CCF's table"));
}

// --- bare metal: SPECpower --------------------------------------------------------------------

TEST_CASE("SPECpower source_row 3 (Inspur NF5280M5, 2 × Xeon Platinum 8176) as a curve", "[estimate]") {
  // Idle 49.4 W, 20 % 133 W, 30 % 160 W, 100 % 454 W over 112 threads. Per thread × 112 threads
  // gives the server back; 25 % lies halfway between 20 % and 30 %: (133 + 160) / 2 = 146.5 W.
  const auto curve = per_thread_curve({&server_at_row(3)}, 112);
  CHECK(curve.watts_at(0.0) == within_1pc(49.4));
  CHECK(curve.watts_at(0.25) == within_1pc(146.5));
  CHECK(curve.watts_at(1.0) == within_1pc(454));
  // CCF-style per-thread coefficients of this server: 49.4 / 112 = 0.441 W, 454 / 112 = 4.054 W.
  CHECK(per_thread_curve({&server_at_row(3)}, 1).watts_at(1.0) == within_1pc(4.054));
}

TEST_CASE("Xeon Platinum 8176: the median per thread of the ten servers built on it", "[estimate]") {
  // The ten rows whose CPU is `xeon platinum 8176` (source rows 3, 38, 40, 55, 86, 96, 315, 492,
  // 519, 596); at 50 % load, watts ÷ threads:
  //   198/112 = 1.7679, 106/56 = 1.8929, 201/112 = 1.7946, 371/224 = 1.6563, 206/112 = 1.8393,
  //   374/224 = 1.6696, 201/112 = 1.7946, 791/448 = 1.7656, 216/112 = 1.9286, 197/112 = 1.7589.
  // Sorted, the middle two are 1.7679 and 1.7946: median 1.7813 W per thread; × 112 threads
  // (a two-socket node) = 199.5 W.
  // At 100 %: 454/112 = 4.0536, 183/56 = 3.2679, 461/112 = 4.1161, 726/224 = 3.2411, 355/112 = 3.1696,
  //   688/224 = 3.0714, 352/112 = 3.1429, 1479/448 = 3.3013, 458/112 = 4.0893, 357/112 = 3.1875;
  // middle two 3.2411 and 3.2679: median 3.2545; × 112 = 364.5 W.
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8176 CPU @ 2.10GHz", 2, 56));
  CHECK(model.name == "specpower-xeon-platinum-8176");
  CHECK_FALSE(model.fallback);
  CHECK(model.curve.watts_at(0.5) == within_1pc(199.5));
  CHECK(model.curve.watts_at(1.0) == within_1pc(364.5));
  CHECK_THAT(model.parameters, Contains("median per thread of 10 SPECpower servers") && Contains("x 112 threads"));
}

TEST_CASE("Xeon E5-2698 v4 on one socket: half of its one two-socket server", "[estimate]") {
  // One server has this CPU: source row 128, 2 chips, 80 threads, 20 % 101 W, 30 % 117 W.
  // 25 %: (101 + 117) / 2 = 109 W over 80 threads = 1.3625 W per thread; a one-socket node with
  // 40 threads: 1.3625 × 40 = 54.5 W.
  auto model = model_for(test::x86_cpuinfo("Intel(R) Xeon(R) CPU E5-2698 v4 @ 2.20GHz", 1, 40));
  CHECK(model.name == "specpower-xeon-e5-2698-v4");
  CHECK(model.curve.watts_at(0.25) == within_1pc(54.5));
  CHECK_THAT(model.parameters, Contains("source row 128"));
}

TEST_CASE("AMD EPYC 7451 (no SPECpower server) goes by its generation, per package", "[estimate]") {
  // The real 2-socket, 96-thread cpuinfo of test/fixtures. No SPECpower result has a 7451; ten
  // have EPYC first-generation CPUs (rows 69, 72, 133, 140, 161, 203, 458, 487, 491, 522). At 50 %,
  // watts ÷ chips: 213/2 = 106.5, 232/2 = 116, 184/2 = 92, 195/2 = 97.5, 184/2 = 92, 197/2 = 98.5,
  // 196/2 = 98, 220/2 = 110, 193/2 = 96.5, 136/1 = 136. Sorted middle two: 98 and 98.5, median
  // 98.25 W per package; × 2 packages = 196.5 W.
  auto cpuinfo = test::whole_file(test::fixtures_dir() + "/procfs/cpuinfo/utillinux_amd_epyc_7451_2s96t.cpuinfo");
  auto model = model_for(cpuinfo);
  CHECK(model.name == "specpower-arch-epyc-gen1");
  CHECK(model.curve.watts_at(0.5) == within_1pc(196.5));
  CHECK_THAT(model.parameters, Contains("median per package of 10 SPECpower epyc-gen1 servers x 2 packages"));
}

TEST_CASE("an unknown CPU takes the documented fallback and says so", "[estimate]") {
  // The Tiger Lake laptop of test/fixtures (i7-1165G7, 8 threads) is in no table: CCF's average of every CPU
  // microarchitecture, 0.74-3.5 W per thread. 50 %: 8 × (0.74 + 0.5 × 2.76) = 8 × 2.12 = 16.96 W.
  auto cpuinfo =
      test::whole_file(test::fixtures_dir() + "/procfs/cpuinfo/utillinux_intel_i7-1165G7_1s8t_linux6.2.cpuinfo");
  auto model = model_for(cpuinfo);
  CHECK(model.name == "fallback-ccf-average");
  CHECK(model.fallback);
  CHECK(model.curve.watts_at(0.5) == within_1pc(16.96));
  CHECK_THAT(model.basis,
             Contains("i7-1165G7") && Contains("is in no table") && Contains("microarchitecture, unknown"));

  // A known generation without SPECpower servers (EPYC Genoa, by CPUID: family 25, model 17)
  // falls back too, and says which generation it is.
  auto genoa = model_for(test::x86_cpuinfo("AMD EPYC", 1, 2, "AuthenticAMD", 25, 17, 1, true));
  CHECK(genoa.name == "fallback-ccf-average");
  CHECK_THAT(genoa.basis, Contains("microarchitecture, epyc-gen4"));
}

// --- the configuration's overrides -------------------------------------------------------------

TEST_CASE("a TDP of 125 W follows the Teads curve", "[estimate]") {
  // 0.12 / 0.32 / 0.75 / 1.02 × 125 W = 15 / 40 / 93.75 / 127.5 W at 0 / 10 / 50 / 100 %; 30 % lies
  // halfway between 10 % and 50 %: (40 + 93.75) / 2 = 66.875 W.
  kepler_config config;
  config.estimate.tdp_watts = 125;
  auto model = model_for(test::x86_cpuinfo("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", 1, 16), "", "", config);
  CHECK(model.name == "teads-tdp");
  CHECK(model.curve.watts_at(0.0) == within_1pc(15));
  CHECK(model.curve.watts_at(0.1) == within_1pc(40));
  CHECK(model.curve.watts_at(0.3) == within_1pc(66.875));
  CHECK(model.curve.watts_at(0.5) == within_1pc(93.75));
  CHECK(model.curve.watts_at(1.0) == within_1pc(127.5));
  // Two packages draw twice as much.
  auto two = model_for(test::x86_cpuinfo("Intel Xeon Gold 6252", 2, 48), "", "", config);
  CHECK(two.curve.watts_at(1.0) == within_1pc(255));
  CHECK_THAT(two.parameters, Contains("TDP 125 W x 2 packages"));
}

TEST_CASE("user overrides win over every table, also on a cloud VM", "[estimate]") {
  kepler_config config;
  config.estimate.idle_watts = 20;
  config.estimate.max_watts = 80;
  auto linear = model_for(test::x86_cpuinfo("x", 1, 2), "Amazon EC2", "m5.large", config);
  CHECK(linear.name == "user-linear");
  CHECK(linear.curve.watts_at(0.25) == within_1pc(35));  // 20 + 0.25 × 60

  kepler_config curved;
  curved.estimate.curve = {{0, 30}, {50, 100}, {100, 150}};
  auto user = model_for(test::x86_cpuinfo("x", 1, 2), "", "", curved);
  CHECK(user.name == "user-curve");
  CHECK(user.curve.watts_at(0.75) == within_1pc(125));  // halfway between 100 and 150
  CHECK(user.parameters == "30 W at 0 %, 100 W at 50 %, 150 W at 100 %, interpolated linearly");
}

TEST_CASE("curves clamp usage to 0..1 and reject malformed points", "[estimate]") {
  auto curve = power_curve::make({{0, 10}, {100, 20}});
  REQUIRE(curve.ok());
  CHECK(curve.value().watts_at(-1) == 10);
  CHECK(curve.value().watts_at(2) == 20);
  CHECK(curve.value().watts_at(std::numeric_limits<double>::quiet_NaN()) == 10);
  CHECK(power_curve{}.watts_at(0.5) == 0);
  CHECK(power_curve::make({{0, 10}}).error_message() == "a power curve needs at least two points");
  CHECK(power_curve::make({{0, 10}, {0, 20}, {100, 30}}).error_message() ==
        "point 2: loads must rise from one point to the next");
  CHECK(power_curve::make({{0, -1}, {100, 30}}).error_message() == "point 1: watts must be finite and >= 0");
  CHECK(power_curve::make({{10, 1}, {100, 30}}).error_message() ==
        "a power curve must start at 0 % load and end at 100 %");
}
