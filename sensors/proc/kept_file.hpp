#pragma once
// A small file kept open and re-read from offset 0, plus the budget of such files a process
// may hold (RLIMIT_NOFILE minus a reserve for everything else).

#include <sys/types.h>

#include <cstddef>

namespace kepler {

/// Owns one open file descriptor; re-reads the file in place. Move-only; closes on destruction.
///
/// For a /proc/<pid>/stat file this saves the open and close of every re-read: the kernel
/// regenerates the text on each pread at offset 0, and once the task is gone (exited and
/// reaped, or its pid reused by another task) the read fails with ESRCH.
class kept_file {
 public:
  kept_file() = default;
  explicit kept_file(int fd) : fd_(fd) {}
  kept_file(kept_file&& other) noexcept : fd_(other.release()) {}
  kept_file& operator=(kept_file&& other) noexcept;
  kept_file(const kept_file&) = delete;
  kept_file& operator=(const kept_file&) = delete;
  ~kept_file() { reset(); }

  /// Opens `rel_path` relative to `dir_fd` with O_RDONLY | O_CLOEXEC; the error is -errno.
  static kept_file open_at(int dir_fd, const char* rel_path, int& error);

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  /// pread(fd, buf, size, 0), retried on EINTR: the byte count, or -errno.
  ssize_t read_from_start(char* buf, std::size_t size) const;

  /// Closes the descriptor (if any).
  void reset();

  /// Gives up ownership without closing.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// Descriptors left to the rest of the daemon (sockets, sysfs, BPF maps, logs) when the
/// procfs scanner sizes its own budget of kept files.
inline constexpr std::size_t reserved_file_descriptors = 256;

/// Ceiling we raise RLIMIT_NOFILE's soft limit to (the kernel's default fs.nr_open).
inline constexpr std::size_t wanted_file_descriptors = std::size_t{1} << 20;

/// Raises this process's RLIMIT_NOFILE soft limit to min(hard limit, 2^20) (keeping the
/// current one if setrlimit refuses) and returns how many files may be kept open: what
/// reserved_file_descriptors and the metrics server's connections leave of the soft limit
/// (share_descriptors), 0 when nothing is left.
///
/// A process-wide side effect, meant for start-up: descriptors above 1023 cannot be used with
/// select() (the daemon calls neither select nor poll itself; CAF and Beast use epoll on
/// Linux), and any child process started later inherits the raised soft limit.
std::size_t raise_open_file_limit();

}  // namespace kepler
