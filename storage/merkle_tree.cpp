#include "storage/merkle_tree.hpp"

#include <cassert>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace kv::storage {
namespace {

constexpr uint64_t key_seed = 0x6b76'6d65'726b'6c65;  // "kvmerkle": buckets apart from placement

uint32_t log2_of(uint32_t power_of_two) {
  uint32_t result = 0;
  while ((1u << result) < power_of_two) ++result;
  return result;
}

}  // namespace

merkle_tree::merkle_tree(uint32_t leaves)
    : leaves_(leaves), depth_(log2_of(leaves)), nodes_(size_t{2} * leaves, 0) {
  assert(leaves >= 1 && leaves <= (1u << 20) && (leaves & (leaves - 1)) == 0);
}

uint64_t merkle_tree::digest(std::string_view key, std::string_view object) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  auto key_len = static_cast<uint64_t>(key.size());
  XXH3_64bits_update(&state, &key_len, sizeof key_len);  // "ab"+"c" differs from "a"+"bc"
  XXH3_64bits_update(&state, key.data(), key.size());
  XXH3_64bits_update(&state, object.data(), object.size());
  auto result = XXH3_64bits_digest(&state);
  return result == 0 ? 1 : result;
}

uint32_t merkle_tree::bucket_of(std::string_view key) const {
  auto h = XXH3_64bits_withSeed(key.data(), key.size(), key_seed);
  return depth_ == 0 ? 0 : static_cast<uint32_t>(h >> (64 - depth_));
}

void merkle_tree::update(std::string_view key, uint64_t before, uint64_t after) {
  auto delta = before ^ after;
  if (delta == 0) return;
  for (auto i = size_t{leaves_} + bucket_of(key); i >= 1; i /= 2) nodes_[i] ^= delta;
}

uint64_t merkle_tree::node(uint32_t level, uint32_t index) const {
  assert(level <= depth_ && index < (1u << level));
  return nodes_[(size_t{1} << level) + index];
}

merkle_diff compare(const merkle_tree& local,
                    const std::function<uint64_t(uint32_t level, uint32_t index)>& remote) {
  merkle_diff result;
  std::vector<uint32_t> differing;
  result.hashes_compared = 1;
  if (local.root() != remote(0, 0)) differing.push_back(0);
  for (uint32_t level = 1; level <= local.depth() && !differing.empty(); ++level) {
    ++result.rounds;
    std::vector<uint32_t> next;
    for (auto parent : differing)
      for (uint32_t child = 2 * parent; child <= 2 * parent + 1; ++child) {
        ++result.hashes_compared;
        if (local.node(level, child) != remote(level, child)) next.push_back(child);
      }
    differing = std::move(next);
  }
  result.buckets = std::move(differing);
  return result;
}

}  // namespace kv::storage
