#include <catch2/catch.hpp>

#include <chrono>

#include "caf/all.hpp"
#include "messages/caf_types.hpp"
#include "messages/client.pb.h"
#include "messages/errc.hpp"
#include "messages/replication.pb.h"
#include "messages/wire_limits.hpp"

namespace {

struct system_fixture {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    kv::register_types(cfg);
    return cfg;
  }
  system_fixture() : sys(init(cfg)) {}
  caf::actor_system_config cfg;
  caf::actor_system sys;
};

// Serializes `in` the way the middleman does between processes, and reads it back.
template <class T>
T round_trip(caf::actor_system& sys, T in) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = caf::make_message(std::move(in));
  REQUIRE_FALSE(sink(msg));
  caf::binary_deserializer source{sys, buf};
  caf::message out;
  REQUIRE_FALSE(source(out));
  REQUIRE(out.match_elements<T>());
  return out.get_as<T>(0);
}

}  // namespace

TEST_CASE_METHOD(system_fixture, "protobuf messages cross CAF's serializer intact", "[messages]") {
  kv::msg::PutRequest put;
  put.set_key(std::string("k\0ey", 4));
  put.set_value(std::string(100000, 'v'));
  put.mutable_options()->set_ns("default");
  put.mutable_options()->set_w(2);
  put.mutable_options()->set_timeout_ms(1500);
  auto back = round_trip(sys, put);
  CHECK(back.SerializeAsString() == put.SerializeAsString());

  kv::msg::ReplicaReadReply empty;  // an absent object is data too
  CHECK_FALSE(round_trip(sys, empty).has_object());
}

TEST_CASE_METHOD(system_fixture, "every message type is registered under its protobuf name",
                 "[messages]") {
  auto types = sys.message_types(
      caf::detail::type_list<
          caf::typed_actor<caf::replies_to<kv::msg::PutRequest>::with<kv::msg::PutReply>>>{});
  REQUIRE(types.size() == 1);
  CHECK(types.begin()->find("kv.msg.PutRequest") != std::string::npos);
  CHECK(types.begin()->find("kv.msg.PutReply") != std::string::npos);
}

TEST_CASE_METHOD(system_fixture, "a damaged payload is never delivered as a request",
                 "[messages]") {
  // CAF 0.17 reads a damaged message as an empty one rather than reporting an error; what
  // matters is that no actor ever sees a half-parsed request.
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  kv::msg::PutRequest put;
  put.set_key("k");
  put.set_value(std::string(100, 'v'));
  REQUIRE_FALSE(sink(caf::make_message(put)));
  auto decoded = [&](std::vector<char> bytes) {
    caf::binary_deserializer source{sys, bytes};
    caf::message out;
    static_cast<void>(source(out));  // ignored: the message's content is what is checked
    return out.match_elements<kv::msg::PutRequest>();
  };
  CHECK(decoded(buf));
  auto truncated = buf;
  truncated.resize(buf.size() - 10);
  CHECK_FALSE(decoded(truncated));
  auto corrupted = buf;
  auto at = std::string(buf.begin(), buf.end()).find(std::string("\x12\x01k", 3));
  REQUIRE(at != std::string::npos);
  corrupted[at] = corrupted[at + 1] = '\xff';  // an impossible protobuf tag
  CHECK_FALSE(decoded(corrupted));
}

TEST_CASE("kv errors carry their code and text across CAF", "[errc]") {
  auto err = kv::make_error(kv::errc::too_large, "value is 2 MiB");
  CHECK(kv::code_of(err) == kv::errc::too_large);
  CHECK(kv::message_of(err) == "value is 2 MiB");
  CHECK(kv::describe(err) == "TOO_LARGE value is 2 MiB");
  CHECK(kv::code_of(caf::error{}) == kv::errc::none);
}

TEST_CASE("CAF's own errors map to the code a caller branches on", "[errc]") {
  CHECK(kv::code_of(caf::make_error(caf::sec::request_timeout)) == kv::errc::timeout);
  CHECK(kv::code_of(caf::make_error(caf::sec::request_receiver_down)) == kv::errc::unavailable);
  CHECK(kv::code_of(caf::make_error(caf::sec::cannot_connect_to_node)) == kv::errc::unavailable);
  CHECK(kv::code_of(caf::make_error(caf::exit_reason::kill)) == kv::errc::unavailable);
  CHECK(kv::code_of(caf::make_error(caf::sec::runtime_error)) == kv::errc::internal);
}

TEST_CASE("error code names round-trip", "[errc]") {
  for (int i = 0; i <= 8; ++i) {
    auto code = static_cast<kv::errc>(i);
    CHECK(kv::errc_from_string(kv::to_string(code)) == code);
  }
  CHECK(kv::to_string(kv::errc::permission_denied) == "PERMISSION_DENIED");
  CHECK_FALSE(kv::errc_from_string("NOPE"));
}

TEST_CASE("a code from the wire that this build does not know is INTERNAL", "[errc]") {
  auto code = [](uint8_t wire) {
    return kv::code_of(caf::error{wire, caf::atom("kv"), caf::make_message(std::string{"x"})});
  };
  CHECK(code(8) == kv::errc::permission_denied);
  CHECK(code(9) == kv::errc::internal);
  CHECK(code(200) == kv::errc::internal);
}

namespace {

// `calls` empty calls (field 1) and `pieces` empty pieces (field 2) of a batch, as bytes.
std::string batch_bytes(size_t calls, size_t pieces = 0) {
  std::string out;
  out.reserve(2 * (calls + pieces));
  for (size_t i = 0; i < calls; ++i) out += std::string("\x0a\x00", 2);
  for (size_t i = 0; i < pieces; ++i) out += std::string("\x12\x00", 2);
  return out;
}

// Reads `payload` into a T the way BASP does: the protobuf bytes inside CAF's serialization.
template <class T>
caf::error decode(caf::actor_system& sys, const std::string& payload, T& out) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto copy = payload;
  REQUIRE_FALSE(sink(copy));
  caf::binary_deserializer source{sys, buf};
  return source(out);
}

}  // namespace

TEST_CASE_METHOD(system_fixture,
                 "a batch of more items than max_batch_items is refused whole, before parsing",
                 "[messages]") {
  auto before = kv::messages_refused();
  SECTION("4 MiB of empty calls, two million of them") {
    auto payload = batch_bytes((size_t{4} << 20) / 2);
    kv::msg::ReplicaBatch batch;
    auto started = std::chrono::steady_clock::now();
    CHECK(decode(sys, payload, batch));
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(batch.calls_size() == 0);
    CHECK(kv::messages_refused() == before + 1);
    CHECK(took < std::chrono::milliseconds{500});  // parsed, it takes seconds and ~100 MB
  }
  SECTION("calls and pieces count together") {
    kv::msg::ReplicaBatch batch;
    CHECK(decode(sys, batch_bytes(kv::max_batch_items - 24, 25), batch));
    kv::msg::ReplicaResults results;
    CHECK(decode(sys, batch_bytes(1, kv::max_batch_items), results));
    kv::msg::ReplicaResults more_results;
    CHECK(decode(sys, batch_bytes(kv::max_batch_items + 1), more_results));
    CHECK(kv::messages_refused() == before + 3);
  }
  SECTION("fields a batch does not have count too") {
    std::string unknown;
    for (size_t i = 0; i <= kv::max_batch_items; ++i) unknown += std::string("\x78\x01", 2);
    kv::msg::ReplicaBatch batch;
    CHECK(decode(sys, unknown, batch));
  }
}

TEST_CASE_METHOD(system_fixture, "a batch at max_batch_items items is delivered", "[messages]") {
  auto before = kv::messages_refused();
  kv::msg::ReplicaResults batch;
  CHECK_FALSE(decode(sys, batch_bytes(kv::max_batch_items), batch));
  CHECK(batch.results_size() == int(kv::max_batch_items));
  kv::msg::ReplicaBatch replica_batch;
  CHECK_FALSE(decode(sys, batch_bytes(kv::max_batch_items - 24, 24), replica_batch));
  CHECK(replica_batch.calls_size() + replica_batch.pieces_size() == int(kv::max_batch_items));
  CHECK(kv::messages_refused() == before);
}

TEST_CASE_METHOD(system_fixture, "a malformed message is refused and counted", "[messages]") {
  auto before = kv::messages_refused();
  kv::msg::ReplicaBatch batch;
  CHECK(decode(sys, batch_bytes(3) + "\x0a\x05", batch));  // a call cut short
  kv::msg::PutRequest put;
  CHECK(decode(sys, std::string("\xff\xff", 2), put));
  CHECK(kv::messages_refused() == before + 2);
  CHECK_FALSE(kv::within_field_limit(std::string("\x0a\x05", 2), 10));
  CHECK(kv::within_field_limit(batch_bytes(10), 10));
  CHECK_FALSE(kv::within_field_limit(batch_bytes(11), 10));
}
