// cluster/members.hpp
// The member table gossip spreads: one row per node id ever seen, with its address, placement
// attributes, status, incarnation and heartbeat. Pure logic; the gossip actor holds one table
// and merges every table it receives into it.
//
// The merge is a join: commutative, associative and idempotent, so any two nodes that have
// received the same rows hold the same table, whatever the order they came in.
//  - `removed` is final: a removed row beats every row that is not, whatever its incarnation.
//    A removed id never comes back, not even from a node restarted with an old table.
//  - Otherwise the higher incarnation wins whole. Only a member raises its own incarnation:
//    each process start takes a new epoch (storage/identity.hpp) and the member raises it again
//    to refute a `down` that others declared (it "speaks" and is up again).
//  - At equal incarnation the later status wins (joining < up < leaving < down), and the higher
//    heartbeat. Others may only declare a member `down` or `removed`; everything else about a
//    row is the member's own word.
// A node restarted with the same id takes a new, greater incarnation, so its old rows (and
// anyone's stale copy of them) lose to its new ones.
//
// A member speaks only for itself. Of the rows a member sends about others, a table takes what
// any member may say: a member it does not hold yet (so a cluster learns of a new node through
// its seeds), a heartbeat relayed at the incarnation it holds, a declaration of `down` (under
// mark_down's rule) and a removal. A new incarnation, address, placement or other status of a
// member it holds is taken only from that member itself: a peer with a valid certificate cannot
// move, re-place, revive or retire another member. Each member therefore tells its own changes
// to every peer directly (the gossip actor does), not by rumour.
//
// Bounds: a table holds at most max_members rows (so the table a node sends never passes the
// bound its peers decode with, cluster/member_wire.hpp), and its own counters saturate at
// max_counter instead of wrapping to 0, which would make its word lose everywhere.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/ring.hpp"

namespace kv::cluster {

// The most rows a member table holds, removed members included; new ids past it are refused.
constexpr size_t max_members = 4096;

// The highest incarnation or heartbeat. An incarnation starts as wall-clock milliseconds (about
// 2^41) and rises by one per refutation; a heartbeat rises five times a second: neither comes
// near 2^62 honestly, so the bound leaves room without ever wrapping.
constexpr uint64_t max_counter = (uint64_t{1} << 62) - 1;

enum class member_status : uint8_t { joining, up, leaving, down, removed };

const char* to_string(member_status s);

struct member_entry {
  member_spec spec;  // id, rack, datacenter, weight
  std::string address;
  member_status status = member_status::up;
  uint64_t incarnation = 0;
  uint64_t heartbeat = 0;

  friend bool operator==(const member_entry& a, const member_entry& b);
  friend bool operator!=(const member_entry& a, const member_entry& b) { return !(a == b); }
};

// The row that wins between two rows of the same id (see the rules above).
member_entry merge(const member_entry& a, const member_entry& b);

// Whether a member in this status holds replicas: up and down do (a down member keeps its place,
// its writes go elsewhere); joining, leaving (handing its data off) and removed do not.
bool placed(member_status s);

// What merging a remote table changed here.
struct merge_outcome {
  std::vector<std::string> advanced;     // ids whose heartbeat or incarnation went up: they spoke
  std::vector<std::string> learned;      // ids new to this table
  std::vector<std::string> revived;      // ids that were down here and are not any more
  std::vector<std::string> refused;      // ids new to this table not taken: it was full
  std::vector<std::string> overreached;  // rows another member sent that only their own may
  bool placement_changed = false;  // the members that hold replicas changed (rebuild the ring)
  bool changed = false;            // any row changed
  bool refuted = false;            // this node was said down and raised its incarnation
  bool self_removed = false;       // this node was removed from the cluster
};

class member_table {
 public:
  using row_map = std::map<std::string, member_entry, std::less<>>;

  // The table of a node that knows only itself.
  explicit member_table(member_entry self);

  const std::string& self_id() const { return self_id_; }
  const member_entry& self() const { return rows_.at(self_id_); }
  const row_map& rows() const { return rows_; }
  const member_entry* find(std::string_view id) const;

  // One gossip round of this node: its heartbeat goes up (up to max_counter).
  void beat();

  // Sets this node's own status (leaving, up again after leaving); raises its incarnation (up to
  // max_counter) so the new word wins everywhere.
  void set_self_status(member_status s);

  // Merges rows received from a peer. A row about this node that would override its own word
  // (down at its current incarnation, or a newer incarnation than its own) is refuted: this node
  // keeps its status and takes the incarnation min(max_counter, the row's + 1); at the bound a
  // refutation no longer wins, but nothing wraps. A row saying this node was removed is taken
  // (removal is final) and reported. Rows of ids new to a full table are refused and reported.
  merge_outcome merge(const std::vector<member_entry>& remote);
  merge_outcome merge_from(const member_table& remote);  // the same, from another table

  // The same for rows that member `speaker` sent: rows about other members it holds are taken
  // only as far as another member may speak of them (see above); the others are reported as
  // overreached. An empty speaker speaks for nobody.
  merge_outcome merge_said_by(std::string_view speaker, const std::vector<member_entry>& remote);
  merge_outcome merge_said_by(const member_table& speaker);  // its table, from its own mouth

  // Declares another member down at the incarnation this table knows, if it is up or joining (a
  // leaving member that goes silent stays leaving: it holds nothing); true if the row changed.
  bool mark_down(std::string_view id);

  // Declares a member removed (final); true if the row changed.
  bool mark_removed(std::string_view id);

  // The members that hold replicas, for the ring.
  std::vector<member_spec> placement() const;

  std::vector<member_entry> entries() const;

 private:
  template <class Rows>
  merge_outcome merge_rows(const Rows& remote, std::optional<std::string_view> speaker);

  std::string self_id_;
  row_map rows_;
};

}  // namespace kv::cluster
