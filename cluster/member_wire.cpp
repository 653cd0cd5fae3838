#include "cluster/member_wire.hpp"

#include <climits>
#include <optional>

#include "caf/error.hpp"
#include "messages/errc.hpp"

namespace kv::cluster {
namespace {

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_id_char(char c) {
  return is_alnum(c) || c == '-' || c == '_';
}

bool is_name_char(char c) {
  return is_id_char(c) || c == '.';
}

bool is_ipv6_char(char c) {
  return is_alnum(c) || c == ':' || c == '.' || c == '%';
}

template <class Pred>
bool all_of(std::string_view text, Pred pred) {
  for (char c : text)
    if (!pred(c)) return false;
  return true;
}

// `what` is 1..max_bytes bytes, each passing `pred`; `rule` says which characters pass.
caf::error check_name(std::string_view what, std::string_view text, size_t max_bytes,
                      bool (*pred)(char), std::string_view rule) {
  std::string name{what};
  if (text.empty()) return invalid(name + " is empty");
  if (text.size() > max_bytes)
    return invalid(name + " is " + std::to_string(text.size()) + " bytes; at most " +
                   std::to_string(max_bytes));
  if (!all_of(text, pred))
    return invalid(name + " '" + loggable(text) + "' has a character other than " +
                   std::string{rule});
  return caf::none;
}

bool valid_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5 ||
      !all_of(digits, [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  uint32_t port = 0;
  for (char c : digits) port = port * 10 + static_cast<uint32_t>(c - '0');
  return port >= 1 && port <= 65535;
}

bool valid_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return all_of(host.substr(1, host.size() - 2), is_ipv6_char);
  return !host.empty() && all_of(host, is_name_char);
}

std::optional<member_status> status_of(int state) {
  switch (state) {
    case msg::MEMBER_JOINING:
      return member_status::joining;
    case msg::MEMBER_UP:
      return member_status::up;
    case msg::MEMBER_LEAVING:
      return member_status::leaving;
    case msg::MEMBER_DOWN:
      return member_status::down;
    case msg::MEMBER_REMOVED:
      return member_status::removed;
    default:
      return std::nullopt;
  }
}

caf::error check_counter(std::string_view what, uint64_t value) {
  if (value <= max_counter) return caf::none;
  return invalid(std::string{what} + " " + std::to_string(value) + " is above " +
                 std::to_string(max_counter));
}

// Every field of a row, checked where it lies: nothing is copied before it passed.
caf::error check_fields(const std::string& id, const std::string& address, const std::string& rack,
                        const std::string& datacenter, uint32_t weight, uint64_t incarnation,
                        uint64_t heartbeat) {
  if (auto err = check_member_id(id)) return err;
  if (auto err = check_address(address)) return err;
  if (auto err = check_place("rack", rack)) return err;
  if (auto err = check_place("datacenter", datacenter)) return err;
  if (weight < 1 || weight > max_weight)
    return invalid("weight " + std::to_string(weight) + " is outside 1.." +
                   std::to_string(max_weight));
  if (auto err = check_counter("incarnation", incarnation)) return err;
  return check_counter("heartbeat", heartbeat);
}

}  // namespace

caf::error check_member_id(std::string_view id) {
  return check_name("id", id, max_id_bytes, is_id_char, "letters, digits, '-' and '_'");
}

caf::error check_address(std::string_view address) {
  if (address.empty()) return invalid("address is empty");
  if (address.size() > max_address_bytes)
    return invalid("address is " + std::to_string(address.size()) + " bytes; at most " +
                   std::to_string(max_address_bytes));
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos || !valid_host(address.substr(0, colon)) ||
      !valid_port(address.substr(colon + 1)))
    return invalid("address '" + loggable(address) + "' is not HOST:PORT");
  return caf::none;
}

caf::error check_place(std::string_view what, std::string_view name) {
  return check_name(what, name, max_place_bytes, is_name_char, "letters, digits, '.', '-' and '_'");
}

caf::error check_entry(const member_entry& e) {
  return check_fields(e.spec.id, e.address, e.spec.rack, e.spec.datacenter, e.spec.weight,
                      e.incarnation, e.heartbeat);
}

caf::expected<member_entry> decode_row(const msg::MemberRow& row) {
  const auto& m = row.member();
  if (auto err = check_fields(m.id(), m.address(), m.rack(), m.datacenter(), m.weight(),
                              row.incarnation(), row.heartbeat()))
    return err;
  auto status = status_of(m.state());
  if (!status)
    return invalid("state " + std::to_string(static_cast<int>(m.state())) +
                   " is not a member state");
  member_entry e;
  e.spec = {m.id(), m.rack(), m.datacenter(), m.weight()};
  e.address = m.address();
  e.status = *status;
  e.incarnation = row.incarnation();
  e.heartbeat = row.heartbeat();
  return e;
}

caf::expected<decoded_table> decode_table(const msg::MemberTable& table) {
  auto over = [](int count) { return static_cast<size_t>(count) > max_members; };
  if (over(table.rows_size()) || over(table.suspects_size()))
    return invalid("the table has " + std::to_string(table.rows_size()) + " rows and " +
                   std::to_string(table.suspects_size()) + " suspects; at most " +
                   std::to_string(max_members) + " of each");
  if (!table.from().empty())
    if (auto err = check_member_id(table.from())) return invalid("sender " + message_of(err));
  decoded_table result;
  result.from = table.from();
  for (const auto& row : table.rows()) {
    auto e = decode_row(row);
    if (e)
      result.rows.push_back(std::move(*e));
    else
      result.refused.push_back({loggable(row.member().id()), message_of(e.error())});
  }
  for (const auto& id : table.suspects()) {
    if (auto err = check_member_id(id))
      result.refused.push_back({loggable(id), "suspect " + message_of(err)});
    else
      result.suspects.push_back(id);
  }
  return result;
}

caf::expected<decoded_table> decode_table(std::string_view bytes) {
  msg::MemberTable table;
  if (bytes.size() > INT_MAX || !table.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return invalid("not a member table (" + std::to_string(bytes.size()) + " bytes)");
  return decode_table(table);
}

void encode_row(const member_entry& e, msg::MemberRow& out) {
  auto& m = *out.mutable_member();
  m.set_id(e.spec.id);
  m.set_address(e.address);
  m.set_rack(e.spec.rack);
  m.set_datacenter(e.spec.datacenter);
  m.set_weight(e.spec.weight);
  m.set_state(to_wire(e.status));
  out.set_incarnation(e.incarnation);
  out.set_heartbeat(e.heartbeat);
}

msg::MemberState to_wire(member_status s) {
  switch (s) {
    case member_status::joining:
      return msg::MEMBER_JOINING;
    case member_status::up:
      return msg::MEMBER_UP;
    case member_status::leaving:
      return msg::MEMBER_LEAVING;
    case member_status::down:
      return msg::MEMBER_DOWN;
    case member_status::removed:
      return msg::MEMBER_REMOVED;
  }
  return msg::MEMBER_UNKNOWN;
}

std::string loggable(std::string_view text) {
  constexpr size_t shown = 64;
  std::string result;
  for (char c : text.substr(0, shown)) {
    bool plain = c > ' ' && c <= '~' && c != '"' && c != '\\';
    result += plain ? c : '?';
  }
  if (text.size() > shown) result += "...";
  return result;
}

}  // namespace kv::cluster
