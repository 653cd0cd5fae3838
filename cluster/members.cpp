#include "cluster/members.hpp"

#include <algorithm>
#include <tuple>

namespace kv::cluster {
namespace {

auto spec_key(const member_entry& e) {
  return std::tie(e.address, e.spec.rack, e.spec.datacenter, e.spec.weight);
}

// Rows of the same rank (both removed or neither, same incarnation): the join field by field.
member_entry join_fields(const member_entry& a, const member_entry& b) {
  member_entry result = spec_key(a) >= spec_key(b) ? a : b;
  result.status = std::max(a.status, b.status);
  result.heartbeat = std::max(a.heartbeat, b.heartbeat);
  return result;
}

const member_entry& entry_of(const member_entry& e) {
  return e;
}
const member_entry& entry_of(const std::pair<const std::string, member_entry>& kv) {
  return kv.second;
}

// True when merge(mine, row) == mine, cheaply (the common case).
bool nothing_new(const member_entry& mine, const member_entry& row) {
  bool mine_removed = mine.status == member_status::removed;
  bool row_removed = row.status == member_status::removed;
  if (mine_removed || row_removed) return mine_removed && !row_removed;  // both: the slow way
  if (row.incarnation != mine.incarnation) return row.incarnation < mine.incarnation;
  return row.heartbeat <= mine.heartbeat && row.status <= mine.status &&
         spec_key(row) <= spec_key(mine);
}

bool same_placement(const member_entry& a, const member_entry& b) {
  return placed(a.status) == placed(b.status) && a.spec.rack == b.spec.rack &&
         a.spec.datacenter == b.spec.datacenter && a.spec.weight == b.spec.weight;
}

// Whether a member other than `mine`'s own may have sent `row` about it: a removal, or its
// heartbeat at the incarnation held here with nothing else changed but a declaration of down
// (which mark_down would make: not over a leaving member).
bool relayable(const member_entry& mine, const member_entry& row) {
  if (row.status == member_status::removed) return true;
  if (row.incarnation != mine.incarnation || spec_key(row) != spec_key(mine)) return false;
  return row.status <= mine.status ||
         (row.status == member_status::down && mine.status != member_status::leaving);
}

// value + 1, or max_counter at or past the bound.
uint64_t raised(uint64_t value) {
  return value < max_counter ? value + 1 : max_counter;
}

}  // namespace

const char* to_string(member_status s) {
  switch (s) {
    case member_status::joining:
      return "joining";
    case member_status::up:
      return "up";
    case member_status::leaving:
      return "leaving";
    case member_status::down:
      return "down";
    case member_status::removed:
      return "removed";
  }
  return "unknown";
}

bool operator==(const member_entry& a, const member_entry& b) {
  return a.spec.id == b.spec.id && spec_key(a) == spec_key(b) && a.status == b.status &&
         a.incarnation == b.incarnation && a.heartbeat == b.heartbeat;
}

member_entry merge(const member_entry& a, const member_entry& b) {
  bool a_removed = a.status == member_status::removed;
  bool b_removed = b.status == member_status::removed;
  if (a_removed != b_removed) return a_removed ? a : b;
  if (a.incarnation != b.incarnation) return a.incarnation > b.incarnation ? a : b;
  return join_fields(a, b);
}

bool placed(member_status s) {
  return s == member_status::up || s == member_status::down;
}

member_table::member_table(member_entry self) : self_id_(self.spec.id) {
  rows_.emplace(self_id_, std::move(self));
}

const member_entry* member_table::find(std::string_view id) const {
  auto i = rows_.find(id);
  return i == rows_.end() ? nullptr : &i->second;
}

void member_table::beat() {
  auto& me = rows_.at(self_id_);
  me.heartbeat = raised(me.heartbeat);
}

void member_table::set_self_status(member_status s) {
  auto& me = rows_.at(self_id_);
  if (me.status == member_status::removed) return;
  me.status = s;
  me.incarnation = raised(me.incarnation);
}

template <class Rows>
merge_outcome member_table::merge_rows(const Rows& remote,
                                       std::optional<std::string_view> speaker) {
  merge_outcome out;
  for (const auto& item : remote) {
    const member_entry& row = entry_of(item);
    const auto& id = row.spec.id;
    if (id.empty()) continue;
    auto i = rows_.find(id);
    if (i == rows_.end()) {
      if (rows_.size() >= max_members) {
        out.refused.push_back(id);
        continue;
      }
      rows_.emplace(id, row);
      out.changed = true;
      out.advanced.push_back(id);
      out.learned.push_back(id);
      out.placement_changed = out.placement_changed || placed(row.status);
      continue;
    }
    auto& mine = i->second;
    if (nothing_new(mine, row)) continue;  // most rows of a gossip message: no copy made
    if (speaker && id != *speaker && id != self_id_ && !relayable(mine, row)) {
      out.overreached.push_back(id);
      continue;
    }
    auto merged = cluster::merge(mine, row);
    if (merged == mine) continue;
    if (id == self_id_) {
      if (merged.status == member_status::removed) {
        out.self_removed = true;
        out.placement_changed = out.placement_changed || placed(mine.status);
        mine = merged;
      } else {  // somebody says otherwise about this node: its own word wins, newer
        mine.incarnation = raised(merged.incarnation);
        out.refuted = true;
      }
      out.changed = true;
      continue;
    }
    if (merged.incarnation > mine.incarnation || merged.heartbeat > mine.heartbeat)
      out.advanced.push_back(id);
    if (mine.status == member_status::down && merged.status != member_status::down)
      out.revived.push_back(id);
    out.placement_changed = out.placement_changed || !same_placement(mine, merged);
    out.changed = true;
    mine = std::move(merged);
  }
  return out;
}

merge_outcome member_table::merge(const std::vector<member_entry>& remote) {
  return merge_rows(remote, std::nullopt);
}

merge_outcome member_table::merge_from(const member_table& remote) {
  return merge_rows(remote.rows_, std::nullopt);
}

merge_outcome member_table::merge_said_by(std::string_view speaker,
                                          const std::vector<member_entry>& remote) {
  return merge_rows(remote, speaker);
}

merge_outcome member_table::merge_said_by(const member_table& speaker) {
  return merge_rows(speaker.rows_, std::string_view{speaker.self_id_});
}

bool member_table::mark_down(std::string_view id) {
  auto i = rows_.find(id);
  if (i == rows_.end() || i->first == self_id_) return false;
  auto& row = i->second;
  if (row.status != member_status::up && row.status != member_status::joining) return false;
  row.status = member_status::down;
  return true;
}

bool member_table::mark_removed(std::string_view id) {
  auto i = rows_.find(id);
  if (i == rows_.end() || i->second.status == member_status::removed) return false;
  i->second.status = member_status::removed;
  return true;
}

std::vector<member_spec> member_table::placement() const {
  std::vector<member_spec> result;
  for (const auto& [id, row] : rows_)
    if (placed(row.status)) result.push_back(row.spec);
  return result;
}

std::vector<member_entry> member_table::entries() const {
  std::vector<member_entry> result;
  result.reserve(rows_.size());
  for (const auto& [id, row] : rows_) result.push_back(row);
  return result;
}

}  // namespace kv::cluster
