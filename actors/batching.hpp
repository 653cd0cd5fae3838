// actors/batching.hpp
// Batches between processes. Every message on the network costs syscalls and thread wake-ups
// whatever its size, so the actors that talk to another process (a node's link to each peer,
// the client actor, the port's front answering both) send what queued up while they were busy
// as one message: the first item queued sends the actor a `flush`, which it receives after
// everything already in its mailbox. An idle actor thus sends at once, a busy one in batches,
// and nothing waits on a timer. A batch is also sent as soon as it reaches its limits, so no
// message outgrows what the receiving port accepts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "caf/error.hpp"
#include "messages/common.pb.h"

namespace kv::actors {

// A batch's limits: calls or results per message, and bytes (well under the port's frame limit
// of 4 MiB; a single item over this travels alone).
constexpr size_t max_batch_items = 1024;
constexpr size_t max_batch_bytes = size_t{1} << 20;

// Items waiting for the next flush. `Batch` is one of the protobuf batch messages; the caller
// appends to `batch` itself and tells `add` how big the item is.
template <class Batch>
class outgoing {
 public:
  // Whether an item of `size` bytes should go in a batch of its own after the current one.
  bool full_for(size_t size) const {
    return count_ > 0 && (count_ >= max_batch_items || bytes_ + size > max_batch_bytes);
  }

  Batch& next(size_t size) {
    ++count_;
    bytes_ += size;
    return batch_;
  }

  bool empty() const { return count_ == 0; }

  Batch take() {
    count_ = 0;
    bytes_ = 0;
    return std::exchange(batch_, Batch{});
  }

 private:
  Batch batch_;
  size_t count_ = 0;
  size_t bytes_ = 0;
};

// A caf::error as it travels inside a batch's results, and back.
msg::Error to_wire(const caf::error& err);
caf::error from_wire(const msg::Error& err);

}  // namespace kv::actors
