// The client protocol's decoder (messages/framing.hpp): the byte stream of a connection, cut
// into chunks as reads would cut it, through the frame reader and the frame decoder. What a
// node holds for a connection stays within one frame and one chunk; an accepted frame
// re-encodes to a frame that decodes to the same message.
#include <catch2/catch.hpp>

#include "messages/framing.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::protocol {

namespace {

std::vector<std::string> stream_seeds() {
  std::vector<std::string> seeds;
  std::string conversation;
  msg::ClientFrame hello;
  hello.mutable_hello()->set_version(version);
  hello.mutable_hello()->set_client("fuzz/1");
  append_frame(conversation, hello);
  msg::ClientFrame put;
  put.mutable_request()->set_id(1);
  put.mutable_request()->mutable_put()->set_key("key");
  put.mutable_request()->mutable_put()->set_value("value");
  put.mutable_request()->mutable_put()->set_context(std::string{"\x0a\x06\x0a\x02n1\x10\x05", 8});
  put.mutable_request()->mutable_put()->mutable_options()->set_w(2);
  append_frame(conversation, put);
  msg::ClientFrame get;
  get.mutable_request()->set_id(2);
  get.mutable_request()->mutable_get()->set_key("key");
  append_frame(conversation, get);
  msg::ClientFrame ping;
  ping.mutable_request()->set_id(3);
  ping.mutable_request()->mutable_ping();
  append_frame(conversation, ping);
  seeds.push_back(conversation);
  std::string answers;
  msg::NodeFrame reply;
  reply.mutable_hello()->set_version(version);
  reply.mutable_hello()->set_node_id("n1");
  append_frame(answers, reply);
  msg::NodeFrame got;
  got.mutable_response()->set_id(2);
  auto* sibling = got.mutable_response()->mutable_get()->add_siblings();
  sibling->set_value("value");
  append_frame(answers, got);
  msg::NodeFrame bye;
  bye.mutable_goodbye()->set_code(msg::ERR_TOO_LARGE);
  append_frame(answers, bye);
  seeds.push_back(answers);
  return seeds;
}

}  // namespace

TEST_CASE("fuzz: a connection's bytes split into bounded frames that decode or are refused",
          "[fuzz][client_protocol]") {
  constexpr uint32_t max_frame = 4096;
  fuzz::run("client_protocol", 13601, 1000000, stream_seeds(), [](std::string_view bytes) {
    frame_reader reader{max_frame};
    size_t pos = 0, chunk = 1 + bytes.size() % 7;  // reads of a few bytes, as a slow sender's
    bool broken = false;
    while (pos < bytes.size() && !broken) {
      auto part = bytes.substr(pos, chunk);
      pos += part.size();
      reader.feed(part);
      FUZZ_CHECK(reader.buffered() <= header_bytes + max_frame + chunk);
      for (;;) {
        auto next = reader.next();
        if (!next) {
          broken = true;
          break;
        }
        if (!*next) break;
        FUZZ_CHECK((*next)->size() <= max_frame);
        auto client = decode_client_frame(**next);
        auto node = decode_node_frame(**next);
        if (!client && !node) continue;
        fuzz::accepted();
        if (client) {
          std::string again;
          append_frame(again, *client);
          frame_reader reread{max_frame * 2};
          reread.feed(again);
          auto whole = reread.next();
          FUZZ_CHECK(whole && *whole);
          auto decoded = decode_client_frame(**whole);
          FUZZ_CHECK(decoded && decoded->SerializeAsString() == client->SerializeAsString());
        }
      }
    }
  });
}

}  // namespace kv::protocol
