#include "actors/net/frame_vetter.hpp"

#include "caf/binary_deserializer.hpp"
#include "caf/io/basp/header.hpp"
#include "caf/message_id.hpp"

namespace kv::actors {

namespace basp = caf::io::basp;

std::optional<std::string> frame_vetter::vet(const void* buf, size_t size) {
  last_was_payload_ = awaiting_payload_;
  if (last_was_payload_) {
    awaiting_payload_ = false;
    return std::nullopt;
  }
  if (size != basp::header_size) return std::nullopt;
  return vet_header(buf, size);
}

void frame_vetter::accepted() {
  if (last_was_payload_ && in_handshake_) {
    handshaken_ = true;
    in_handshake_ = false;
  }
}

std::optional<std::string> frame_vetter::vet_header(const void* buf, size_t size) {
  basp::header hdr;
  // A header holds no actor handles or messages: no execution unit is needed to read it.
  caf::binary_deserializer source{nullptr, static_cast<const char*>(buf), size};
  if (source(hdr) || !basp::valid(hdr)) return std::string{"malformed frame header"};
  if (!handshaken_ && hdr.operation != basp::message_type::client_handshake)
    return std::string{"first frame is not a handshake"};
  // Only the connecting side sends a server handshake. BASP reads a handshake's payload
  // without checking that there is one: an empty handshake crashes it.
  if (hdr.operation == basp::message_type::server_handshake)
    return std::string{"a server handshake on an accepted connection"};
  if (hdr.operation == basp::message_type::client_handshake && hdr.payload_len == 0)
    return std::string{"a handshake without payload"};
  // A message's id travels in operation_data, and its category bits decide which of the
  // receiver's queues CAF files it in. ringkv uses no CAF streams; and CAF 0.17 reads whatever
  // lands in a stream queue as a stream message: a frame with the bits of one crashed the node.
  bool message = hdr.operation == basp::message_type::direct_message ||
                 hdr.operation == basp::message_type::routed_message;
  if (message && caf::message_id{hdr.operation_data}.is_stream_message())
    return std::string{"a stream message (ringkv uses none)"};
  if (hdr.payload_len > max_frame_bytes_)
    return "frame of " + std::to_string(hdr.payload_len) + " bytes exceeds the limit of " +
           std::to_string(max_frame_bytes_);
  if (hdr.payload_len > 0) {
    awaiting_payload_ = true;
    in_handshake_ = hdr.operation == basp::message_type::client_handshake;
  }
  return std::nullopt;
}

}  // namespace kv::actors
