#pragma once
// The web config in force: loaded at start, loaded again when its files change (certificate
// rotation, a new user), as the exporter toolkit does.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "http/web_config.hpp"
#include "http/web_security.hpp"

namespace kepler {

/// Holds the web_security of one web config file. Not thread-safe: the server's I/O thread
/// owns it.
class web_config_watcher {
 public:
  using reload_report = std::function<void(bool ok, const std::string& message)>;

  /// Loads `path` (empty: plain HTTP, no auth, never reloaded). The error is the load error.
  static result<web_config_watcher> load(const std::string& path, std::chrono::milliseconds check_interval);

  /// The security in force. At most once per check interval, looks whether the config file or
  /// a file it names changed (size, time, inode); if so, loads it again. A config that does not
  /// load is reported and the previous one stays in force.
  const std::shared_ptr<const web_security>& current(const reload_report& report);

  const web_config& config() const { return config_; }

 private:
  struct file_state {
    long long mtime_ns = 0, size = -1, inode = 0;
    bool operator==(const file_state&) const = default;
  };
  static std::vector<file_state> states_of(const std::vector<std::string>& files);

  std::string path_;
  std::chrono::milliseconds check_interval_{};
  std::chrono::steady_clock::time_point next_check_{};
  web_config config_;
  std::vector<file_state> seen_;
  std::shared_ptr<const web_security> security_;
};

}  // namespace kepler
