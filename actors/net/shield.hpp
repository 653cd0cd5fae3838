// actors/net/shield.hpp
// Every ringkv actor may receive messages from other processes: the middleman delivers to any
// actor a peer knows the id of (the port's front, the FSMs and node actor that answered it, the
// client actor). CAF's defaults are made for trusted peers: an error sent as a message kills
// the receiver, an exit message from anywhere kills it, and an unexpected message is printed
// in full on stdout. shield() replaces them, before any behavior runs:
//   - an exit message from another process is logged and ignored; one from this process runs
//     `on_exit` (by default: terminate with its reason);
//   - an error message is logged and ignored;
//   - an unexpected message is logged (truncated) and answered INVALID_ARGUMENT;
//   - a stray down message is logged and ignored (actors that monitor set their own handler
//     after shield()).
// This is robustness against peers that misbehave, not security: CAF always honours an exit
// with reason `kill`, and an anonymous exit from another process cannot be told from a local
// one. A peer that speaks the protocol is trusted until ringkv authenticates peers; kvnode
// notices its port's front dying and exits, so the process manager restarts it.
#pragma once

#include <functional>

#include "caf/fwd.hpp"

namespace kv::actors {

using exit_reaction = std::function<void(caf::scheduled_actor* self, caf::exit_msg& msg)>;

void shield(caf::scheduled_actor* self, const char* role, exit_reaction on_exit = nullptr);

}  // namespace kv::actors
