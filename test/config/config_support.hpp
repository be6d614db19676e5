#pragma once
// What the configuration tests share: a scratch directory with fake host trees, and loading a
// configuration from a command line.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/config.hpp"

namespace kepler::test {

/// A scratch directory with small fake host trees (`sys/`, `proc/`), removed afterwards.
class scratch {
 public:
  scratch() {
    char pattern[] = "/tmp/kepler-config-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    for (const char* host : {"sys", "proc"}) {
      std::filesystem::create_directory(dir_ + "/" + host);
      write(std::string(host) + "/entry", "x");
    }
  }
  ~scratch() { std::filesystem::remove_all(dir_); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;

  /// Writes `text` to `name` under the scratch directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  /// A config file that points the host paths at the fake trees, then `rest`.
  std::string config(const std::string& rest) const {
    return write("kepler.yaml", "host:\n  sysfs: " + path("sys") + "\n  procfs: " + path("proc") + "\n" + rest);
  }

 private:
  std::string dir_;
};

inline config_outcome load(std::vector<std::string> args) {
  args.insert(args.begin(), "kepler");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return load_config(static_cast<int>(argv.size()), argv.data());
}

inline bool runs(const config_outcome& outcome) {
  INFO(outcome.message);
  return outcome.next == config_outcome::action::run && outcome.exit_code == 0;
}

inline bool fails(const config_outcome& outcome) {
  return outcome.next == config_outcome::action::exit && outcome.exit_code == 1;
}

/// The message of the error that a config file of `rest` gets (checked to be one).
inline std::string refusal(const scratch& tmp, const std::string& rest) {
  auto out = load({"--config.file=" + tmp.config(rest)});
  CHECK(fails(out));
  return out.message;
}

using strings = std::vector<std::string>;

}  // namespace kepler::test
