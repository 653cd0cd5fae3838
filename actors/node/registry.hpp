// actors/node/registry.hpp
// The node-local registry: actors find each other by role ("coordinator", "replica.3"), never
// by a handle captured once, so a restarted actor is found again. Only the supervisor writes
// it (on every start and restart of a child); anyone may read it, from any thread.
// It holds strong references: the supervisor clears it on shutdown, or a detached actor would
// keep the actor system from terminating.
#pragma once

#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "caf/actor_cast.hpp"
#include "caf/actor_control_block.hpp"
#include "caf/fwd.hpp"

namespace kv::actors {

class registry {
 public:
  // Sets (or replaces) the actor of `role`.
  void put(const std::string& role, caf::strong_actor_ptr actor);

  // Forgets `role`, but only while it still names `actor` (a newer incarnation stays).
  void erase(const std::string& role, const caf::strong_actor_ptr& actor);

  void clear();

  // Null when nothing is registered under `role`.
  caf::strong_actor_ptr get(const std::string& role) const;

  template <class Handle>
  Handle get_as(const std::string& role) const {
    return caf::actor_cast<Handle>(get(role));
  }

  std::vector<std::string> roles() const;

 private:
  mutable std::shared_mutex mtx_;
  std::map<std::string, caf::strong_actor_ptr> actors_;
};

// "replica.3"
std::string replica_role(uint32_t index);

}  // namespace kv::actors
