#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>
#include <vector>

#include "client/bench/keys.hpp"
#include "client/bench/workload.hpp"

using namespace kv::bench;

namespace {

constexpr uint64_t items = 100000;
constexpr double theta = 0.99;

// P(rank i) of the exact zipfian distribution over `items` ranks.
std::vector<double> zipf_probabilities() {
  std::vector<double> p(items);
  double zetan = zipfian_chooser::zeta(items, theta);
  for (uint64_t i = 0; i < items; ++i)
    p[i] = 1.0 / std::pow(static_cast<double>(i + 1), theta) / zetan;
  return p;
}

std::vector<uint64_t> draw(key_chooser& chooser, uint64_t seed, size_t count) {
  rng gen{seed};
  std::vector<uint64_t> out(count);
  for (auto& x : out) x = chooser.next(gen);
  return out;
}

}  // namespace

TEST_CASE("keys are fixed-width, printable and distinct per record", "[keys]") {
  CHECK(key_of(0, 16) == "k000000000000000");
  CHECK(key_of(42, 16) == "k000000000000042");
  CHECK(key_of(99999, 6) == "k99999");
  CHECK(digits_for(100000) == 5);
  CHECK(digits_for(100001) == 6);
  CHECK(digits_for(1) == 1);
  std::set<std::string> seen;
  for (uint64_t i = 0; i < 20000; ++i) {
    auto k = key_of(i, 8);
    REQUIRE(k.size() == 8);
    REQUIRE(std::all_of(k.begin(), k.end(), [](char c) { return c >= 0x21 && c < 0x7F; }));
    seen.insert(k);
  }
  CHECK(seen.size() == 20000);
}

TEST_CASE("values are fresh bytes on every fill", "[keys]") {
  rng gen{1};
  std::string a, b;
  fill_value(a, 1027, gen);
  fill_value(b, 1027, gen);
  CHECK(a.size() == 1027);
  CHECK(b.size() == 1027);
  CHECK(a != b);
  std::set<char> distinct(a.begin(), a.end());
  CHECK(distinct.size() > 200);  // random bytes, not a compressible pattern
}

TEST_CASE("the generator is deterministic per seed", "[keys]") {
  rng a{9}, b{9}, c{10};
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    auto x = a.next();
    CHECK(x == b.next());
    differs = differs || x != c.next();
  }
  CHECK(differs);
}

TEST_CASE("FNV-1a 64 matches YCSB's fnvhash64", "[keys]") {
  // FNV-1a 64 of eight zero bytes is 0xa8c7f832281a39c5: negative as a Java long, so
  // Math.abs gives its two's complement.
  CHECK(fnv1a64(0) == 0x573807cdd7e5c63bULL);
  CHECK(fnv1a64(1) == 0x7632ced6e2d5105cULL);
  CHECK(fnv1a64(42) == 0x00c52294c8762511ULL);
  CHECK(fnv1a64(123456789) == 0x209fb53a28d931e7ULL);
  for (uint64_t v = 0; v < 1000; ++v) CHECK(fnv1a64(v) <= (uint64_t{1} << 63));
}

TEST_CASE("uniform keys are uniform", "[keys]") {
  uniform_chooser chooser{items};
  auto draws = draw(chooser, 3, 1000000);
  std::vector<uint64_t> per_percentile(100);
  for (auto d : draws) {
    REQUIRE(d < items);
    ++per_percentile[d * 100 / items];
  }
  // 10000 expected per bin, standard deviation ~100.
  for (auto n : per_percentile) CHECK(std::abs(static_cast<double>(n) - 10000.0) < 500.0);
}

TEST_CASE("zipfian ranks are deterministic per seed", "[keys][zipfian]") {
  scrambled_zipfian_chooser a{items}, b{items};
  CHECK(draw(a, 5, 1000) == draw(b, 5, 1000));
  CHECK(draw(a, 5, 1000) != draw(b, 6, 1000));
}

TEST_CASE("zipfian ranks follow theta 0.99 over 100k items", "[keys][zipfian]") {
  zipfian_chooser chooser{items, theta};
  auto p = zipf_probabilities();
  double mean_rank = 0, top1 = 0;
  for (uint64_t i = 0; i < items; ++i) {
    mean_rank += static_cast<double>(i) * p[i];
    if (i < items / 100) top1 += p[i];
  }
  const size_t n = 2000000;
  auto draws = draw(chooser, 11, n);
  double sum = 0;
  size_t hottest = 0, in_top1 = 0;
  for (auto d : draws) {
    REQUIRE(d < items);
    sum += static_cast<double>(d);
    hottest += d == 0;
    in_top1 += d < items / 100;
  }
  auto measured_mean = sum / n;
  auto measured_hottest = static_cast<double>(hottest) / n;
  auto measured_top1 = static_cast<double>(in_top1) / n;
  std::cout << "zipfian theta 0.99 over " << items << " items, " << n << " draws: mean rank "
            << measured_mean << " (exact zipfian " << mean_rank << "), hottest key share "
            << measured_hottest << " (" << p[0] << "), top 1% share " << measured_top1 << " ("
            << top1 << ")\n";
  CHECK(measured_hottest == Approx(p[0]).epsilon(0.02));
  CHECK(measured_top1 == Approx(top1).epsilon(0.03));
  // Gray et al.'s generator approximates the tail with a continuous formula: close, not exact.
  CHECK(measured_mean == Approx(mean_rank).epsilon(0.05));
}

TEST_CASE("scrambling spreads the hot keys over the key space", "[keys][zipfian]") {
  // The 100 most popular ranks and the records they land on.
  std::set<uint64_t> hot;
  std::vector<size_t> per_decile(10);
  for (uint64_t rank = 0; rank < 100; ++rank) {
    auto record = fnv1a64(rank) % items;
    hot.insert(record);
    ++per_decile[record * 10 / items];
  }
  CHECK(hot.size() >= 98);  // fnv mod n rarely collides
  for (auto n : per_decile) CHECK(n >= 2);
  // And the draws themselves: the hottest record is not record 0.
  scrambled_zipfian_chooser chooser{items};
  auto draws = draw(chooser, 13, 200000);
  std::vector<size_t> counts(items);
  for (auto d : draws) ++counts[d];
  auto hottest = std::max_element(counts.begin(), counts.end()) - counts.begin();
  CHECK(static_cast<uint64_t>(hottest) == fnv1a64(0) % items);
}

TEST_CASE("workloads mix reads and updates in their proportions", "[keys][workload]") {
  for (auto [w, reads] :
       {std::pair{workload::a, 0.5}, {workload::b, 0.95}, {workload::c, 1.0}, {workload::w, 0.0}}) {
    bench_config cfg;
    cfg.wl = w;
    cfg.records = 1000;
    op_stream ops{cfg};
    size_t n = 200000, read = 0;
    for (size_t i = 0; i < n; ++i) {
      auto o = ops.next();
      REQUIRE(o.record < 1000);
      read += o.kind == op_kind::read;
    }
    INFO("workload " << to_string(w));
    CHECK(static_cast<double>(read) / n == Approx(reads).margin(0.005));
  }
}

TEST_CASE("workload W only updates, over every record", "[keys][workload]") {
  bench_config cfg;
  cfg.wl = *parse_workload("w");
  REQUIRE(cfg.wl == workload::w);
  CHECK(to_string(cfg.wl) == "W");
  CHECK(parse_workload("W") == workload::w);
  CHECK(read_fraction(workload::w) == 0.0);
  cfg.records = 100;
  op_stream ops{cfg};
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    auto o = ops.next();
    REQUIRE(o.kind == op_kind::update);
    seen.insert(o.record);
  }
  CHECK(seen.size() == 100);
  std::string first = ops.next_value();
  CHECK(first != ops.next_value());
}

TEST_CASE("the load's concurrency defaults to the run's", "[keys][workload]") {
  bench_config cfg;
  cfg.concurrency = 8;
  CHECK(cfg.load_in_flight() == 8);
  cfg.load_concurrency = 32;
  CHECK(cfg.load_in_flight() == 32);
  CHECK(validate(cfg).empty());
  cfg.tgt = target::etcd;
  cfg.nodes = {"127.0.0.1:2379", "127.0.0.1:22379"};
  CHECK(validate(cfg).empty());
  cfg.w = 2;
  CHECK(validate(cfg).find("ringkv only") != std::string::npos);
}

TEST_CASE("a seed fixes the whole operation stream", "[keys][workload]") {
  bench_config cfg;
  cfg.records = 5000;
  cfg.dist = distribution::zipfian;
  op_stream a{cfg}, b{cfg};
  for (int i = 0; i < 1000; ++i) {
    auto x = a.next(), y = b.next();
    REQUIRE(x.record == y.record);
    REQUIRE(x.kind == y.kind);
  }
  CHECK(a.next_value() == b.next_value());
}

TEST_CASE("a key prefix replaces the k and keeps the key size", "[keys]") {
  CHECK(key_of(42, 16, "c3") == "c300000000000042");
  CHECK(key_of(42, 16, "c3").size() == 16);
  CHECK(key_of(7, 4, "ab") == "ab07");
  CHECK(key_of(0, 16, "k") == key_of(0, 16));
}

TEST_CASE("a key prefix must be short and plain, and leave room for the index", "[keys]") {
  bench_config cfg;
  cfg.records = 1000;  // 3 digits
  cfg.key_prefix = "cell-7";
  cfg.key_size = 9;
  CHECK(validate(cfg).empty());
  cfg.key_size = 8;
  CHECK(validate(cfg).find("--key-size 8 is too small") != std::string::npos);
  cfg.key_size = 16;
  for (auto bad : {"", "a b", "x/y", "0123456789abcdefg"}) {
    cfg.key_prefix = bad;
    CHECK(validate(cfg).find("--key-prefix") != std::string::npos);
  }
}
