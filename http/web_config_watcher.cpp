#include "http/web_config_watcher.hpp"

#include <sys/stat.h>

namespace kepler {

std::vector<web_config_watcher::file_state> web_config_watcher::states_of(const std::vector<std::string>& files) {
  std::vector<file_state> out;
  for (const auto& file : files) {
    struct stat st {};
    file_state state;  // a missing file has its own state (size -1)
    if (::stat(file.c_str(), &st) == 0)
      state = {st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec, static_cast<long long>(st.st_size),
               static_cast<long long>(st.st_ino)};
    out.push_back(state);
  }
  return out;
}

result<web_config_watcher> web_config_watcher::load(const std::string& path, std::chrono::milliseconds check_interval) {
  web_config_watcher watcher;
  watcher.path_ = path;
  watcher.check_interval_ = check_interval;
  if (path.empty()) {
    watcher.security_ = std::make_shared<const web_security>();
    return watcher;
  }
  auto config = load_web_config(path);
  if (!config) return make_error(config.error_message());
  auto security = make_web_security(config.value());
  if (!security) return make_error(security.error_message());
  watcher.config_ = std::move(config).value();
  watcher.seen_ = states_of(watcher.config_.files());
  watcher.security_ = std::move(security).value();
  watcher.next_check_ = std::chrono::steady_clock::now() + check_interval;
  return watcher;
}

const std::shared_ptr<const web_security>& web_config_watcher::current(const reload_report& report) {
  const auto now = std::chrono::steady_clock::now();
  if (path_.empty() || now < next_check_) return security_;
  next_check_ = now + check_interval_;
  const auto states = states_of(config_.files());
  if (states == seen_) return security_;
  seen_ = states;  // report a bad edit once, not on every connection
  auto config = load_web_config(path_);
  auto security = config ? make_web_security(config.value())
                         : result<std::shared_ptr<const web_security>>(make_error(config.error_message()));
  if (!security) {
    if (report) report(false, security.error_message() + " (keeping the previous web config)");
    return security_;
  }
  config_ = std::move(config).value();
  seen_ = states_of(config_.files());
  security_ = std::move(security).value();
  if (report) report(true, "web config " + path_ + " reloaded");
  return security_;
}

}  // namespace kepler
