#include "sensors/proc/kept_file.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/descriptor_budget.hpp"

namespace kepler {

kept_file& kept_file::operator=(kept_file&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

kept_file kept_file::open_at(int dir_fd, const char* rel_path, int& error) {
  const int fd = ::openat(dir_fd, rel_path, O_RDONLY | O_CLOEXEC);
  error = fd < 0 ? errno : 0;
  return kept_file(fd);
}

ssize_t kept_file::read_from_start(char* buf, std::size_t size) const {
  ssize_t n = 0;
  do {
    n = ::pread(fd_, buf, size, 0);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

void kept_file::reset() {
  if (fd_ >= 0) ::close(fd_);  // Linux releases the descriptor even when close reports EINTR
  fd_ = -1;
}

std::size_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  const rlim_t wanted = std::min<rlim_t>(limit.rlim_max, wanted_file_descriptors);
  if (limit.rlim_cur < wanted) {  // never lowered (RLIM_INFINITY is the largest rlim_t)
    rlimit raised = limit;
    raised.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;  // else: keep what we have
  }
  const rlim_t soft = std::min<rlim_t>(limit.rlim_cur, wanted_file_descriptors);
  return share_descriptors(soft, reserved_file_descriptors).kept_files;  // the rest: connections
}

}  // namespace kepler
