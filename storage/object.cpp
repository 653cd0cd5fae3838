#include "storage/object.hpp"

#include <algorithm>
#include <cassert>
#include <tuple>

namespace kv::storage {
namespace {

// Two copies of one dot are the same write and normally identical. Should they ever differ,
// every replica keeps the larger by (timestamp, deleted, value), so merge stays commutative.
bool loses_to(const sibling& a, const sibling& b) {
  return std::tie(a.timestamp_ms, a.deleted, a.value) <
         std::tie(b.timestamp_ms, b.deleted, b.value);
}

// The last-write-wins order: timestamp, then dot (a total order on distinct writes).
bool older(const sibling& a, const sibling& b) {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms < b.timestamp_ms;
  if (a.id != b.id) return a.id < b.id;
  return loses_to(a, b);
}

// Sorts by dot and keeps one sibling per dot: the winner by loses_to.
std::vector<sibling> normalized(std::vector<sibling> siblings) {
  std::sort(siblings.begin(), siblings.end(), [](const sibling& a, const sibling& b) {
    return a.id != b.id ? a.id < b.id : loses_to(a, b);
  });
  std::vector<sibling> result;
  result.reserve(siblings.size());
  for (auto& s : siblings) {
    if (!result.empty() && result.back().id == s.id)
      result.back() = std::move(s);
    else
      result.push_back(std::move(s));
  }
  return result;
}

std::vector<sibling> newest_only(std::vector<sibling> siblings) {
  if (siblings.empty()) return siblings;
  auto newest = std::max_element(siblings.begin(), siblings.end(), older);
  return {std::move(*newest)};
}

bool holds(const object& obj, const dot& d) {
  const auto& s = obj.siblings();
  auto i = std::lower_bound(s.begin(), s.end(), d,
                            [](const sibling& x, const dot& y) { return x.id < y; });
  return i != s.end() && i->id == d;
}

// The siblings of `from` that survive a join with `other`: those `other` holds too, and those
// it has not seen. A sibling `other` has seen but no longer holds was superseded there.
void append_survivors(const object& from, const object& other, std::vector<sibling>& out) {
  for (const auto& s : from.siblings())
    if (holds(other, s.id) || !other.context().covers(s.id)) out.push_back(s);
}

// The client's context, with entry stamps no later than now: a token cannot make its entries
// look newer than they are and so push real ones out when the context is pruned.
version_vector capped(const version_vector& seen, int64_t now_ms) {
  auto entries = seen.entries();
  for (auto& e : entries) e.updated_ms = std::min(e.updated_ms, now_ms);
  return version_vector::from_entries(std::move(entries));
}

// The stored context after a write: the replica's, the client's vector, the new dot, and each
// exact dot of the client that extends the context without a gap. An entry (actor, c) claims
// events 1..c, so a dot further up must not become one: the entry would claim events between
// that this replica never saw, and a merge would later drop those versions as superseded when
// they arrive, losing them. A dot left out costs little: should its version reach this replica
// later, it is not known to be superseded, and it comes back as a sibling beside the new one
// until a write that has read it supersedes it again.
version_vector recorded(version_vector context, const version_vector& client,
                        const std::vector<dot>& exact, const dot& written, int64_t now_ms) {
  context.merge(client);
  context.add(written, now_ms);
  for (const auto& d : exact)  // sorted: each dot of an actor can extend the one before
    if (d.counter - 1 <= context.counter(d.actor)) context.add(d, now_ms);
  return context;
}

// What the writer has now seen (apply_write in object.hpp says why each part is as it is).
causal_context handed_back(version_vector client, const std::vector<dot>& exact,
                           const object& stored, const dot& written, int64_t now_ms) {
  std::vector<dot> dots;
  for (const auto& d : exact)
    if (!stored.context().covers(d)) dots.push_back(d);
  bool alone = std::none_of(
      stored.siblings().begin(), stored.siblings().end(),
      [&written](const sibling& s) { return s.id.actor == written.actor && s.id != written; });
  if (alone)
    client.add(written, now_ms);
  else
    dots.push_back(written);
  return causal_context::from_parts(std::move(client), std::move(dots));
}

}  // namespace

object object::from_parts(std::vector<sibling> siblings, version_vector context) {
  object result;
  result.siblings_ = normalized(std::move(siblings));
  for (const auto& s : result.siblings_)
    if (!context.covers(s.id)) context.add(s.id, s.timestamp_ms);
  result.context_ = std::move(context);
  return result;
}

bool object::has_live() const {
  return std::any_of(siblings_.begin(), siblings_.end(),
                     [](const sibling& s) { return !s.deleted; });
}

std::optional<dot> next_dot(const object& current, std::string_view actor, uint64_t floor) {
  auto last = std::max(current.context().counter(actor), floor);
  if (last >= max_counter - 1) return std::nullopt;
  return dot{std::string{actor}, last + 1};
}

object merge(const object& a, const object& b, resolution how) {
  std::vector<sibling> siblings;
  siblings.reserve(a.siblings_.size() + b.siblings_.size());
  if (how == resolution::lww) {
    siblings.insert(siblings.end(), a.siblings_.begin(), a.siblings_.end());
    siblings.insert(siblings.end(), b.siblings_.begin(), b.siblings_.end());
    siblings = newest_only(std::move(siblings));
  } else {
    append_survivors(a, b, siblings);
    append_survivors(b, a, siblings);
    siblings = normalized(std::move(siblings));
  }
  object result;
  result.siblings_ = std::move(siblings);
  result.context_ = a.context_;
  result.context_.merge(b.context_);
  return result;
}

write_result apply_write(const object& current, const causal_context& seen, sibling version,
                         const write_rules& rules) {
  assert(version.id.counter > current.context().counter(version.id.actor));
  if (rules.how == resolution::lww) {
    // Stamped after everything this replica holds, so that a write made after reading a
    // version wins over it even if the wall clock went backwards in between.
    for (const auto& s : current.siblings_)
      version.timestamp_ms = std::max(version.timestamp_ms, s.timestamp_ms + 1);
  }
  const dot written = version.id;
  write_result result;
  object& stored = result.stored;
  for (const auto& s : current.siblings_)
    if (rules.how == resolution::lww || !seen.covers(s.id)) stored.siblings_.push_back(s);
  stored.siblings_.push_back(std::move(version));
  stored.siblings_ = rules.how == resolution::lww ? newest_only(std::move(stored.siblings_))
                                                  : normalized(std::move(stored.siblings_));
  auto client = capped(seen.vv(), rules.now_ms);
  stored.context_ = recorded(current.context_, client, seen.dots(), written, rules.now_ms);

  // Keep the actors that hold a sibling, and the writer: its next dot counts from its entry.
  auto keep = [&stored, &written](std::string_view actor) {
    return actor == written.actor ||
           std::any_of(stored.siblings_.begin(), stored.siblings_.end(),
                       [actor](const sibling& s) { return s.id.actor == actor; });
  };
  result.pruned = stored.context_.prune(rules.max_context_entries, keep);
  result.seen = handed_back(std::move(client), seen.dots(), stored, written, rules.now_ms);
  return result;
}

}  // namespace kv::storage
