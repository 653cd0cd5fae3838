// actors/net/frame_vetter.hpp
// The port guard's judgement of one connection's bytes, without the socket: BASP framing (a
// header, then a payload of the length it announced), each header checked before BASP sees it.
// guarded_port.cpp keeps one per accepted connection and feeds it every chunk BASP's framing
// reads; a fuzz test feeds it made-up chunks (test/fuzz/).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace kv::actors {

class frame_vetter {
 public:
  explicit frame_vetter(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Judges the next chunk read from the connection: the reason to close the connection, or
  // nullopt to hand the chunk on to BASP. A chunk that is not a payload and of the size of a
  // BASP header is a header: it must parse and be valid, a handshake must come first (from
  // the connecting side, with a payload) and its payload must not exceed max_frame_bytes.
  // Routed messages are refused; a direct message's payload is refused when it carries
  // forwarding stages or an exit, down, link or unlink message (the guard then closes the
  // connection, so the message never reaches an actor).
  std::optional<std::string> vet(const void* buf, size_t size);

  // BASP took the chunk vet passed without closing the connection.
  void accepted();

  bool handshaken() const { return handshaken_; }      // BASP accepted a handshake
  bool in_handshake() const { return in_handshake_; }  // the frame under way is the handshake
  bool awaiting_payload() const { return awaiting_payload_; }  // a header announced a payload

 private:
  std::optional<std::string> vet_header(const void* buf, size_t size);

  size_t max_frame_bytes_;
  bool handshaken_ = false;
  bool in_handshake_ = false;
  bool awaiting_payload_ = false;
  bool last_was_payload_ = false;
  bool payload_is_message_ = false;  // the payload awaited is a direct message's
};

}  // namespace kv::actors
