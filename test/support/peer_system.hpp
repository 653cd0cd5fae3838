// test/support/peer_system.hpp
// An actor system of the test's own that talks to a node's peer listener as another node does:
// ringkv's message types registered and the middleman loaded (kv::client::configure). A test
// uses it to send a node what peers send, or to record a genuine BASP conversation through a
// recording_relay (test/support/relay.hpp). Its connections close when it goes.
#pragma once

#include <cstdint>

#include "actors/interfaces.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"

namespace kv::test {

struct peer_system {
  peer_system() : sys(init(cfg)) {}

  // The front a node publishes on `port` of 127.0.0.1: its peer listener, or a relay to it.
  caf::expected<kv::actors::node_actor> connect(uint16_t port) {
    return sys.middleman().remote_actor<kv::actors::node_actor>("127.0.0.1", port);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;

 private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    kv::client::configure(cfg);
    return cfg;
  }
};

}  // namespace kv::test
