// CPU name keys and microarchitectures: /proc/cpuinfo names and SPECpower names of the same
// processor meet; generations come from model numbers or CPUID.
#include "sensors/power/cpu_names.hpp"

#include <catch2/catch.hpp>

#include "sensors/power/node_facts.hpp"

using namespace kepler;

TEST_CASE("a cpuinfo model name and a SPECpower CPU name of one processor give one key", "[estimate]") {
  CHECK(cpu_model_key("Intel(R) Xeon(R) Platinum 8176 CPU @ 2.10GHz") == "xeon platinum 8176");
  CHECK(cpu_model_key("Intel Xeon Platinum 8176 CPU 2.10 GHz (Intel Turbo Boost Technology up to 2.80 GHz)") ==
        "xeon platinum 8176");
  CHECK(cpu_model_key("Intel Xeon Platinum 8180 @2.50GHz") == "xeon platinum 8180");
  CHECK(cpu_model_key("AMD EPYC 7742 64-Core Processor") == "epyc 7742");
  CHECK(cpu_model_key("AMD EPYC 7742 2.25Ghz") == "epyc 7742");
  CHECK(cpu_model_key("AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]") == "epyc 7601");
  CHECK(cpu_model_key("Intel(R) Xeon(R) CPU E5-2698 v4 @ 2.20GHz") == "xeon e5-2698 v4");
  CHECK(cpu_model_key("Intel Xeon E5-2698 V4") == "xeon e5-2698 v4");
  CHECK(cpu_model_key("Intel Xeon E3-1220v2") == "xeon e3-1220 v2");
  CHECK(cpu_model_key("Intel(R) Xeon(R) CPU           X7550  @ 2.00GHz") == "xeon x7550");
  CHECK(cpu_model_key("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz") == "core i7-1165g7");
  CHECK(cpu_model_key("Intel\xc2\xae Xeon\xc2\xae Gold 6252") == "xeon gold 6252");
  CHECK(cpu_model_key("Intel(R) Xeon(R) CPU @ 2.20GHz") == "xeon");  // GCE hides the model
  CHECK(cpu_model_key("") == "");
}

TEST_CASE("model numbers name the microarchitecture", "[estimate]") {
  auto arch = [](const char* name) { return microarchitecture_from_key(cpu_model_key(name)); };
  CHECK(arch("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz") == "skylake");  // AWS m5
  CHECK(arch("Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz") == "cascadelake");
  CHECK(arch("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz") == "icelake");
  CHECK(arch("Intel Xeon Platinum 8380HL") == "cooperlake");
  CHECK(arch("Intel(R) Xeon(R) Gold 6448Y") == "sapphirerapids");
  CHECK(arch("Intel(R) Xeon(R) CPU E5-2660 0 @ 2.20GHz") == "sandybridge");
  CHECK(arch("Intel Xeon E5-2660 v2") == "ivybridge");
  CHECK(arch("Intel Xeon E5-2699 v3") == "haswell");
  CHECK(arch("Intel Xeon E5-2698 V4") == "broadwell");
  CHECK(arch("Intel Xeon E3-1230 v6") == "kabylake");
  CHECK(arch("Intel Xeon E-2176G") == "coffeelake");
  CHECK(arch("Intel Xeon E-2388G") == "rocketlake");
  CHECK(arch("AMD EPYC 7451 24-Core Processor") == "epyc-gen1");
  CHECK(arch("AMD EPYC 7R32") == "");  // a cloud SKU without a generation digit in place
  CHECK(arch("AMD EPYC 7763 64-Core Processor") == "epyc-gen3");
  CHECK(arch("AMD EPYC 9654 96-Core Processor") == "epyc-gen4");
  CHECK(arch("Intel Xeon X5670") == "nehalem");
  CHECK(arch("Intel(R) Xeon(R) CPU           X7550  @ 2.00GHz") == "nehalem");
  CHECK(arch("Intel Xeon L5430") == "core");
  CHECK(arch("AMD Opteron 6174") == "opteron");
  CHECK(arch("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz") == "");
}

TEST_CASE("CPUID numbers name the microarchitecture where the name does not", "[estimate]") {
  node_facts gce;
  gce.cpu_model = "Intel(R) Xeon(R) CPU @ 2.20GHz";
  gce.cpu_vendor = "GenuineIntel";
  gce.cpu_family = 6;
  gce.cpu_model_number = 79;
  CHECK(node_microarchitecture(gce) == "broadwell");
  gce.cpu_model_number = 85;
  gce.cpu_stepping = 3;
  CHECK(node_microarchitecture(gce) == "skylake");
  gce.cpu_stepping = 7;
  CHECK(node_microarchitecture(gce) == "cascadelake");
  gce.cpu_stepping = 11;
  CHECK(node_microarchitecture(gce) == "cooperlake");

  node_facts amd;
  amd.cpu_vendor = "AuthenticAMD";
  amd.cpu_family = 23;
  amd.cpu_model_number = 49;
  CHECK(microarchitecture_from_cpuid(amd) == "epyc-gen2");

  node_facts graviton2;
  graviton2.arm_implementer = "0x41";
  graviton2.arm_part = "0xd0c";
  CHECK(node_microarchitecture(graviton2) == "neoverse-n1");
  CHECK(ccf_microarchitecture("neoverse-n1") == "AWS Graviton2");
  CHECK(ccf_microarchitecture("cascadelake") == "Cascade Lake");
  CHECK(ccf_microarchitecture("sapphirerapids") == "");
}
