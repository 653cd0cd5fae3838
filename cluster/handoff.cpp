#include "cluster/handoff.hpp"

#include <algorithm>

namespace kv::cluster {
namespace {

std::vector<std::string> holders(const ring& r, uint32_t partition, uint32_t n) {
  std::vector<std::string> result;
  for (auto m : r.preference_list(partition, n)) result.push_back(r.members()[m].id);
  return result;
}

bool contains(const std::vector<std::string>& ids, std::string_view id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

bool holds(const ring& r, uint32_t partition, uint32_t n, std::string_view self) {
  return contains(holders(r, partition, n), self);
}

handoff_plan plan_handoff(const ring& before, const ring& after, uint32_t n,
                          std::string_view self) {
  handoff_plan plan;
  for (uint32_t p = 0; p < after.partitions(); ++p) {
    auto old = holders(before, p, n);
    if (!contains(old, self)) continue;
    auto now = holders(after, p, n);
    std::sort(now.begin(), now.end());
    for (auto& id : now)
      if (!contains(old, id)) plan.sends.push_back({p, id});
    if (!contains(now, self)) plan.drops.push_back(p);
  }
  return plan;
}

}  // namespace kv::cluster
