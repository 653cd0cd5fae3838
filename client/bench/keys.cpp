#include "client/bench/keys.hpp"

#include <cmath>
#include <cstring>

namespace kv::bench {

uint64_t rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double rng::next_double() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

// Lemire's multiply-shift; the bias (below 2^-32 for our bounds) does not matter here.
uint64_t rng::below(uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
}

size_t digits_for(uint64_t records) {
  size_t digits = 1;
  for (uint64_t largest = records > 0 ? records - 1 : 0; largest >= 10; largest /= 10) ++digits;
  return digits;
}

std::string key_of(uint64_t index, size_t key_size, std::string_view prefix) {
  std::string key(key_size, '0');
  key.replace(0, prefix.size(), prefix);
  for (size_t i = key_size; i > prefix.size() && index > 0; --i, index /= 10)
    key[i - 1] = static_cast<char>('0' + index % 10);
  return key;
}

void fill_value(std::string& value, size_t size, rng& gen) {
  value.resize(size);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    auto word = gen.next();
    std::memcpy(&value[i], &word, 8);
  }
  if (i < size) {
    auto word = gen.next();
    std::memcpy(&value[i], &word, size - i);
  }
}

uint64_t fnv1a64(uint64_t value) {
  uint64_t hash = 0xCBF29CE484222325ULL;
  for (int i = 0; i < 8; ++i) {
    hash ^= value & 0xFF;
    value >>= 8;
    hash *= 1099511628211ULL;
  }
  auto signed_hash = static_cast<int64_t>(hash);
  // Java's Math.abs leaves Long.MIN_VALUE negative; its magnitude 2^63 is what we keep.
  return signed_hash < 0 ? uint64_t{0} - hash : hash;
}

double zipfian_chooser::zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

zipfian_chooser::zipfian_chooser(uint64_t items, double theta)
    : items_(items),
      theta_(theta),
      zetan_(zeta(items, theta)),
      alpha_(1.0 / (1.0 - theta)),
      half_pow_theta_(std::pow(0.5, theta)) {
  auto zeta2 = zeta(2, theta);
  eta_ = (1 - std::pow(2.0 / static_cast<double>(items), 1 - theta)) / (1 - zeta2 / zetan_);
}

uint64_t zipfian_chooser::next(rng& gen) {
  auto u = gen.next_double();
  auto uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + half_pow_theta_) return items_ > 1 ? 1 : 0;
  auto rank =
      static_cast<uint64_t>(static_cast<double>(items_) * std::pow(eta_ * u - eta_ + 1, alpha_));
  return rank < items_ ? rank : items_ - 1;
}

std::unique_ptr<key_chooser> make_chooser(distribution d, uint64_t records) {
  if (d == distribution::zipfian) return std::make_unique<scrambled_zipfian_chooser>(records);
  return std::make_unique<uniform_chooser>(records);
}

}  // namespace kv::bench
