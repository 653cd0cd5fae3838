#include "messages/errc.hpp"

#include <array>

#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/exit_reason.hpp"
#include "caf/message.hpp"
#include "caf/sec.hpp"
#include "messages/common.pb.h"

namespace kv {
namespace {

constexpr caf::atom_value category = caf::atom("kv");

// Codes are appended, never renumbered: clients and logs hold them.
constexpr std::array<std::string_view, 9> names = {
    "OK",        "INVALID_ARGUMENT", "TOO_LARGE", "UNAVAILABLE",       "TIMEOUT",
    "NOT_FOUND", "UNAUTHENTICATED",  "INTERNAL",  "PERMISSION_DENIED",
};

static_assert(static_cast<int>(errc::invalid_argument) == msg::ERR_INVALID_ARGUMENT);
static_assert(static_cast<int>(errc::too_large) == msg::ERR_TOO_LARGE);
static_assert(static_cast<int>(errc::unavailable) == msg::ERR_UNAVAILABLE);
static_assert(static_cast<int>(errc::timeout) == msg::ERR_TIMEOUT);
static_assert(static_cast<int>(errc::not_found) == msg::ERR_NOT_FOUND);
static_assert(static_cast<int>(errc::unauthenticated) == msg::ERR_UNAUTHENTICATED);
static_assert(static_cast<int>(errc::internal) == msg::ERR_INTERNAL);
static_assert(static_cast<int>(errc::permission_denied) == msg::ERR_PERMISSION_DENIED);

errc from_sec(caf::sec code) {
  switch (code) {
    case caf::sec::request_timeout:
    case caf::sec::connection_timeout:
      return errc::timeout;
    case caf::sec::request_receiver_down:
    case caf::sec::no_route_to_receiving_node:
    case caf::sec::cannot_connect_to_node:
    case caf::sec::disconnect_during_handshake:
    case caf::sec::remote_linking_failed:
    case caf::sec::no_actor_published_at_port:
      return errc::unavailable;
    default:
      return errc::internal;
  }
}

}  // namespace

std::string_view to_string(errc code) {
  auto i = static_cast<size_t>(code);
  return i < names.size() ? names[i] : "INTERNAL";
}

std::optional<errc> errc_from_string(std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<errc>(i);
  return std::nullopt;
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(message))};
}

errc code_of(const caf::error& err) {
  if (!err) return errc::none;
  if (err.category() == category)  // from the wire: a code this build does not know is internal
    return err.code() < names.size() ? static_cast<errc>(err.code()) : errc::internal;
  if (err.category() == caf::atom("system")) return from_sec(static_cast<caf::sec>(err.code()));
  if (err.category() == caf::atom("exit")) return errc::unavailable;  // the receiver exited
  return errc::internal;
}

std::string message_of(const caf::error& err) {
  if (!err) return {};
  if (err.category() == category) {
    const auto& ctx = err.context();
    if (ctx.match_elements<std::string>()) return ctx.get_as<std::string>(0);
    return {};
  }
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_receiver_down:
        return "the actor handling the request stopped before processing it";
      case caf::sec::request_timeout:
        return "the request timed out";
      case caf::sec::cannot_connect_to_node:
        return "connection refused or host unreachable";
      case caf::sec::connection_timeout:
        return "no answer on the connection in time";
      case caf::sec::disconnect_during_handshake:
        return "the peer closed the connection during the handshake";
      case caf::sec::no_route_to_receiving_node:
        return "no connection to the node";
      default:
        break;
    }
  }
  if (err.category() == caf::atom("exit")) {
    switch (static_cast<caf::exit_reason>(err.code())) {
      case caf::exit_reason::user_shutdown:
        return "the actor handling the request was shut down";
      case caf::exit_reason::remote_link_unreachable:
        return "the node became unreachable";
      default:
        break;
    }
  }
  return caf::to_string(err);
}

std::string describe(const caf::error& err) {
  std::string result{to_string(code_of(err))};
  auto text = message_of(err);
  if (!text.empty()) {
    result += ' ';
    result += text;
  }
  return result;
}

}  // namespace kv
