// client/bench/keys.hpp
// What kvbench reads and writes: record keys (fixed width, printable, derived from the record
// index), values (fresh pseudo-random bytes for every write, so compression does not flatter
// anyone) and the choice of the next record: uniform, or YCSB's scrambled zipfian. Every
// generator is deterministic from its seed. No CAF, no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kv::bench {

// SplitMix64 (Steele, Lea, Flood): a fast, well-mixed 64-bit generator.
class rng {
 public:
  explicit rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double next_double();            // uniform in [0, 1), 53 random bits
  uint64_t below(uint64_t bound);  // uniform in [0, bound); bound > 0

 private:
  uint64_t state_;
};

// Decimal digits of the largest index below `records` ("k" + that many digits must fit).
size_t digits_for(uint64_t records);

// `prefix` followed by `index` zero-padded to key_size bytes in all: "k000000000000042" for 16
// bytes. Precondition: key_size >= prefix.size() + digits_for(index + 1).
std::string key_of(uint64_t index, size_t key_size, std::string_view prefix = "k");

// Overwrites `value` with `size` pseudo-random bytes (8 per generator step).
void fill_value(std::string& value, size_t size, rng& gen);

// FNV-1a 64 of the eight little-endian bytes of `value`, made non-negative the way YCSB's
// Utils.fnvhash64 does (Math.abs of the signed result).
uint64_t fnv1a64(uint64_t value);

// Picks the next record index in [0, records).
class key_chooser {
 public:
  virtual ~key_chooser() = default;
  virtual uint64_t next(rng& gen) = 0;
};

class uniform_chooser : public key_chooser {
 public:
  explicit uniform_chooser(uint64_t records) : records_(records) {}
  uint64_t next(rng& gen) override { return gen.below(records_); }

 private:
  uint64_t records_;
};

// Gray et al., "Quickly generating billion-record synthetic databases" (SIGMOD 1994), as YCSB's
// ZipfianGenerator implements it: rank 0 is the most popular, P(rank i) ~ 1 / (i + 1)^theta.
class zipfian_chooser : public key_chooser {
 public:
  zipfian_chooser(uint64_t items, double theta = 0.99);
  uint64_t next(rng& gen) override;

  double zetan() const { return zetan_; }

  // sum_{i=1..n} 1 / i^theta
  static double zeta(uint64_t n, double theta);

 private:
  uint64_t items_;
  double theta_, zetan_, alpha_, eta_, half_pow_theta_;
};

// YCSB's ScrambledZipfianGenerator: a zipfian rank, then fnv1a64(rank) mod records, so the
// popular records are spread over the key space instead of clustered at its start. YCSB draws
// the rank over 10^10 items with a precomputed zeta; we draw it over the record count, so the
// skew is exactly the zipfian one over the records.
class scrambled_zipfian_chooser : public key_chooser {
 public:
  scrambled_zipfian_chooser(uint64_t records, double theta = 0.99)
      : records_(records), ranks_(records, theta) {}
  uint64_t next(rng& gen) override { return fnv1a64(ranks_.next(gen)) % records_; }

 private:
  uint64_t records_;
  zipfian_chooser ranks_;
};

enum class distribution { uniform, zipfian };

std::unique_ptr<key_chooser> make_chooser(distribution d, uint64_t records);

}  // namespace kv::bench
