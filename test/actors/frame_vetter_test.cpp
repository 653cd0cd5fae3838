#include "actors/net/frame_vetter.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "caf/binary_serializer.hpp"
#include "caf/io/basp/header.hpp"

namespace kv::actors {
namespace {

namespace basp = caf::io::basp;

std::vector<char> header(basp::message_type op, uint32_t payload, uint64_t data,
                         caf::actor_id from = 0, caf::actor_id to = 0) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  basp::header hdr{op, 0, payload, data, from, to};
  REQUIRE_FALSE(sink(hdr));
  return buf;
}

// A vetter past a client handshake of `payload` bytes.
frame_vetter handshaken(size_t max_frame, std::string payload = "hello") {
  frame_vetter vetter{max_frame};
  auto hello = header(basp::message_type::client_handshake, payload.size(), 1);
  REQUIRE_FALSE(vetter.vet(hello.data(), hello.size()));
  vetter.accepted();
  REQUIRE_FALSE(vetter.vet(payload.data(), payload.size()));
  vetter.accepted();
  REQUIRE(vetter.handshaken());
  return vetter;
}

}  // namespace

TEST_CASE("the frame vetter wants a client handshake with a payload first", "[port]") {
  frame_vetter vetter{4096};
  auto beat = header(basp::message_type::heartbeat, 0, 0);
  CHECK(vetter.vet(beat.data(), beat.size()) == "first frame is not a handshake");
  frame_vetter empty{4096};
  auto hello = header(basp::message_type::client_handshake, 0, 1);
  CHECK(empty.vet(hello.data(), hello.size()) == "a handshake without payload");
}

TEST_CASE("the frame vetter refuses frames over the limit", "[port]") {
  auto vetter = handshaken(4096);
  auto big = header(basp::message_type::direct_message, 4097, 1ull << 60, 1, 2);
  CHECK(vetter.vet(big.data(), big.size()) == "frame of 4097 bytes exceeds the limit of 4096");
}

TEST_CASE("the frame vetter refuses messages that claim to be stream messages", "[port]") {
  // Found by the live fuzz test: CAF 0.17 files a message whose id has a stream category in
  // an actor's stream queue and reads it as a stream message there, and the node crashed.
  for (uint64_t category : {2, 3}) {
    auto vetter = handshaken(4096);
    auto msg = header(basp::message_type::direct_message, 10, category << 60 | 7, 1, 2);
    CHECK(vetter.vet(msg.data(), msg.size()) == "a stream message (ringkv uses none)");
  }
  for (uint64_t category : {0, 1}) {
    auto vetter = handshaken(4096);
    auto msg = header(basp::message_type::direct_message, 10, category << 60 | 7, 1, 2);
    CHECK_FALSE(vetter.vet(msg.data(), msg.size()));
    CHECK(vetter.awaiting_payload());
  }
}

}  // namespace kv::actors

namespace kv::actors {
namespace {

// The payload of a direct message as CAF 0.17 writes it (no stages, a 16-bit zero, the type
// names, the content).
std::string payload_of(const std::string& types, std::string content = "xyz") {
  return std::string(3, '\0') + static_cast<char>(types.size()) + types + content;
}

// What the vetter says of a direct message carrying `payload`, after a handshake.
std::optional<std::string> vet_message(const std::string& payload) {
  auto vetter = handshaken(4096);
  auto hdr = header(basp::message_type::direct_message, payload.size(), 1, 1, 2);
  REQUIRE_FALSE(vetter.vet(hdr.data(), hdr.size()));
  vetter.accepted();
  return vetter.vet(payload.data(), payload.size());
}

}  // namespace

TEST_CASE("the frame vetter drops exits, downs, links and routed messages from peers", "[port]") {
  CHECK_FALSE(vet_message(payload_of("@<>+kv.msg.GossipRequest")));
  CHECK_FALSE(vet_message(payload_of("@<>+@error")));           // the front logs and ignores it
  CHECK_FALSE(vet_message(payload_of("@<>+@downstream_msg")));  // not a down message
  CHECK(vet_message(payload_of("@<>+@exit"))->rfind("an exit message from a peer", 0) == 0);
  CHECK(vet_message(payload_of("@<>+@down"))->rfind("a down message from a peer", 0) == 0);
  CHECK(vet_message(payload_of("@<>+@str+@exit"))->rfind("an exit message", 0) == 0);
  CHECK(vet_message(payload_of("@<>+@atom+@strong_actor_ptr")) ==
        "a link or unlink message from a peer (dropped)");
  CHECK(vet_message(std::string("\x01") + payload_of("@<>+@str").substr(1)) ==
        "a message with forwarding stages (ringkv sends none)");
  CHECK(vet_message(std::string(3, '\0') + '\x7f' + "@<>") ==
        "a message whose type names overrun it");
  CHECK(vet_message("ab") == "a message too short to hold its content's types");

  auto vetter = handshaken(4096);
  auto routed = header(basp::message_type::routed_message, 10, 1, 1, 2);
  CHECK(vetter.vet(routed.data(), routed.size()) ==
        "a routed message (ringkv's nodes talk directly)");
  auto empty = header(basp::message_type::direct_message, 0, 1, 1, 2);
  CHECK(handshaken(4096).vet(empty.data(), empty.size()));  // BASP itself finds it malformed
}

}  // namespace kv::actors
