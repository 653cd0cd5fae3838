// client/bench/histogram.hpp
// A latency histogram in the HDR style: log-linear buckets, 128 per power of two, so every
// recorded value lands in a bucket at most 1/128 (0.8 %) of its size wide, and a percentile
// (the bucket's midpoint) is within 0.4 % of the exact order statistic, from 1 to 2^64.
// Values are plain integers (kvbench records nanoseconds). Min, max, count and sum are exact.
// Not thread-safe: one writer; copy it to read it elsewhere. No CAF, no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace kv::bench {

class histogram {
 public:
  static constexpr unsigned sub_bits = 7;                  // 128 buckets per power of two
  static constexpr uint64_t exact_limit = 2u << sub_bits;  // below this, one bucket per value
  static constexpr size_t bucket_count = exact_limit + (64 - sub_bits - 1) * (1u << sub_bits);

  void record(uint64_t value);
  void merge(const histogram& other);
  void reset() { *this = histogram{}; }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

  // The value at quantile q in [0, 1] (0.99 = p99): the smallest recorded value with at least
  // ceil(q * count) values at or below it, to within half a bucket. 0 when empty.
  uint64_t percentile(double q) const;

  // Bucket arithmetic, public for tests.
  static size_t index_of(uint64_t value);
  static uint64_t lowest_of(size_t index);
  static uint64_t width_of(size_t index);

 private:
  std::array<uint64_t, bucket_count> buckets_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace kv::bench
