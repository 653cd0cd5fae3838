#include "storage/codec.hpp"

#include <google/protobuf/stubs/logging.h>
#include <catch2/catch.hpp>

#include <random>

#include "messages/common.pb.h"
#include "messages/errc.hpp"
#include "messages/storage.pb.h"
#include "test/support/sample_object.hpp"

namespace kv::storage {
namespace {

using kv::test::sample_object;

template <class T>
bool invalid(const caf::expected<T>& result) {
  return !result && code_of(result.error()) == errc::invalid_argument;
}

template <class T>
std::string message(const caf::expected<T>& result) {
  return result ? std::string{} : message_of(result.error());
}

using events = std::initializer_list<std::tuple<std::string, uint64_t>>;

std::string token(events entries, events dots = {}) {
  msg::VersionVector vv;
  for (const auto& [actor, counter] : entries) {
    auto* e = vv.add_entries();
    e->set_actor(actor);
    e->set_counter(counter);
  }
  for (const auto& [actor, counter] : dots) {
    auto* d = vv.add_dots();
    d->set_actor(actor);
    d->set_counter(counter);
  }
  return vv.SerializeAsString();
}

causal_context dotted(version_vector vv, std::vector<dot> dots) {
  return causal_context::from_parts(std::move(vv), std::move(dots));
}

}  // namespace

TEST_CASE("objects survive the stored format and the wire format unchanged", "[codec]") {
  auto obj = sample_object();
  auto stored = decode_object(encode_object(obj));
  REQUIRE(stored);
  CHECK(*stored == obj);

  msg::Object wire;
  to_proto(obj, wire);
  CHECK(wire.siblings_size() == 3);
  auto back = from_proto(wire);
  REQUIRE(back);
  CHECK(*back == obj);

  auto empty = decode_object(encode_object(object{}));
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("context tokens survive a round trip, and the empty token is the empty context",
          "[codec]") {
  auto context = sample_object().context();
  auto decoded = decode_context(encode_context(context));
  REQUIRE(decoded);
  CHECK(*decoded == context);

  CHECK(encode_context(version_vector{}).empty());
  auto empty = decode_context("");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("context tokens with exact dots survive a round trip", "[codec]") {
  auto context = dotted(sample_object().context(), {{"n1.kq3x9a1", 7}, {"n4.kq40001", 2}});
  REQUIRE(context.dots().size() == 2);
  auto decoded = decode_context(encode_context(context));
  REQUIRE(decoded);
  CHECK(*decoded == context);

  msg::VersionVector wire;
  to_proto(context, wire);
  CHECK(wire.dots_size() == 2);
  auto back = from_proto(wire);
  REQUIRE(back);
  CHECK(*back == context);
}

TEST_CASE("a decoded context is normalized: any entry order is accepted", "[codec]") {
  auto decoded = decode_context(token({{"b", 2}, {"a", 1}}));
  REQUIRE(decoded);
  CHECK(to_string(*decoded) == "{a:1, b:2}");
}

TEST_CASE("a decoded context's exact dots are sorted, unique and beyond its entries", "[codec]") {
  auto decoded = decode_context(token({{"a", 2}}, {{"b", 5}, {"a", 1}, {"b", 5}, {"a", 4}}));
  REQUIRE(decoded);
  CHECK(to_string(*decoded) == "{a:2} + [a:4, b:5]");
}

TEST_CASE("malformed context tokens are invalid arguments", "[codec]") {
  SECTION("duplicate actor") {
    auto result = decode_context(token({{"n1.x", 1}, {"n1.x", 2}}));
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: duplicate actor n1.x");
  }
  SECTION("zero counter") {
    auto result = decode_context(token({{"n1.x", 0}}));
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: zero counter for actor n1.x");
  }
  SECTION("empty actor") {
    auto result = decode_context(token({{"", 3}}));
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: empty actor");
  }
  SECTION("truncated inside an entry or an exact dot") {
    // A token cut between two entries or dots is a well-formed, staler context: a write with it
    // supersedes less, which is safe. Anywhere else the cut is detected.
    auto context = dotted(sample_object().context(), {{"n1.kq3x9a1", 6}, {"n2.kq3xb00", 3}});
    auto good = encode_context(context);
    size_t staler = 0;
    for (size_t size = 1; size < good.size(); ++size) {
      INFO("first " << size << " bytes");
      auto result = decode_context(good.substr(0, size));
      if (result) {
        CHECK(context.descends(*result));
        CHECK(result->size() < context.size());
        ++staler;
      } else {
        CHECK(invalid(result));
      }
    }
    CHECK(staler == context.size() - 1);
  }
  SECTION("unknown fields") {
    auto result = decode_context(std::string("\x18\x01", 2));  // field 3, varint 1
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: fields this build does not know");
  }
  SECTION("unknown fields in an exact dot") {
    auto good = token({}, {{"n1.x", 2}});
    REQUIRE(good.size() == 10);  // field 2, length 8: actor (2 + 4 bytes), counter (2 bytes)
    auto bytes = good.substr(0, 1) + '\x0a' + good.substr(2) + "\x18\x01";  // field 3 in it
    auto result = decode_context(bytes);
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: fields this build does not know");
  }
  SECTION("an exact dot with a zero counter") {
    auto result = decode_context(token({}, {{"n1.x", 0}}));
    CHECK(invalid(result));
    CHECK(message(result) ==
          "malformed context token: exact dot with a zero counter for actor n1.x");
  }
  SECTION("an exact dot with an empty actor") {
    auto result = decode_context(token({}, {{"", 3}}));
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: exact dot with an empty actor");
  }
  SECTION("random bytes") {
    google::protobuf::LogSilencer quiet;  // protobuf logs each invalid UTF-8 string it meets
    std::mt19937 rng{42};
    std::uniform_int_distribution<int> size(1, 40), byte(0, 255);
    for (int i = 0; i < 2000; ++i) {
      std::string bytes(static_cast<size_t>(size(rng)), '\0');
      for (auto& b : bytes) b = static_cast<char>(byte(rng));
      INFO("token " << i);
      CHECK(invalid(decode_context(bytes)));
    }
  }
}

TEST_CASE("context tokens past the limits are refused, naming what is wrong", "[codec]") {
  SECTION("a counter at or above 2^62") {
    CHECK(decode_context(token({{"n1.x", max_counter - 1}})));
    auto at = decode_context(token({{"n1.x", max_counter}}));
    CHECK(invalid(at));
    CHECK(message(at).find("counter 4611686018427387904 for actor n1.x is implausible") !=
          std::string::npos);
    CHECK(invalid(decode_context(token({{"a", 1}, {"n1.x", UINT64_MAX}}))));
  }
  SECTION("more entries than a node keeps") {
    token_limits limits{3, 96};
    CHECK(decode_context(token({{"a", 1}, {"b", 1}, {"c", 1}}), limits));
    auto four = decode_context(token({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}), limits);
    CHECK(invalid(four));
    CHECK(message(four) == "malformed context token: 4 entries; at most 3 are kept");
  }
  SECTION("an actor no node id can make") {
    CHECK(invalid(decode_context(token({{std::string(97, 'n'), 1}}))));
    auto dot = decode_context(token({}, {{std::string(97, 'n'), 1}}));
    CHECK(invalid(dot));
    CHECK(message(dot) == "malformed context token: an exact dot with an actor of 97 bytes");
  }
  SECTION("an exact dot's counter at or above 2^62") {
    CHECK(decode_context(token({}, {{"n1.x", max_counter - 1}})));
    auto at = decode_context(token({}, {{"n1.x", max_counter}}));
    CHECK(invalid(at));
    CHECK(message(at).find("exact dot with counter 4611686018427387904 for actor n1.x is "
                           "implausible") != std::string::npos);
  }
  SECTION("more entries and exact dots together than a node keeps") {
    token_limits limits{3, 96};
    CHECK(decode_context(token({{"a", 1}, {"b", 1}}, {{"c", 2}}), limits));
    auto four = decode_context(token({{"a", 1}, {"b", 1}}, {{"c", 2}, {"d", 2}}), limits);
    CHECK(invalid(four));
    CHECK(message(four) ==
          "malformed context token: 2 entries and 2 exact dots; at most 3 are kept");
    CHECK(invalid(decode_context(token({}, {{"a", 2}, {"b", 2}, {"c", 2}, {"d", 2}}), limits)));
  }
  SECTION("a token too long to be within the limits, before it is parsed") {
    token_limits limits{2, 10};
    auto result = decode_context(std::string(200, '\0'), limits);
    CHECK(invalid(result));
    CHECK(message(result) == "malformed context token: of 200 bytes");
  }
}

TEST_CASE("the context handed to a client is one the node accepts back", "[codec]") {
  token_limits limits{3, 96};
  std::vector<sibling> siblings{{{"s1", 1}, "a", false, 0}, {{"s2", 4}, "b", false, 0}};
  SECTION("implausible counters are lowered and still cover every real dot") {
    auto vv = version_vector::from_entries({{"s1", UINT64_MAX, 5}, {"s2", 4, 5}});
    auto out = client_context(vv, siblings, limits);
    CHECK(out.vv().counter("s1") == max_counter - 1);
    CHECK(out.covers({"s1", 1}));
    CHECK(decode_context(encode_context(out), limits));
  }
  SECTION("entries past the limit go oldest first, the siblings' actors last") {
    auto vv = version_vector::from_entries(
        {{"old", 1, 1}, {"s1", 1, 2}, {"mid", 1, 3}, {"s2", 4, 4}, {"new", 1, 9}});
    auto out = client_context(vv, siblings, limits);
    REQUIRE(out.size() == 3);
    CHECK(out.vv().counter("s1") == 1);
    CHECK(out.vv().counter("s2") == 4);
    CHECK(out.vv().counter("new") == 1);
    CHECK(decode_context(encode_context(out), limits));
  }
  SECTION("more sibling actors than the limit still give a token within it") {
    auto vv = version_vector::from_entries({{"s1", 1, 1}, {"s2", 4, 2}});
    auto out = client_context(vv, siblings, token_limits{1, 96});
    CHECK(out.size() == 1);
  }
  SECTION("a context within the limits is handed out as it is") {
    auto vv = version_vector::from_entries({{"s1", 1, 1}, {"s2", 4, 2}});
    CHECK(client_context(vv, siblings, limits) == vv);
    auto with_dot = dotted(vv, {{"x", 3}});
    CHECK(client_context(with_dot, siblings, limits) == with_dot);
  }
  SECTION("past the limit exact dots go first, those of siblings last") {
    auto vv = version_vector::from_entries({{"s1", 1, 1}});
    auto out = client_context(dotted(vv, {{"s2", 4}, {"x", 3}, {"y", 3}}), siblings, limits);
    CHECK(out == dotted(vv, {{"s2", 4}, {"y", 3}}));
    out = client_context(dotted(vv, {{"s2", 4}, {"x", 3}, {"y", 3}}), siblings, {2, 96});
    CHECK(out == dotted(vv, {{"s2", 4}}));
    CHECK(decode_context(encode_context(out), {2, 96}));
  }
  SECTION("entries past the limit on their own leave no exact dot") {
    auto vv = version_vector::from_entries({{"s1", 1, 1}, {"s2", 4, 2}, {"a", 1, 3}, {"b", 1, 4}});
    auto out = client_context(dotted(vv, {{"s2", 5}}), siblings, limits);
    CHECK(out.dots().empty());
    CHECK(out.size() == 3);
  }
  SECTION("an implausible exact dot is dropped") {
    auto out = client_context(dotted({}, {{"x", max_counter}, {"y", 1}}), siblings, limits);
    CHECK(out == dotted({}, {{"y", 1}}));
  }
}

TEST_CASE("an object with more siblings than any merge could make is refused before conversion",
          "[codec]") {
  msg::Object in;
  for (int i = 0; i <= (1 << 20); ++i) in.add_siblings();
  auto result = from_proto(in);
  CHECK(invalid(result));
  CHECK(message(result) == "malformed object: 1048577 siblings");
}

TEST_CASE("malformed objects are invalid arguments", "[codec]") {
  msg::Object wire;
  to_proto(sample_object(), wire);

  SECTION("a sibling without a dot") {
    wire.mutable_siblings(1)->clear_dot();
    CHECK(message(from_proto(wire)) == "malformed object: sibling without a dot");
  }
  SECTION("duplicate sibling dots") {
    *wire.add_siblings() = wire.siblings(0);
    CHECK(message(from_proto(wire)) == "malformed object: duplicate sibling dot n1.kq3x9a1:3");
  }
  SECTION("a sibling dot with a zero counter") {
    wire.mutable_siblings(0)->mutable_dot()->set_counter(0);
    CHECK(invalid(from_proto(wire)));
  }
  SECTION("a sibling dot with an empty actor") {
    wire.mutable_siblings(0)->mutable_dot()->clear_actor();
    CHECK(invalid(from_proto(wire)));
  }
  SECTION("a context with exact dots") {
    to_proto(dotted({}, {{"n9.x", 2}}), *wire.mutable_context());
    CHECK(message(from_proto(wire)) == "malformed object: exact dots in the context");
  }
  SECTION("a context with a duplicate actor") {
    *wire.mutable_context()->add_entries() = wire.context().entries(0);
    CHECK(message(from_proto(wire)) == "malformed object: context: duplicate actor n1.kq3x9a1");
  }
  SECTION("the same faults in the stored form") {
    wire.mutable_siblings(1)->clear_dot();
    msg::StoredObject stored;
    *stored.mutable_object() = wire;
    auto result = decode_object(stored.SerializeAsString());
    CHECK(invalid(result));
    CHECK(message(result) == "malformed stored object: sibling without a dot");
  }
}

TEST_CASE("a decoded object is normalized: its context covers every sibling", "[codec]") {
  msg::Object wire;
  auto* s = wire.add_siblings();
  s->mutable_dot()->set_actor("b.1");
  s->mutable_dot()->set_counter(5);
  s->set_timestamp_ms(77);
  auto decoded = from_proto(wire);
  REQUIRE(decoded);
  CHECK(decoded->context().entries() == std::vector<version_vector::entry>{{"b.1", 5, 77}});
}

TEST_CASE("bytes that are not a stored object are invalid arguments", "[codec]") {
  CHECK(message(decode_object("")) == "malformed stored object: no object in it");
  CHECK(message(decode_object("\xff\xff\xff")) ==
        "malformed stored object: not a StoredObject message");
  auto good = encode_object(sample_object());
  for (size_t size = 1; size < good.size(); ++size) {
    INFO("first " << size << " bytes");
    CHECK(invalid(decode_object(good.substr(0, size))));
  }
}

}  // namespace kv::storage
