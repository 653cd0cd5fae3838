#include "storage/causal_context.hpp"

#include <algorithm>

namespace kv::storage {

causal_context causal_context::from_parts(version_vector vv, std::vector<dot> dots) {
  std::sort(dots.begin(), dots.end());
  dots.erase(std::unique(dots.begin(), dots.end()), dots.end());
  dots.erase(std::remove_if(dots.begin(), dots.end(),
                            [&vv](const dot& d) { return d.counter == 0 || vv.covers(d); }),
             dots.end());
  causal_context result;
  result.vv_ = std::move(vv);
  result.dots_ = std::move(dots);
  return result;
}

bool causal_context::covers(const dot& d) const {
  return vv_.covers(d) || std::binary_search(dots_.begin(), dots_.end(), d);
}

bool causal_context::descends(const causal_context& other) const {
  for (const auto& e : other.vv_.entries()) {
    auto have = vv_.counter(e.actor);
    if (have >= e.counter) continue;
    // Events have + 1 .. e.counter are covered only if each of them is an exact dot here.
    auto from = std::lower_bound(dots_.begin(), dots_.end(), dot{e.actor, have + 1});
    auto to = std::upper_bound(from, dots_.end(), dot{e.actor, e.counter});
    if (static_cast<uint64_t>(to - from) != e.counter - have) return false;
  }
  return std::all_of(other.dots_.begin(), other.dots_.end(),
                     [this](const dot& d) { return covers(d); });
}

void causal_context::merge(const causal_context& other) {
  auto vv = std::move(vv_);
  vv.merge(other.vv_);
  auto dots = std::move(dots_);
  dots.insert(dots.end(), other.dots_.begin(), other.dots_.end());
  *this = from_parts(std::move(vv), std::move(dots));
}

std::string to_string(const causal_context& context) {
  auto result = to_string(context.vv());
  if (context.dots().empty()) return result;
  result += " + [";
  for (const auto& d : context.dots()) {
    if (result.back() != '[') result += ", ";
    result += to_string(d);
  }
  return result + ']';
}

}  // namespace kv::storage
