// The port guard's frame vetting, fed a connection's bytes the way BASP's framing reads them:
// a header, then the payload it announced. What it passes is what BASP will see.
#include <catch2/catch.hpp>

#include "actors/net/frame_vetter.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/io/basp/header.hpp"
#include "caf/message_id.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::actors {
namespace {

namespace basp = caf::io::basp;

// A frame as a peer sends it; handshakes and heartbeats name no actors.
std::string frame(basp::message_type op, std::string payload, uint64_t data = 0) {
  bool actors =
      op == basp::message_type::direct_message || op == basp::message_type::routed_message;
  basp::header hdr{
      op, 0, static_cast<uint32_t>(payload.size()), data, actors ? 7u : 0u, actors ? 9u : 0u};
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  static_cast<void>(sink(hdr));  // ignored: a header always serializes
  return std::string(buf.begin(), buf.end()) + payload;
}

// A direct message's payload as CAF 0.17 writes it: no stages, a 16-bit zero, the content's
// type names (a one-byte varint length here), then the content.
std::string message_payload(const std::string& types, size_t content_bytes) {
  return std::string(3, '\0') + static_cast<char>(types.size()) + types +
         std::string(content_bytes, 'm');
}

std::vector<std::string> stream_seeds() {
  auto hello = frame(basp::message_type::client_handshake, std::string(40, 'h'), 1);
  auto msg = frame(basp::message_type::direct_message, message_payload("@<>+@str", 100));
  auto beat = frame(basp::message_type::heartbeat, "");
  auto routed = frame(basp::message_type::routed_message, std::string(64, 'r'));
  auto exit = frame(basp::message_type::direct_message, message_payload("@<>+@exit", 40));
  return {hello,
          hello + msg + beat + msg,
          hello + beat + beat + msg,
          frame(basp::message_type::server_handshake, "x") + msg,
          frame(basp::message_type::client_handshake, ""),
          hello + frame(basp::message_type::direct_message, "m", uint64_t{3} << 60),
          hello + routed,
          hello + exit};
}

// Feeds `stream` to a vetter as BASP's framing reads it, checking each chunk that passes;
// returns how many bytes passed before the vetter closed the connection or the bytes ran out.
size_t vet_stream(std::string_view stream, size_t max_frame) {
  frame_vetter vetter{max_frame};
  size_t at = 0;
  while (at + basp::header_size <= stream.size()) {
    auto* chunk = stream.data() + at;
    auto handshaken = vetter.handshaken();
    if (vetter.vet(chunk, basp::header_size)) return at;  // the connection is closed
    vetter.accepted();
    at += basp::header_size;
    basp::header hdr;
    caf::binary_deserializer source{nullptr, chunk, basp::header_size};
    FUZZ_CHECK(!source(hdr) && basp::valid(hdr));
    FUZZ_CHECK(handshaken || hdr.operation == basp::message_type::client_handshake);
    FUZZ_CHECK(hdr.operation != basp::message_type::server_handshake);
    FUZZ_CHECK(hdr.payload_len <= max_frame);
    FUZZ_CHECK(hdr.operation != basp::message_type::routed_message);
    bool message = hdr.operation == basp::message_type::direct_message;
    FUZZ_CHECK(!message || !caf::message_id{hdr.operation_data}.is_stream_message());
    FUZZ_CHECK(!message || hdr.payload_len > 0);
    FUZZ_CHECK(vetter.awaiting_payload() == (hdr.payload_len > 0));
    if (hdr.payload_len == 0) continue;
    if (at + hdr.payload_len > stream.size()) return at;  // truncated: the sweep closes it
    // Only a message's payload is vetted (its stages and content types).
    auto refused = vetter.vet(stream.data() + at, hdr.payload_len);
    FUZZ_CHECK(!refused || message);
    if (refused) return at;
    at += hdr.payload_len;
    vetter.accepted();
    FUZZ_CHECK(!vetter.awaiting_payload() && vetter.handshaken());
  }
  if (at > 0) fuzz::accepted();  // some frames passed
  return at;
}

}  // namespace

TEST_CASE(
    "fuzz: the frame vetter passes only well-formed frames of bounded size, handshake "
    "first",
    "[fuzz][frame_guard]") {
  constexpr size_t max_frame = 4096;
  auto seeds = stream_seeds();
  REQUIRE(vet_stream(seeds[1], max_frame) == seeds[1].size());  // a good conversation passes
  REQUIRE(vet_stream(seeds[3], max_frame) == 0);                // a server handshake does not
  REQUIRE(vet_stream(seeds[5], max_frame) == seeds[0].size());  // nor a stream message
  REQUIRE(vet_stream(seeds[6], max_frame) == seeds[0].size());  // nor a routed message
  // nor an exit: its header passes, its payload does not
  REQUIRE(vet_stream(seeds[7], max_frame) == seeds[0].size() + basp::header_size);
  fuzz::run("frame_guard", 13201, 1200000, seeds,
            [&](std::string_view stream) { static_cast<void>(vet_stream(stream, max_frame)); });
}

}  // namespace kv::actors
