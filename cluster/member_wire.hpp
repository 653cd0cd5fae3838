// cluster/member_wire.hpp
// The member table on the wire (msg::MemberTable, messages/gossip.proto) and back. Every table
// gossip takes in, from a peer or from its own disk, goes through decode_table before it is
// merged: a plain function of the message, no actors and no state, so a fuzz test can call it.
//
// Bounds (a row that breaks one is refused, see decode_table for what is refused whole):
//   rows, suspects   at most max_members (cluster/members.hpp) per table
//   id, from         1..64 bytes of [A-Za-z0-9_-], the rule of kvnode --id
//   address          HOST:PORT, at most 255 bytes; HOST is a name of [A-Za-z0-9._-] or an IPv6
//                    address in brackets, PORT 1..65535
//   rack, datacenter 1..64 bytes of [A-Za-z0-9._-]
//   weight           1..max_weight (cluster/ring.hpp); 0 is refused: every row a node sends
//                    carries its configured weight, so a 0 is a bug or a lie, not an old sender
//   incarnation,     0..max_counter (cluster/members.hpp)
//   heartbeat
//   state            one of the five member states; MEMBER_UNKNOWN and other numbers are refused
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"
#include "cluster/members.hpp"
#include "messages/gossip.pb.h"

namespace kv::cluster {

constexpr size_t max_id_bytes = 64;
constexpr size_t max_address_bytes = 255;
constexpr size_t max_place_bytes = 64;  // a rack or datacenter name

// A row (or suspect id) decode_table did not take, and why.
struct refused_row {
  std::string id;      // loggable(id)
  std::string reason;  // "weight 4194304 is outside 1..1000"
};

// A table as decode_table took it.
struct decoded_table {
  std::string from;                   // the sender's id; empty when it gave none
  std::vector<member_entry> rows;     // the rows that passed, in the message's order
  std::vector<std::string> suspects;  // the well-formed suspect ids
  std::vector<refused_row> refused;   // rows and suspects that did not pass
};

// The checks of the bounds above; none when the value passes, else INVALID_ARGUMENT saying why.
[[nodiscard]] caf::error check_member_id(std::string_view id);
[[nodiscard]] caf::error check_address(std::string_view address);
[[nodiscard]] caf::error check_place(std::string_view what, std::string_view name);
[[nodiscard]] caf::error check_entry(const member_entry& e);

// One row, if it passes every bound.
[[nodiscard]] caf::expected<member_entry> decode_row(const msg::MemberRow& row);

// A table's rows that pass. The table is refused whole, before any row is converted, when it
// has more than max_members rows or suspects, or a `from` that is not a well-formed id; a row
// or suspect that breaks a bound is left out and listed in `refused`, so one bad row cannot
// keep the good ones out.
[[nodiscard]] caf::expected<decoded_table> decode_table(const msg::MemberTable& table);

// The same from serialized bytes (the table stored on disk); unparsable bytes are an error.
[[nodiscard]] caf::expected<decoded_table> decode_table(std::string_view bytes);

void encode_row(const member_entry& e, msg::MemberRow& out);
msg::MemberState to_wire(member_status s);

// At most 64 bytes of untrusted text, with anything but printable ASCII (and quotes and
// backslashes) shown as '?': safe inside a log line or an error message.
std::string loggable(std::string_view text);

}  // namespace kv::cluster
