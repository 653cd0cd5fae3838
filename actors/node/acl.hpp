// actors/node/acl.hpp
// Who may do what: the ACL file (`--acl`, docs/security.md) as principals with `read` and
// `write` per namespace and the `monitor` and `admin` roles, and the bearer tokens that name a
// principal (kept as SHA-256 digests, never in clear). The listeners ask `allows` before they
// dispatch; kvnode parses the file at start and again on SIGHUP, and keeps the old ACL when the
// new file is bad. Pure: no actors, no I/O but reading the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace kv::actors {

enum class right : uint8_t {
  read,     // get, in a namespace
  write,    // put and delete, in a namespace
  monitor,  // status, ring, metrics
  admin,    // the operator verbs; implies every other right in every namespace
};

const char* to_string(right r);

// The longest bearer token a door reads (docs/security.md); longer ones are refused unread.
inline constexpr size_t max_token_bytes = 1024;

// How every door words a refusal: `principal "app" may not put: it lacks write in namespace
// "b"` for read and write, `principal "app" may not status: it lacks the monitor role` else.
std::string denial_text(std::string_view principal, std::string_view call, right r,
                        std::string_view ns);

struct principal_rights {
  std::set<std::string> read;  // namespaces; "*" is every namespace
  std::set<std::string> write;
  bool monitor = false;
  bool admin = false;
};

class acl {
 public:
  // The ACL in `text` (TOML); `source` names it in errors. Strict, like the config: an unknown
  // key, a value of the wrong type, a bad name or a malformed token digest is an error naming
  // it, and no ACL results.
  [[nodiscard]] static caf::expected<acl> parse(std::string_view text, std::string_view source);

  // parse() of the file at `path`, which must be a regular file of at most 1 MiB.
  [[nodiscard]] static caf::expected<acl> load(const std::string& path);

  // Whether `principal` holds `r` (in namespace `ns` for read and write). Unknown principals
  // hold nothing.
  bool allows(std::string_view principal, right r, std::string_view ns = {}) const;

  // The principal a bearer token stands for, if any.
  std::optional<std::string> principal_of_token(std::string_view token) const;

  // The same as every door answers it: UNAUTHENTICATED for a token longer than
  // max_token_bytes or one this ACL does not know.
  caf::expected<std::string> authenticate(std::string_view token) const;

  const std::map<std::string, principal_rights, std::less<>>& principals() const {
    return principals_;
  }

  // "sha256:<64 lowercase hex digits>": how the ACL file names a token.
  static std::string token_digest(std::string_view token);

 private:
  std::map<std::string, principal_rights, std::less<>> principals_;
  std::map<std::string, std::string, std::less<>> token_owners_;  // digest -> principal
};

// The ACL in force: read by the listeners on every request from their own threads, replaced
// whole when kvnode reloads the file (SIGHUP).
class acl_holder {
 public:
  explicit acl_holder(acl initial) : acl_(std::make_shared<const acl>(std::move(initial))) {}

  std::shared_ptr<const acl> current() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return acl_;
  }
  void replace(acl next) {
    auto fresh = std::make_shared<const acl>(std::move(next));
    std::lock_guard<std::mutex> guard{mutex_};
    acl_ = std::move(fresh);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const acl> acl_;
};

}  // namespace kv::actors
