// actors/net/peer_link.hpp
// A node's link to one peer: the FSMs of this node send their replica calls for the peer's
// replicas here, as they would to a local replica. The link sends them to the peer's front in
// batches (actors/net/batching.hpp) and answers each call when its result comes back; the peer's
// front answers with results as they become ready, so a read is not held up by a write waiting
// for its fsync.
//
// Gossip spawns a link when a peer connects, publishes it in the cluster view and drops it
// when the peer goes. The link watches the peer's front itself: when the peer goes (the
// connection drops, or its heartbeats stop), every call it holds fails UNAVAILABLE at once and
// the link quits, so a call sent to it afterwards fails with `request_receiver_down`. CAF never
// fails a request to a dead peer by itself; this is where ringkv does. A call that gets no
// answer within peer_call_deadline fails TIMEOUT: a connection can drop and come back without
// the peer's front going down, and what was in flight on it is then neither delivered nor
// failed. The callers that wait with no deadline of their own (hint replay, anti-entropy,
// handoff) retry it; the FSMs' deadlines are shorter.
//
// Calls and results too large for one batch travel in pieces (actors/net/batching.hpp); a result
// in pieces is put together within `max_message_bytes`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "actors/node/metrics.hpp"

namespace kv::actors {

constexpr uint64_t default_max_message_bytes = uint64_t{256} << 20;

constexpr std::chrono::seconds peer_call_deadline{20};
constexpr std::chrono::seconds deadline_check_interval{1};

// A link owned by `owner` (gossip): it also closes, failing its calls, when the owner goes.
// `metrics`, when given, counts the batches it sends (node_metrics::calls_out).
peer_link_actor spawn_peer_link(caf::local_actor* owner, node_actor front, std::string peer,
                                uint64_t max_message_bytes = default_max_message_bytes,
                                std::shared_ptr<node_metrics> metrics = nullptr);

// A link of its own (tests).
peer_link_actor spawn_peer_link(caf::actor_system& sys, node_actor front, std::string peer,
                                uint64_t max_message_bytes = default_max_message_bytes,
                                std::shared_ptr<node_metrics> metrics = nullptr);

}  // namespace kv::actors
