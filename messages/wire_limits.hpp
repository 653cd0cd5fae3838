// messages/wire_limits.hpp
// Limits on what one message from the network may hold, checked before the message is
// parsed. Senders keep within them (actors/net/batching.hpp fills batches up to these), so only a
// broken or hostile sender ever meets a refusal.
#pragma once

#include <cstddef>

namespace kv {

// Items in one batch message (ReplicaBatch, ReplicaResults):
// calls or results and pieces together, as actors/net/batching.hpp's `outgoing` counts them. A
// batch over it is refused whole by its deserializer (messages/caf_types.hpp) before any item
// is parsed: millions of empty calls fit in one 4 MiB frame and would cost far more memory and
// time parsed than their bytes.
constexpr size_t max_batch_items = 1024;

}  // namespace kv
