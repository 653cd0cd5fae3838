#include "client/bench/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace kv::bench {

namespace {

constexpr uint64_t half = uint64_t{1} << histogram::sub_bits;

unsigned log2_floor(uint64_t v) {
  return 63u - static_cast<unsigned>(__builtin_clzll(v));
}

}  // namespace

// Values below exact_limit (256) have a bucket each. Above, a value with its highest bit at
// position p keeps its top sub_bits + 1 bits: bucket width 2^(p - sub_bits), and the kept
// mantissa (v >> shift) lies in [128, 256).
size_t histogram::index_of(uint64_t value) {
  if (value < exact_limit) return static_cast<size_t>(value);
  auto shift = log2_floor(value) - sub_bits;
  return static_cast<size_t>(exact_limit + (shift - 1) * half + ((value >> shift) - half));
}

uint64_t histogram::lowest_of(size_t index) {
  if (index < exact_limit) return index;
  auto shift = (index - exact_limit) / half + 1;
  auto mantissa = (index - exact_limit) % half + half;
  return static_cast<uint64_t>(mantissa) << shift;
}

uint64_t histogram::width_of(size_t index) {
  if (index < exact_limit) return 1;
  return uint64_t{1} << ((index - exact_limit) / half + 1);
}

void histogram::record(uint64_t value) {
  ++buckets_[index_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<double>(value);
}

void histogram::merge(const histogram& other) {
  for (size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

uint64_t histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  if (rank == 1) return min_;  // the extremes are known exactly
  if (rank >= count_) return max_;
  uint64_t seen = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen < rank) continue;
    auto mid = lowest_of(i) + (width_of(i) - 1) / 2;
    return std::clamp(mid, min(), max_);
  }
  return max_;
}

}  // namespace kv::bench
