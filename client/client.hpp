// client/client.hpp
// The client actor: what a C++ program spawns in its own CAF actor system to use ringkv.
// It offers the node's interface (kv::actors::node_actor: put, get, delete, status, and the
// admin request) with the protobuf messages of messages/client.proto, so users talk to it with
// ordinary requests:
//
//   caf::actor_system_config cfg;
//   kv::client::configure(cfg);
//   caf::actor_system sys{cfg};
//   auto db = kv::client::spawn_client(sys, {});          // connects to 127.0.0.1:7101
//   self->request(db, caf::infinite, kv::client::make_put("user:1", "alice"))
//       .then([](kv::msg::PutReply& r) { ... }, [](caf::error& e) { ... kv::code_of(e) ... });
//
// Every request gets an answer: the reply, or a caf::error with an errc code. The client
// connects lazily (trying the configured nodes in order). A request that never left because no
// node could be reached fails UNAVAILABLE. One in flight when the connection drops, or still
// unanswered at its deadline plus a grace period, fails TIMEOUT: its outcome is unknown.
// Requests may therefore use caf::infinite safely. An open connection that carries no request
// for half the node's idle timeout gets a ping, so the node never closes it as idle under a
// request about to be sent.
#pragma once

#include <string>
#include <string_view>

#include "actors/interfaces.hpp"
#include "client/options.hpp"

namespace kv::client {

using client_actor = actors::client_actor;

// Registers ringkv's message types, loads the middleman, turns on connection heartbeats (so a
// frozen node is noticed) and picks the scheduler settings that keep round trips short. Call
// it on the config before creating the actor system.
void configure(caf::actor_system_config& cfg);

client_actor spawn_client(caf::actor_system& sys, client_config cfg);

// Request builders.
void set_options(const request_options& opts, msg::RequestOptions& out);
msg::PutRequest make_put(std::string_view key, std::string_view value,
                         const request_options& opts = {}, std::string_view context = {});
msg::GetRequest make_get(std::string_view key, const request_options& opts = {});
msg::DeleteRequest make_delete(std::string_view key, const request_options& opts = {},
                               std::string_view context = {});

// The plain form of a get reply.
get_result to_result(const msg::GetReply& reply);

}  // namespace kv::client
