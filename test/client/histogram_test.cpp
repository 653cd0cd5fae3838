#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "client/bench/histogram.hpp"

using kv::bench::histogram;

namespace {

// The order statistic histogram::percentile promises, from the sorted values.
uint64_t reference(const std::vector<uint64_t>& sorted, double q) {
  auto rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * sorted.size())));
  return sorted[rank - 1];
}

double relative_error(uint64_t got, uint64_t want) {
  return std::abs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
}

}  // namespace

TEST_CASE("histogram buckets tile the value range without gaps", "[histogram]") {
  for (size_t i = 0; i + 1 < histogram::bucket_count; ++i) {
    INFO("bucket " << i);
    REQUIRE(histogram::lowest_of(i) + histogram::width_of(i) == histogram::lowest_of(i + 1));
    REQUIRE(histogram::index_of(histogram::lowest_of(i)) == i);
    REQUIRE(histogram::index_of(histogram::lowest_of(i + 1) - 1) == i);
  }
  CHECK(histogram::index_of(UINT64_MAX) == histogram::bucket_count - 1);
}

TEST_CASE("every bucket is at most 1/128 of its values wide", "[histogram]") {
  for (size_t i = histogram::exact_limit; i < histogram::bucket_count; ++i)
    REQUIRE(static_cast<double>(histogram::width_of(i)) /
                static_cast<double>(histogram::lowest_of(i)) <=
            1.0 / 128);
}

TEST_CASE("percentiles of random latencies are within 1% of the sorted reference", "[histogram]") {
  std::mt19937_64 gen{42};
  // Log-uniform from 1 us to 100 s, in nanoseconds: every decade as likely as the next.
  std::uniform_real_distribution<double> exponent{3.0, 11.0};
  SECTION("log-uniform") {
    std::vector<uint64_t> values(200000);
    for (auto& v : values) v = static_cast<uint64_t>(std::pow(10.0, exponent(gen)));
    histogram h;
    for (auto v : values) h.record(v);
    std::sort(values.begin(), values.end());
    for (double q : {0.0, 0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0}) {
      INFO("q " << q);
      CHECK(relative_error(h.percentile(q), reference(values, q)) <= 0.01);
    }
    CHECK(h.min() == values.front());
    CHECK(h.max() == values.back());
    CHECK(h.count() == values.size());
  }
  SECTION("a narrow latency band, as a loopback round trip gives") {
    std::lognormal_distribution<double> latency{std::log(80000.0), 0.3};  // ~80 us
    std::vector<uint64_t> values(100000);
    for (auto& v : values) v = static_cast<uint64_t>(latency(gen));
    histogram h;
    for (auto v : values) h.record(v);
    std::sort(values.begin(), values.end());
    for (double q : {0.5, 0.95, 0.99, 0.999}) {
      INFO("q " << q);
      CHECK(relative_error(h.percentile(q), reference(values, q)) <= 0.005);
    }
  }
}

TEST_CASE("merging histograms equals recording everything in one", "[histogram]") {
  std::mt19937_64 gen{7};
  std::uniform_int_distribution<uint64_t> any{1, uint64_t{1} << 40};
  histogram a, b, both;
  for (int i = 0; i < 50000; ++i) {
    auto v = any(gen);
    (i % 3 ? a : b).record(v);
    both.record(v);
  }
  a.merge(b);
  CHECK(a.count() == both.count());
  CHECK(a.min() == both.min());
  CHECK(a.max() == both.max());
  CHECK(a.mean() == Approx(both.mean()));
  for (double q : {0.01, 0.5, 0.99, 0.999}) CHECK(a.percentile(q) == both.percentile(q));
}

TEST_CASE("zero, one and huge values are recorded exactly at the edges", "[histogram]") {
  histogram h;
  CHECK(h.percentile(0.5) == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  h.record(0);
  CHECK(h.percentile(0.5) == 0);
  h.record(UINT64_MAX);
  CHECK(h.max() == UINT64_MAX);
  CHECK(h.percentile(1.0) == UINT64_MAX);
  CHECK(relative_error(h.percentile(1.0), UINT64_MAX) <= 0.01);
  histogram small;
  for (uint64_t v = 0; v < histogram::exact_limit; ++v) small.record(v);
  CHECK(small.percentile(0.5) == 127);  // exact below 256
  CHECK(small.min() == 0);
}

TEST_CASE("reset empties a histogram", "[histogram]") {
  histogram h;
  h.record(12345);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.percentile(0.99) == 0);
}
