#include "cluster/ring.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "cluster/partitioner.hpp"
#include "messages/errc.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace kv::cluster {
namespace {

struct token {
  uint64_t position;
  uint32_t member;  // index into the sorted members

  // Ties in position (vanishingly rare) are broken by member index, so they too are ordered the
  // same way on every node.
  bool operator<(const token& other) const {
    return std::tie(position, member) < std::tie(other.position, other.member);
  }
};

void put_le32(uint32_t value, unsigned char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

// A member's token i sits at XXH3_64 of: the id's length (4 bytes, little-endian), the id, and i
// (4 bytes, little-endian). The length prefix keeps the encoding unambiguous and the fixed byte
// order keeps it the same on every platform: these positions are part of the data placement.
std::vector<token> make_tokens(const std::vector<member_spec>& members,
                               uint32_t tokens_per_weight) {
  std::vector<token> tokens;
  for (uint32_t m = 0; m < members.size(); ++m) {
    const std::string& id = members[m].id;
    std::vector<unsigned char> bytes(4 + id.size() + 4);
    put_le32(static_cast<uint32_t>(id.size()), bytes.data());
    std::copy(id.begin(), id.end(), bytes.begin() + 4);
    uint32_t count = members[m].weight * tokens_per_weight;
    for (uint32_t i = 0; i < count; ++i) {
      put_le32(i, bytes.data() + 4 + id.size());
      tokens.push_back({XXH3_64bits(bytes.data(), bytes.size()), m});
    }
  }
  std::sort(tokens.begin(), tokens.end());
  return tokens;
}

// Dense numbers for the datacenters and racks of the members. A rack is a (datacenter, rack)
// pair: the same rack name in two datacenters names two racks.
struct topology {
  std::vector<uint32_t> dc_of;    // per member
  std::vector<uint32_t> rack_of;  // per member
  uint32_t dcs = 0;
  uint32_t racks = 0;
};

topology make_topology(const std::vector<member_spec>& members) {
  std::map<std::string, uint32_t> dcs;
  std::map<std::pair<std::string, std::string>, uint32_t> racks;
  topology topo;
  for (const member_spec& m : members) {
    auto dc = dcs.emplace(m.datacenter, static_cast<uint32_t>(dcs.size())).first;
    auto rack = racks.emplace(std::pair{m.datacenter, m.rack}, static_cast<uint32_t>(racks.size()));
    topo.dc_of.push_back(dc->second);
    topo.rack_of.push_back(rack.first->second);
  }
  topo.dcs = static_cast<uint32_t>(dcs.size());
  topo.racks = static_cast<uint32_t>(racks.size());
  return topo;
}

// Computes preference orders, one partition at a time, reusing its scratch state.
//
// The greedy choice looks only as far along the walk as it must. Each pick takes the first
// untaken member of the best non-empty class: a new datacenter, else a new rack, else any. Which
// class is non-empty is known without walking: a datacenter (rack) not yet used has members,
// none of them taken. So the first member of that class is either among the members walked so
// far or further on; the walk is extended only in the second case. The result is exactly the
// greedy choice over the whole walk, at the cost of walking to the last member picked.
class order_builder {
 public:
  order_builder(const std::vector<token>& tokens, topology topo)
      : tokens_(tokens),
        topo_(std::move(topo)),
        seen_(topo_.dc_of.size()),
        taken_(topo_.dc_of.size()),
        dc_used_(topo_.dcs),
        rack_used_(topo_.racks) {}

  // Precondition: length <= number of members, each of which has a token.
  std::vector<uint32_t> build(uint64_t point, uint32_t length) {
    start_walk(point);
    std::vector<uint32_t> order;
    order.reserve(length);
    while (order.size() < length) {
      auto m = pick();
      if (!m) break;  // unreachable under the precondition; a short order beats an endless walk
      order.push_back(take(*m));
    }
    reset();
    return order;
  }

 private:
  enum class kind { new_dc, new_rack, any };

  void start_walk(uint64_t point) {
    token first{point, 0};
    next_ = static_cast<size_t>(std::lower_bound(tokens_.begin(), tokens_.end(), first) -
                                tokens_.begin());
  }

  // The next member met for the first time on the walk, appended to walk_. A member not met yet
  // is met within one lap of the ring, if it has a token; after a lap without one, none.
  std::optional<uint32_t> extend_walk() {
    for (size_t step = 0; step < tokens_.size(); ++step) {
      if (next_ == tokens_.size()) next_ = 0;
      uint32_t m = tokens_[next_++].member;
      if (seen_[m]) continue;
      seen_[m] = true;
      walk_.push_back(m);
      return m;
    }
    return std::nullopt;
  }

  // The best class that has a member not taken: a datacenter (rack) not used yet has members,
  // and none of them is taken.
  kind wanted() const {
    if (dcs_used_ < topo_.dcs) return kind::new_dc;
    if (racks_used_ < topo_.racks) return kind::new_rack;
    return kind::any;
  }

  std::optional<uint32_t> pick() {
    kind k = wanted();
    for (uint32_t m : walk_)
      if (fits(m, k)) return m;
    while (auto m = extend_walk())
      if (fits(*m, k)) return m;
    return std::nullopt;
  }

  bool fits(uint32_t m, kind k) const {
    if (taken_[m]) return false;
    switch (k) {
      case kind::new_dc:
        return !dc_used_[topo_.dc_of[m]];
      case kind::new_rack:
        return !rack_used_[topo_.rack_of[m]];
      case kind::any:
        return true;
    }
    return false;
  }

  uint32_t take(uint32_t m) {
    taken_[m] = true;
    if (!dc_used_[topo_.dc_of[m]]) ++dcs_used_;
    if (!rack_used_[topo_.rack_of[m]]) ++racks_used_;
    dc_used_[topo_.dc_of[m]] = true;
    rack_used_[topo_.rack_of[m]] = true;
    return m;
  }

  // Clears what this partition marked; every member taken was walked.
  void reset() {
    for (uint32_t m : walk_) {
      seen_[m] = false;
      taken_[m] = false;
      dc_used_[topo_.dc_of[m]] = false;
      rack_used_[topo_.rack_of[m]] = false;
    }
    walk_.clear();
    dcs_used_ = racks_used_ = 0;
  }

  const std::vector<token>& tokens_;
  topology topo_;
  size_t next_ = 0;              // index of the next token on the walk
  std::vector<uint32_t> walk_;   // the members met so far, in the order met
  std::vector<bool> seen_;       // per member: in walk_
  std::vector<bool> taken_;      // per member: in the order being built
  std::vector<bool> dc_used_;    // per datacenter: a member of it is taken
  std::vector<bool> rack_used_;  // per rack: a member of it is taken
  uint32_t dcs_used_ = 0;
  uint32_t racks_used_ = 0;
};

// 2^64 / Q, as a shift: partition p sits at p << shift. 64 (no shift) when Q is 1.
uint32_t point_shift(uint32_t partitions) {
  uint32_t shift = 64;
  for (uint32_t q = partitions; q > 1; q >>= 1) --shift;
  return shift;
}

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

// An id in an error message: quoted, at most 64 bytes of it.
std::string shown(const std::string& id) {
  return "'" + id.substr(0, 64) + (id.size() > 64 ? "...'" : "'");
}

caf::error check_options(const ring_options& opts) {
  if (!valid_partition_count(opts.partitions))
    return invalid("partitions must be a power of two from 1 to 65536, not " +
                   std::to_string(opts.partitions));
  if (opts.tokens_per_weight == 0) return invalid("tokens_per_weight must be at least 1");
  if (opts.depth == 0) return invalid("depth must be at least 1");
  return caf::none;
}

caf::error check_member(const member_spec& m, uint32_t tokens_per_weight) {
  if (m.id.empty()) return invalid("a member has an empty id");
  if (m.weight < 1 || m.weight > max_weight)
    return invalid("member " + shown(m.id) + " has weight " + std::to_string(m.weight) +
                   ", outside 1.." + std::to_string(max_weight));
  uint64_t tokens = uint64_t{m.weight} * tokens_per_weight;
  if (tokens > max_ring_tokens)
    return invalid("member " + shown(m.id) + " would hold " + std::to_string(tokens) +
                   " tokens (weight x tokens_per_weight); a ring holds at most " +
                   std::to_string(max_ring_tokens));
  return caf::none;
}

}  // namespace

caf::error check_placeable(const std::vector<member_spec>& members, const ring_options& opts) {
  if (auto err = check_options(opts)) return err;
  std::set<std::string_view> ids;
  uint64_t tokens = 0;  // each member adds at most max_ring_tokens: no wrap before the check
  for (const member_spec& m : members) {
    if (auto err = check_member(m, opts.tokens_per_weight)) return err;
    if (!ids.insert(m.id).second) return invalid("member id " + shown(m.id) + " appears twice");
    tokens += uint64_t{m.weight} * opts.tokens_per_weight;
    if (tokens > max_ring_tokens)
      return invalid("the members would hold more than " + std::to_string(max_ring_tokens) +
                     " tokens together (weight x tokens_per_weight), the most a ring holds");
  }
  return caf::none;
}

caf::expected<ring> ring::make(std::vector<member_spec> members, ring_options opts) {
  if (auto err = check_placeable(members, opts)) return err;
  return ring{std::move(members), opts};
}

ring::ring(std::vector<member_spec> members, ring_options opts)
    : members_(std::move(members)), opts_(opts) {
  std::sort(members_.begin(), members_.end(),
            [](const member_spec& a, const member_spec& b) { return a.id < b.id; });
  std::vector<token> tokens = make_tokens(members_, opts_.tokens_per_weight);
  order_builder builder{tokens, make_topology(members_)};
  auto length = static_cast<uint32_t>(std::min<size_t>(opts_.depth, members_.size()));
  uint32_t shift = point_shift(opts_.partitions);
  orders_.reserve(opts_.partitions);
  for (uint32_t p = 0; p < opts_.partitions; ++p) {
    uint64_t point = shift == 64 ? 0 : uint64_t{p} << shift;
    orders_.push_back(builder.build(point, length));
  }
}

std::optional<uint32_t> ring::index_of(std::string_view id) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), id,
                             [](const member_spec& m, std::string_view v) { return m.id < v; });
  if (it == members_.end() || it->id != id) return std::nullopt;
  return static_cast<uint32_t>(it - members_.begin());
}

std::vector<uint32_t> ring::preference_list(uint32_t partition, uint32_t n) const {
  const std::vector<uint32_t>& o = orders_[partition];
  return {o.begin(), o.begin() + std::min<size_t>(n, o.size())};
}

std::vector<uint32_t> ring::replica_counts(uint32_t n) const {
  std::vector<uint32_t> counts(members_.size());
  for (const std::vector<uint32_t>& o : orders_)
    for (size_t i = 0; i < std::min<size_t>(n, o.size()); ++i) ++counts[o[i]];
  return counts;
}

std::string placement_signature(const std::vector<member_spec>& members) {
  std::string result;
  for (auto& m : members)
    result += m.id + "/" + m.datacenter + "/" + m.rack + "/" + std::to_string(m.weight) + ";";
  return result;
}

}  // namespace kv::cluster
