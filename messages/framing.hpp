// messages/framing.hpp
// The client protocol's frames (docs/protocol.md, messages/protocol.proto): a 4-byte unsigned
// big-endian length, then one ClientFrame or NodeFrame. Pure: no sockets and no actors, so the
// node's client port, the clients and the fuzz suite share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caf/expected.hpp"
#include "messages/protocol.pb.h"

namespace kv::protocol {

constexpr uint32_t version = 1;
constexpr size_t header_bytes = 4;

// The largest ClientFrame a node takes by default: a value of max_value_bytes (1 MiB) with its
// key, context and options fits many times over.
constexpr uint32_t default_max_frame_bytes = uint32_t{4} << 20;

// Appends `message` to `out` as one frame.
void append_frame(std::string& out, const google::protobuf::MessageLite& message);

// Splits the bytes of one connection into frames. It holds at most one frame in progress (of
// at most max_frame_bytes) besides what the last feed brought: a header announcing more is
// refused before anything is allocated for it.
class frame_reader {
 public:
  explicit frame_reader(uint32_t max_frame_bytes) : max_(max_frame_bytes) {}

  // Takes bytes as they were read from the connection.
  void feed(std::string_view bytes);

  // The next whole frame's payload, or nullopt until more bytes arrive. TOO_LARGE once a header
  // announces more than max_frame_bytes: a stream cannot be resynchronised after that, so the
  // connection must close, and the reader refuses everything from then on.
  [[nodiscard]] caf::expected<std::optional<std::string>> next();

  size_t buffered() const { return buf_.size() - pos_; }

 private:
  uint32_t max_;
  std::string buf_;
  size_t pos_ = 0;  // where the unread bytes of buf_ begin
  bool broken_ = false;
};

// A frame's payload as the message of its direction: INVALID_ARGUMENT for bytes that do not
// parse, and for a frame that holds none of the kinds this build knows (a newer peer's).
[[nodiscard]] caf::expected<msg::ClientFrame> decode_client_frame(std::string_view payload);
[[nodiscard]] caf::expected<msg::NodeFrame> decode_node_frame(std::string_view payload);

// What a node answers a client's Hello with: its version, its limits, and an error for a
// version it does not speak (the node then closes the connection).
msg::HelloReply answer_hello(const msg::Hello& hello, std::string node_id, uint32_t max_frame_bytes,
                             uint32_t idle_timeout_ms, uint32_t max_in_flight);

}  // namespace kv::protocol
