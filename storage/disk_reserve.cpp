#include "storage/disk_reserve.hpp"

#include <algorithm>
#include <cstdio>

namespace kv::storage {
namespace {

// Without a setting, the probe is refreshed after an eighth of the reserve was written (at
// most 8 MiB, at least 64 KiB): a burst of writes faster than the interval cannot eat the
// reserve before it is looked at again.
uint64_t default_interval_bytes(uint64_t reserve) {
  return std::clamp<uint64_t>(reserve / 8, uint64_t{64} << 10, uint64_t{8} << 20);
}

}  // namespace

disk_reserve::disk_reserve(disk_reserve_options options) : options_(options) {
  if (options_.interval_bytes == 0)
    options_.interval_bytes = default_interval_bytes(options_.reserve_bytes);
}

bool disk_reserve::due(int64_t now_ms) const {
  return !probed_ || short_ || now_ms - probed_at_ms_ >= options_.interval_ms ||
         now_ms < probed_at_ms_ || written_ >= options_.interval_bytes;
}

void disk_reserve::wrote(uint64_t bytes) {
  written_ += bytes;
}

disk_change disk_reserve::record(uint64_t free_bytes, int64_t now_ms) {
  bool was_short = short_;
  probed_ = true;
  free_ = free_bytes;
  probed_at_ms_ = now_ms;
  written_ = 0;
  short_ = free_bytes < options_.reserve_bytes;
  if (short_ == was_short) return disk_change::none;
  return short_ ? disk_change::became_short : disk_change::recovered;
}

// Rounded down, so that free space a byte short of the reserve never reads as the reserve.
std::string format_bytes(uint64_t bytes) {
  auto hundredths =
      bytes / (uint64_t{1} << 20) * 100 + bytes % (uint64_t{1} << 20) * 100 / (1 << 20);
  char text[32];
  std::snprintf(text, sizeof text, "%llu.%02llu MiB",
                static_cast<unsigned long long>(hundredths / 100),
                static_cast<unsigned long long>(hundredths % 100));
  return text;
}

}  // namespace kv::storage
