#include "actors/net/frame_vetter.hpp"

#include "caf/binary_deserializer.hpp"
#include "caf/io/basp/header.hpp"
#include "caf/message_id.hpp"

namespace kv::actors {

namespace basp = caf::io::basp;

namespace {

// What a direct message's payload holds, as CAF 0.17 writes it: the forwarding stages (a
// varint count, then actor handles), a 16-bit zero, then the content's type names as one
// string ("@<>+@str+@i32": a varint length, then the text), then the content. Returns the reason
// to refuse it, or nullopt. Peers of ringkv send plain requests and replies: no stages, and none
// of the system messages that act on the receiver itself (an exit, a down, a link or unlink).
std::optional<std::string> vet_message(const unsigned char* p, size_t size) {
  if (size < 4) return std::string{"a message too short to hold its content's types"};
  if (p[0] != 0) return std::string{"a message with forwarding stages (ringkv sends none)"};
  if (p[1] != 0 || p[2] != 0) return std::string{"a message without its type marker"};
  size_t length = 0;
  size_t at = 3;
  for (int shift = 0; at < size && shift < 35; shift += 7) {
    auto byte = p[at++];
    length |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length > size - at) return std::string{"a message whose type names overrun it"};
  std::string_view types{reinterpret_cast<const char*>(p + at), length};
  struct refused_type {
    std::string_view name;
    const char* what;
  };
  for (auto [name, what] : {refused_type{"@exit", "an exit"}, refused_type{"@down", "a down"},
                            refused_type{"@group_down", "a group-down"}}) {
    for (auto i = types.find(name); i != std::string_view::npos; i = types.find(name, i + 1))
      if (i + name.size() == types.size() || types[i + name.size()] == '+')
        return std::string{what} +
               " message from a peer (dropped: peers may not stop, link or notify this "
               "node's actors)";
  }
  if (types == "@<>+@atom+@strong_actor_ptr")
    return std::string{"a link or unlink message from a peer (dropped)"};
  return std::nullopt;
}

}  // namespace

std::optional<std::string> frame_vetter::vet(const void* buf, size_t size) {
  last_was_payload_ = awaiting_payload_;
  if (last_was_payload_) {
    awaiting_payload_ = false;
    if (payload_is_message_) {
      payload_is_message_ = false;
      return vet_message(static_cast<const unsigned char*>(buf), size);
    }
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
  // Routed messages travel through this node to a third: ringkv's nodes all talk directly,
  // and CAF 0.17 asserts (or misroutes) on a routed message whose destination is not here.
  if (hdr.operation == basp::message_type::routed_message)
    return std::string{"a routed message (ringkv's nodes talk directly)"};
  bool message = hdr.operation == basp::message_type::direct_message;
  if (message && caf::message_id{hdr.operation_data}.is_stream_message())
    return std::string{"a stream message (ringkv uses none)"};
  if (hdr.payload_len > max_frame_bytes_)
    return "frame of " + std::to_string(hdr.payload_len) + " bytes exceeds the limit of " +
           std::to_string(max_frame_bytes_);
  if (hdr.payload_len > 0) {
    awaiting_payload_ = true;
    in_handshake_ = hdr.operation == basp::message_type::client_handshake;
    payload_is_message_ = message;
  } else if (message) {
    return std::string{"a message without payload"};
  }
  return std::nullopt;
}

}  // namespace kv::actors
