// The client protocol's frames (messages/framing.hpp): what a node's client port and every
// client rely on to find message boundaries in a byte stream.
#include <catch2/catch.hpp>

#include "messages/errc.hpp"
#include "messages/framing.hpp"

using namespace kv;

namespace {

msg::ClientFrame put_frame(uint64_t id, std::string value) {
  msg::ClientFrame f;
  auto& req = *f.mutable_request();
  req.set_id(id);
  req.mutable_put()->set_key("k");
  req.mutable_put()->set_value(std::move(value));
  return f;
}

std::vector<msg::ClientFrame> read_all(protocol::frame_reader& reader) {
  std::vector<msg::ClientFrame> out;
  for (;;) {
    auto next = reader.next();
    REQUIRE(next);
    if (!*next) return out;
    auto frame = protocol::decode_client_frame(**next);
    REQUIRE(frame);
    out.push_back(std::move(*frame));
  }
}

}  // namespace

TEST_CASE("client frames split anywhere in the stream come out whole and in order", "[protocol]") {
  std::string stream;
  for (uint64_t id = 1; id <= 3; ++id)
    protocol::append_frame(stream, put_frame(id, std::string(id * 100, 'v')));
  auto first_size = put_frame(1, std::string(100, 'v')).ByteSizeLong();
  REQUIRE(first_size == 111);
  REQUIRE(stream.substr(0, 4) == std::string{"\0\0\0\x6f", 4});  // big-endian length first
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    protocol::frame_reader reader{protocol::default_max_frame_bytes};
    reader.feed(std::string_view{stream}.substr(0, cut));
    auto first = read_all(reader);
    reader.feed(std::string_view{stream}.substr(cut));
    auto rest = read_all(reader);
    first.insert(first.end(), rest.begin(), rest.end());
    REQUIRE(first.size() == 3);
    for (uint64_t id = 1; id <= 3; ++id) {
      CHECK(first[id - 1].request().id() == id);
      CHECK(first[id - 1].request().put().value().size() == id * 100);
    }
    CHECK(reader.buffered() == 0);
  }
}

TEST_CASE("a header announcing more than the frame limit is refused before anything is held",
          "[protocol]") {
  protocol::frame_reader reader{1000};
  std::string stream{"\xff\xff\xff\xf0", 4};  // announces ~4 GiB
  stream += "a few bytes of it";
  reader.feed(stream);
  auto next = reader.next();
  REQUIRE_FALSE(next);
  CHECK(code_of(next.error()) == errc::too_large);
  CHECK(message_of(next.error()) == "a frame of 4294967280 bytes; at most 1000 are taken");
  // Nothing can follow: the stream has no boundaries any more.
  std::string good;
  protocol::append_frame(good, put_frame(1, "v"));
  reader.feed(good);
  CHECK_FALSE(reader.next());
  CHECK(reader.buffered() == stream.size());
}

TEST_CASE("a frame of exactly the limit is taken", "[protocol]") {
  std::string stream;
  protocol::append_frame(stream, put_frame(7, std::string(500, 'v')));
  auto size = static_cast<uint32_t>(stream.size() - protocol::header_bytes);
  protocol::frame_reader exact{size};
  exact.feed(stream);
  CHECK(read_all(exact).size() == 1);
  protocol::frame_reader under{size - 1};
  under.feed(stream);
  CHECK_FALSE(under.next());
}

TEST_CASE("frames that do not parse, or hold nothing this build knows, are refused", "[protocol]") {
  auto garbage = protocol::decode_client_frame(std::string{"\xff\xff\xff", 3});
  REQUIRE_FALSE(garbage);
  CHECK(code_of(garbage.error()) == errc::invalid_argument);
  auto empty = protocol::decode_client_frame("");
  REQUIRE_FALSE(empty);
  CHECK(message_of(empty.error()) ==
        "a client frame of a kind this build does not know (or empty)");
  // A field number no version defines yet (a newer client's frame kind): refused, not a crash.
  auto newer = protocol::decode_node_frame(std::string{"\xf2\x07\x00", 3});  // field 126
  REQUIRE_FALSE(newer);
  CHECK(code_of(newer.error()) == errc::invalid_argument);
}

TEST_CASE("a hello in another version is answered with the node's version and an error",
          "[protocol]") {
  msg::Hello hello;
  hello.set_version(1);
  auto ok = protocol::answer_hello(hello, "n1", 4096, 60000, 1024);
  CHECK(ok.version() == 1);
  CHECK(ok.node_id() == "n1");
  CHECK(ok.max_frame_bytes() == 4096);
  CHECK_FALSE(ok.has_error());
  hello.set_version(2);
  auto refused = protocol::answer_hello(hello, "n1", 4096, 60000, 1024);
  CHECK(refused.version() == 1);
  REQUIRE(refused.has_error());
  CHECK(refused.error().code() == msg::ERR_INVALID_ARGUMENT);
  CHECK(refused.error().message() ==
        "protocol version 2 is not spoken here; this node speaks version 1");
}

TEST_CASE("the example frame of docs/protocol.md is what the codec writes", "[protocol]") {
  msg::ClientFrame f;
  f.mutable_request()->set_id(1);
  f.mutable_request()->mutable_put()->set_key("k");
  f.mutable_request()->mutable_put()->set_value("v");
  std::string stream;
  protocol::append_frame(stream, f);
  CHECK(stream ==
        std::string{"\x00\x00\x00\x0c\x12\x0a\x08\x01\x12\x06\x12\x01\x6b\x1a\x01\x76", 16});
}
