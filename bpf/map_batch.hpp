#pragma once
// Whole-map reads of eBPF hash maps into reusable buffers, and per-CPU value decoding.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// Bytes one per-CPU value takes in a lookup buffer: every possible CPU, 8-byte aligned slots.
constexpr std::size_t per_cpu_value_size(std::size_t value_size, std::size_t possible_cpus) {
  return possible_cpus * ((value_size + 7) / 8 * 8);
}

/// Sum of the __u64 that starts each CPU's slot of a per-CPU value (slots of `stride` bytes).
inline uint64_t sum_per_cpu(const std::byte* value, std::size_t possible_cpus, std::size_t stride = 8,
                            std::size_t offset = 0) {
  uint64_t sum = 0;
  for (std::size_t cpu = 0; cpu < possible_cpus; ++cpu) {
    uint64_t slot;
    std::memcpy(&slot, value + cpu * stride + offset, sizeof slot);
    sum += slot;
  }
  return sum;
}

/// Whether a bpf_map_lookup_batch error means "batch operations unsupported" (kernels < 5.6,
/// map types without batch ops): EINVAL, EOPNOTSUPP or the kernel-internal ENOTSUPP (524).
bool batch_unsupported(int err);

/// Reads every entry of one hash map per call, into buffers sized once from max_entries.
/// bpf_map_lookup_batch first; get_next_key + lookup_elem where batches are unsupported.
class map_dump {
 public:
  /// `value_size` is the whole value as user space sees it (per_cpu_value_size for per-CPU).
  map_dump(int fd, std::size_t key_size, std::size_t value_size, std::size_t max_entries);

  /// Reads the map; returns the number of entries now in the buffers.
  result<std::size_t> read();

  std::size_t size() const { return count_; }
  const std::byte* key(std::size_t i) const { return keys_.data() + i * key_size_; }
  const std::byte* value(std::size_t i) const { return values_.data() + i * value_size_; }

  /// Whether the last read had to iterate key by key.
  bool iterated() const { return iterate_; }

  /// Forces key-by-key iteration (tests of the fallback).
  void force_iteration() { iterate_ = true; }

 private:
  result<std::size_t> read_batched();
  result<std::size_t> read_iterating();

  int fd_;
  std::size_t key_size_, value_size_, capacity_;
  std::vector<std::byte> keys_, values_;
  std::vector<std::byte> next_key_;
  std::size_t count_ = 0;
  bool iterate_ = false;
};

}  // namespace kepler
