#include "storage/version_vector.hpp"

#include <algorithm>
#include <tuple>

namespace kv::storage {
namespace {

using entry = version_vector::entry;

bool by_actor(const entry& a, const entry& b) {
  return a.actor < b.actor;
}

// The lattice order of one actor's entry: a higher counter wins, then the later stamp. Every
// way of combining entries (from_entries, add, merge) takes this maximum, so they all agree.
bool precedes(const entry& a, const entry& b) {
  return std::tie(a.counter, a.updated_ms) < std::tie(b.counter, b.updated_ms);
}

void join_into(entry& into, const entry& from) {
  if (precedes(into, from)) {
    into.counter = from.counter;
    into.updated_ms = from.updated_ms;
  }
}

}  // namespace

std::string to_string(const dot& d) {
  return d.actor + ':' + std::to_string(d.counter);
}

version_vector version_vector::from_entries(std::vector<entry> entries) {
  entries.erase(
      std::remove_if(entries.begin(), entries.end(), [](const entry& e) { return e.counter == 0; }),
      entries.end());
  std::sort(entries.begin(), entries.end(), by_actor);
  version_vector result;
  for (auto& e : entries) {
    if (!result.entries_.empty() && result.entries_.back().actor == e.actor)
      join_into(result.entries_.back(), e);
    else
      result.entries_.push_back(std::move(e));
  }
  return result;
}

uint64_t version_vector::counter(std::string_view actor) const {
  auto i = std::lower_bound(entries_.begin(), entries_.end(), actor,
                            [](const entry& e, std::string_view a) { return e.actor < a; });
  return i != entries_.end() && i->actor == actor ? i->counter : 0;
}

bool version_vector::descends(const version_vector& other) const {
  return std::all_of(other.entries_.begin(), other.entries_.end(),
                     [this](const entry& e) { return counter(e.actor) >= e.counter; });
}

void version_vector::add(const dot& d, int64_t now_ms) {
  if (d.counter == 0) return;
  entry e{d.actor, d.counter, now_ms};
  auto i = std::lower_bound(entries_.begin(), entries_.end(), e, by_actor);
  if (i != entries_.end() && i->actor == d.actor)
    join_into(*i, e);
  else
    entries_.insert(i, std::move(e));
}

void version_vector::merge(const version_vector& other) {
  std::vector<entry> result;
  result.reserve(entries_.size() + other.entries_.size());
  auto i = entries_.begin();
  auto j = other.entries_.begin();
  while (i != entries_.end() || j != other.entries_.end()) {
    if (j == other.entries_.end() || (i != entries_.end() && i->actor < j->actor)) {
      result.push_back(std::move(*i++));
    } else if (i == entries_.end() || j->actor < i->actor) {
      result.push_back(*j++);
    } else {
      join_into(*i, *j++);
      result.push_back(std::move(*i++));
    }
  }
  entries_ = std::move(result);
}

size_t version_vector::prune(size_t max_entries,
                             const std::function<bool(std::string_view)>& keep) {
  if (max_entries == 0 || entries_.size() <= max_entries) return 0;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (!keep(entries_[i].actor)) candidates.push_back(i);
  std::sort(candidates.begin(), candidates.end(), [this](size_t a, size_t b) {
    return std::tie(entries_[a].updated_ms, entries_[a].actor) <
           std::tie(entries_[b].updated_ms, entries_[b].actor);
  });
  candidates.resize(std::min(candidates.size(), entries_.size() - max_entries));
  std::vector<bool> dropped(entries_.size());
  for (auto i : candidates) dropped[i] = true;
  std::vector<entry> kept;
  kept.reserve(entries_.size() - candidates.size());
  for (size_t i = 0; i < entries_.size(); ++i)
    if (!dropped[i]) kept.push_back(std::move(entries_[i]));
  entries_ = std::move(kept);
  return candidates.size();
}

std::string to_string(const version_vector& vv) {
  std::string result = "{";
  for (const auto& e : vv.entries()) {
    if (result.size() > 1) result += ", ";
    result += e.actor + ':' + std::to_string(e.counter);
  }
  return result + '}';
}

}  // namespace kv::storage
