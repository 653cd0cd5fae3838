#include "storage/gc.hpp"

#include <algorithm>
#include <numeric>

namespace kv::storage {

bool expired(const sibling& s, uint64_t ttl_ms, int64_t now_ms) {
  return ttl_ms > 0 && s.timestamp_ms + static_cast<int64_t>(ttl_ms) <= now_ms;
}

std::vector<sibling> visible(const object& obj, uint64_t ttl_ms, int64_t now_ms) {
  std::vector<sibling> result;
  for (auto& s : obj.siblings())
    if (!expired(s, ttl_ms, now_ms)) result.push_back(s);
  return result;
}

gc_verdict judge(const object& obj, const gc_rules& rules) {
  if (obj.empty()) return gc_verdict::keep;
  auto& siblings = obj.siblings();
  if (std::all_of(siblings.begin(), siblings.end(),
                  [&](const sibling& s) { return expired(s, rules.ttl_ms, rules.now_ms); }))
    return gc_verdict::expired;
  if (obj.has_live()) return gc_verdict::keep;
  int64_t newest = 0;
  for (auto& s : siblings) newest = std::max(newest, s.timestamp_ms);
  return newest + rules.grace_ms <= rules.now_ms ? gc_verdict::tombstone : gc_verdict::keep;
}

hint_drops hints_to_drop(const std::vector<hint_info>& hints, const hint_limits& limits,
                         int64_t now_ms) {
  hint_drops result;
  std::vector<size_t> rest;
  uint64_t total = 0;
  for (size_t i = 0; i < hints.size(); ++i) {
    if (hints[i].created_ms + limits.max_age_ms <= now_ms) {
      result.too_old.push_back(i);
    } else {
      rest.push_back(i);
      total += hints[i].bytes;
    }
  }
  if (total <= limits.max_bytes) return result;
  std::stable_sort(rest.begin(), rest.end(),
                   [&](size_t a, size_t b) { return hints[a].created_ms < hints[b].created_ms; });
  for (auto i : rest) {
    if (total <= limits.max_bytes) break;
    result.too_many.push_back(i);
    total -= hints[i].bytes;
  }
  return result;
}

}  // namespace kv::storage
