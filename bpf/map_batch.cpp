#include "bpf/map_batch.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <string>

namespace kepler {
namespace {

constexpr int kernel_enotsupp = 524;  // ENOTSUPP: kernel-internal, not in <errno.h>
// Concurrent deletes and inserts can let one pass over the buckets see a few more keys than
// max_entries ever held at once; a little headroom avoids reporting that as truncation.
constexpr std::size_t headroom = 64;

error read_error(const char* what, int err) {
  return make_error(std::string("reading an eBPF map (") + what + ") failed: " + std::strerror(err));
}

}  // namespace

bool batch_unsupported(int err) {
  if (err < 0) err = -err;
  return err == EINVAL || err == EOPNOTSUPP || err == kernel_enotsupp;
}

map_dump::map_dump(int fd, std::size_t key_size, std::size_t value_size, std::size_t max_entries)
    : fd_(fd),
      key_size_(key_size),
      value_size_(value_size),
      capacity_(max_entries + headroom),
      keys_(capacity_ * key_size),
      values_(capacity_ * value_size),
      next_key_(key_size) {}

result<std::size_t> map_dump::read() {
  if (!iterate_) {
    auto batched = read_batched();
    if (batched.ok() || iterate_ == false) return batched;
  }
  return read_iterating();
}

result<std::size_t> map_dump::read_batched() {
  // The batch cursor is opaque (a bucket index for hash maps), at least 4 bytes: 8 suffices.
  uint64_t cursor = 0;
  bool first = true;
  count_ = 0;
  while (count_ < capacity_) {
    auto n = static_cast<__u32>(capacity_ - count_);
    int rc = bpf_map_lookup_batch(fd_, first ? nullptr : &cursor, &cursor, keys_.data() + count_ * key_size_,
                                  values_.data() + count_ * value_size_, &n, nullptr);
    int err = rc < 0 ? -rc : 0;
    if (err == 0 || err == ENOENT) count_ += n;  // n is valid on the final ENOENT call too
    if (err == ENOENT) break;
    if (err == ENOSPC) break;  // the remaining buffer cannot hold the next bucket: truncated
    if (err != 0) {
      if (first && batch_unsupported(err)) {
        iterate_ = true;  // remember: this kernel or map cannot batch
        return make_error("batch unsupported");
      }
      return read_error("lookup_batch", err);
    }
    first = false;
  }
  return count_;
}

result<std::size_t> map_dump::read_iterating() {
  count_ = 0;
  const void* previous = nullptr;  // NULL asks for the first key
  while (count_ < capacity_) {
    std::byte* slot = keys_.data() + count_ * key_size_;
    if (bpf_map_get_next_key(fd_, previous, slot) != 0) {
      if (errno == ENOENT) break;
      return read_error("get_next_key", errno);
    }
    if (bpf_map_lookup_elem(fd_, slot, values_.data() + count_ * value_size_) != 0) {
      if (errno != ENOENT) return read_error("lookup_elem", errno);
      // Deleted between the two calls: step past it without keeping it.
      std::memcpy(next_key_.data(), slot, key_size_);
      previous = next_key_.data();
      continue;
    }
    previous = slot;
    ++count_;
  }
  return count_;
}

}  // namespace kepler
