// storage/dot_issuer.hpp
// Issues the dots of client writes for every replica of one node: one version-vector actor per
// incarnation (storage/identity.hpp) and the floor below which it never issues again. Replicas
// run on threads of their own and share one issuer; it is thread-safe.
//
// A context can claim that the node's own actor issued a counter it never did (a token made up
// by a client before tokens were checked, or a peer's copy of one): such a claim covers every
// dot the actor could still issue for that key, so a new write would be dropped wherever it is
// merged. The issuer then takes a new incarnation, as a restart would, and issues under its
// new actor; the old actor issues nothing more, so the false claim about it is harmless.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "caf/expected.hpp"
#include "storage/object.hpp"

namespace kv::storage {

class dot_issuer {
 public:
  // Takes a new incarnation (stored, synced) and returns its actor; an error leaves the issuer
  // unable to write the key that needed it, never on the old actor.
  using renewal = std::function<caf::expected<std::string>()>;

  dot_issuer(std::string actor, renewal renew);

  struct issued {
    dot id;
    std::string retired;  // the actor given up to issue this dot; empty when none was
  };

  // The dot of a write on top of `current` (next_dot with this node's floor).
  [[nodiscard]] caf::expected<issued> issue(const object& current);

  // The actor of the current incarnation.
  std::string actor() const;

 private:
  mutable std::mutex mutex_;
  std::string actor_;
  uint64_t floor_ = 0;  // the highest counter `actor_` issued, for any key
  renewal renew_;
};

}  // namespace kv::storage
