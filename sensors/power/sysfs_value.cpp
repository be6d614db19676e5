#include "sensors/power/sysfs_value.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "base/text.hpp"

namespace kepler {
namespace {

template <class T>
result<T> read_decimal_file(const std::string& path) {
  char buf[64];
  auto n = read_file_head(path, buf, sizeof buf);
  if (!n) return n.error();
  if (n.value() == sizeof buf) return make_error(errc::parse, "value too long in " + path);
  const auto text = trim_space(std::string_view(buf, n.value()));
  if (text.empty()) return make_error(errc::parse, "empty value in " + path);
  T value{};
  if (!parse_decimal(text, value))
    return make_error(errc::parse, "invalid value in " + path + ": '" + std::string(text) + "'");
  return value;
}

}  // namespace

result<std::size_t> read_file_head(const std::string& path, char* buffer, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(errc::io, "unable to read " + path + ": " + errno_text(errno));
  ssize_t n = 0;
  do {
    n = ::read(fd, buffer, size);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) return make_error(errc::io, "unable to read " + path + ": " + errno_text(err));
  return static_cast<std::size_t>(n);
}

result<uint64_t> read_unsigned_file(const std::string& path) { return read_decimal_file<uint64_t>(path); }
result<int64_t> read_signed_file(const std::string& path) { return read_decimal_file<int64_t>(path); }

}  // namespace kepler
