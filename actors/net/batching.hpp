// actors/net/batching.hpp
// Batches between processes. Every message on the network costs syscalls and thread wake-ups
// whatever its size, so the actors that talk to another process (a node's link to each peer,
// the client actor, the port's front answering both) send what queued up while they were busy
// as one message: the first item queued sends the actor a `flush`, which it receives after
// everything already in its mailbox. An idle actor thus sends at once, a busy one in batches,
// and nothing waits on a timer. A batch is also sent as soon as it reaches its limits, so no
// message outgrows what the receiving port accepts: a call or result larger than a batch may
// be (an object of several megabytes) travels in pieces, each in a batch of its own, and the
// receiver's assembler puts it together again.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "actors/node/metrics.hpp"
#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "messages/common.pb.h"
#include "messages/replication.pb.h"
#include "messages/wire_limits.hpp"

namespace kv::actors {

// A batch's limits: calls or results per message (max_batch_items, messages/wire_limits.hpp,
// which receivers enforce), and bytes (well under the port's frame limit of 4 MiB; a single
// item over this travels alone).
constexpr size_t max_batch_bytes = size_t{1} << 20;

// Calls and results larger than this travel in pieces of this size.
constexpr size_t max_piece_bytes = max_batch_bytes;

// Items waiting for the next flush. `Batch` is one of the protobuf batch messages; the caller
// appends to `batch` itself and tells `add` how big the item is. Each batch taken is counted
// in `counts`, when given (it must outlive this).
template <class Batch>
class outgoing {
 public:
  explicit outgoing(batch_counters* counts = nullptr) : counts_(counts) {}

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
    if (counts_ != nullptr && count_ > 0) {
      counts_->batches.fetch_add(1, std::memory_order_relaxed);
      counts_->items.fetch_add(count_, std::memory_order_relaxed);
    }
    count_ = 0;
    bytes_ = 0;
    return std::exchange(batch_, Batch{});
  }

 private:
  Batch batch_;
  size_t count_ = 0;
  size_t bytes_ = 0;
  batch_counters* counts_;
};

// Queues `whole`, the serialized call or result `id`, as pieces in `out`, each in a batch of
// its own; `send(batch)` sends a batch that is full.
template <class Batch, class Send>
void queue_pieces(outgoing<Batch>& out, uint64_t id, const std::string& whole, Send send) {
  for (size_t at = 0; at < whole.size(); at += max_piece_bytes) {
    auto size = std::min(max_piece_bytes, whole.size() - at);
    if (out.full_for(size)) send(out.take());
    auto& piece = *out.next(size).add_pieces();
    piece.set_id(id);
    piece.set_total(whole.size());
    piece.set_data(whole.data() + at, size);
  }
}

// Puts calls or results that travel in pieces together again, for the actor that receives
// them. Pieces of one id come in order (one sender actor, one receiver); ids are told apart
// per `source` (a number the receiver gives each sender). The declared size of every whole in
// progress counts against `budget` from its first piece on, so what a sender announces, not
// what it has sent so far, bounds the memory: a hostile or broken sender cannot make the
// receiver hold more than `budget` bytes.
class assembler {
 public:
  explicit assembler(uint64_t budget) : budget_(budget) {}

  // The whole once the last piece of its id arrived, nullopt while pieces are missing, or the
  // error that drops the whole: TOO_LARGE past the budget, INVALID_ARGUMENT for pieces that
  // cannot belong together.
  [[nodiscard]] caf::expected<std::optional<std::string>> add(uint64_t source,
                                                              const msg::Piece& piece);

  // Drops what arrived from `source` (it went away).
  void drop(uint64_t source);

  uint64_t held() const { return held_; }  // bytes announced by the wholes in progress

 private:
  struct partial {
    uint64_t total = 0;
    std::string bytes;
  };
  struct key_hash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const {
      return std::hash<uint64_t>{}(k.first * 0x9E3779B97F4A7C15ull ^ k.second);
    }
  };
  std::unordered_map<std::pair<uint64_t, uint64_t>, partial, key_hash> partials_;
  uint64_t budget_;
  uint64_t held_ = 0;
};

// A caf::error as it travels inside a batch's results, and back.
msg::Error to_wire(const caf::error& err);
caf::error from_wire(const msg::Error& err);

}  // namespace kv::actors
