#pragma once
// Small host trees for the estimate tests: /proc/cpuinfo, /proc/stat and DMI files written into
// a temporary folder, and a clock the test sets.

#include <chrono>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "test/sensors/test_support.hpp"

namespace kepler::test {

/// A synthetic /proc/cpuinfo: `sockets` × `threads_per_socket` x86 CPUs named `model_name`.
inline std::string x86_cpuinfo(const std::string& model_name, int sockets, int threads_per_socket,
                               const std::string& vendor = "GenuineIntel", int family = 6, int model = 85,
                               int stepping = 4, bool hypervisor = false) {
  std::string text;
  int processor = 0;
  for (int socket = 0; socket < sockets; ++socket)
    for (int thread = 0; thread < threads_per_socket; ++thread)
      text += "processor\t: " + std::to_string(processor++) + "\nvendor_id\t: " + vendor +
              "\ncpu family\t: " + std::to_string(family) + "\nmodel\t\t: " + std::to_string(model) +
              "\nmodel name\t: " + model_name + "\nstepping\t: " + std::to_string(stepping) +
              "\nphysical id\t: " + std::to_string(socket) + "\nsiblings\t: " + std::to_string(threads_per_socket) +
              "\nflags\t\t: fpu vme de pse tsc msr" + (hypervisor ? " hypervisor" : "") + " sse sse2\n\n";
  return text;
}

/// A synthetic Arm /proc/cpuinfo (no model name; implementer and part only).
inline std::string arm_cpuinfo(int cpus, const std::string& part) {
  std::string text;
  for (int i = 0; i < cpus; ++i)
    text += "processor\t: " + std::to_string(i) +
            "\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\nCPU implementer\t: "
            "0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: " +
            part + "\nCPU revision\t: 1\n\n";
  return text;
}

/// A host root with proc/ and sys/; the test writes what it needs. /proc/stat's aggregate line
/// moves by the busy and idle ticks the test gives.
struct estimate_host {
  temp_dir tree;
  uint64_t busy_ticks = 1000, idle_ticks = 5000;
  std::shared_ptr<std::chrono::nanoseconds> now = std::make_shared<std::chrono::nanoseconds>(0);

  estimate_host() {
    tree.mkdir("sys/class");
    write_stat();
  }
  void cpuinfo(const std::string& text) const { tree.write("proc/cpuinfo", text); }
  void dmi(const std::string& sys_vendor, const std::string& product_name) const {
    tree.write("sys/class/dmi/id/sys_vendor", sys_vendor + "\n");
    tree.write("sys/class/dmi/id/product_name", product_name + "\n");
  }
  void write_stat() const {
    tree.write("proc/stat", "cpu  " + std::to_string(busy_ticks) + " 0 0 " + std::to_string(idle_ticks) +
                                " 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\nintr 12345 0 1\nbtime 1\n");
  }
  /// Advances the clock by `elapsed` and the cpu counters by the given ticks.
  void advance(std::chrono::nanoseconds elapsed, uint64_t busy, uint64_t idle) {
    *now += elapsed;
    busy_ticks += busy;
    idle_ticks += idle;
    write_stat();
  }
  kepler_config config() const {
    kepler_config c;
    c.host.sysfs = tree.path("sys");
    c.host.procfs = tree.path("proc");
    return c;
  }
};

}  // namespace kepler::test
