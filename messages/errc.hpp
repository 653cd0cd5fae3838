// messages/errc.hpp
// The one error currency of ringkv. An `errc` crosses the wire inside a caf::error of category
// "kv", with a human-readable context string; it mirrors msg::ErrorCode one to one. Add a code
// only when some caller branches on it; everything else is `internal` plus context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caf {
class error;
}  // namespace caf

namespace kv {

enum class errc : uint8_t {
  none = 0,
  invalid_argument = 1,  // the request can never succeed as written
  too_large = 2,         // key or value over the configured limit
  unavailable = 3,       // fewer than r/w replicas took part; retrying loses nothing (a write
                         // may be kept by the replicas that did, so a blind retry can add a
                         // duplicate sibling)
  timeout = 4,           // no answer in time: the outcome is unknown
  not_found = 5,
  unauthenticated = 6,    // credentials missing, invalid or not trusted
  internal = 7,           // a bug or an environment failure (a disk); for a write the outcome
                          // is unknown; the context says what failed
  permission_denied = 8,  // authenticated, but the principal lacks the right it needs
};

// "INVALID_ARGUMENT", "TIMEOUT", ...: the names kvctl prints and scripts match on.
std::string_view to_string(errc code);

// Parses a name printed by to_string.
std::optional<errc> errc_from_string(std::string_view name);

// The functions below convert to and from caf::error; callers include "caf/error.hpp".

// A caf::error of category "kv" with `message` as its context.
caf::error make_error(errc code, std::string message);

// The kv code of any error. CAF's own errors map to the kv code a caller would branch on:
// a dead or unreachable peer is `unavailable`, a request timeout is `timeout`.
errc code_of(const caf::error& err);

// The context text of a kv error, or CAF's rendering of any other error.
std::string message_of(const caf::error& err);

// "CODE message": the one-line form used in logs and on kvctl's stderr.
std::string describe(const caf::error& err);

}  // namespace kv
