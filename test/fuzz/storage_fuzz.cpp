// Context tokens (as kvctl and HTTP clients hold them, and as the node decodes them) and
// stored objects (from the disk, and in their wire form from peers).
#include <catch2/catch.hpp>

#include <algorithm>

#include "messages/common.pb.h"
#include "messages/token.hpp"
#include "storage/codec.hpp"
#include "test/fuzz/fuzz.hpp"
#include "test/support/sample_object.hpp"

namespace kv::storage {
namespace {

using kv::test::sample_object;

version_vector sample_context(size_t entries, uint64_t counter) {
  std::vector<version_vector::entry> out;
  for (size_t i = 0; i < entries; ++i)
    out.push_back({"n" + std::to_string(i) + ".kq3x9a1", counter + i, int64_t(i) * 1000});
  return version_vector::from_entries(std::move(out));
}

// `entries` entries from sample_context, and `dots` exact dots beyond them.
causal_context sample_dotted(size_t entries, size_t dots, uint64_t counter) {
  std::vector<dot> exact;
  for (size_t i = 0; i < dots; ++i)
    exact.push_back({"n" + std::to_string(i % 4) + ".kq3x9a1", counter + entries + 2 + i});
  return causal_context::from_parts(sample_context(entries, counter), std::move(exact));
}

std::vector<std::string> context_seeds() {
  return {encode_context({}),
          encode_context(sample_context(1, 1)),
          encode_context(sample_context(3, 41)),
          encode_context(sample_context(164, 7)),
          encode_context(sample_context(2, max_counter - 2)),
          encode_context(sample_object().context()),
          encode_context(sample_dotted(0, 1, 1)),
          encode_context(sample_dotted(2, 3, 5)),
          encode_context(sample_dotted(100, 64, 7)),
          encode_context(sample_dotted(1, 2, max_counter - 8)),
          encode_context(causal_context::from_parts(sample_object().context(),
                                                    {{"n1.kq3x9a1", 6}, {"n2.kq3xb00", 2}}))};
}

// A write with an accepted token, on top of an object holding some of the versions it names,
// keeps the rules of apply_write: the new version is stored and handed back, nothing else held
// is handed back, and the stored context stays a plain vector that covers the new version.
void check_write_with(const causal_context& seen) {
  auto obj = sample_object();
  auto d = next_dot(obj, "n1.kq3x9a1", 5);
  FUZZ_CHECK(d.has_value());
  auto result = apply_write(obj, seen, {*d, "v", false, 1}, {resolution::causal, 2, 8});
  FUZZ_CHECK(result.seen.covers(*d) && result.stored.context().covers(*d));
  for (const auto& s : result.stored.siblings())
    FUZZ_CHECK(s.id == *d || !result.seen.covers(s.id));
  auto stored = decode_object(encode_object(result.stored));
  FUZZ_CHECK(stored && *stored == result.stored);
  static_cast<void>(merge(obj, result.stored));  // ignored: only its not crashing counts
}

// What an accepted context must be, whatever bytes it came from.
void check_context(const causal_context& context, const token_limits& limits) {
  FUZZ_CHECK(context.size() <= limits.max_entries);
  for (auto& e : context.vv().entries()) {
    FUZZ_CHECK(!e.actor.empty() && e.actor.size() <= limits.max_actor_bytes);
    FUZZ_CHECK(e.counter > 0 && e.counter < max_counter);
  }
  for (size_t i = 0; i < context.dots().size(); ++i) {
    const auto& d = context.dots()[i];
    FUZZ_CHECK(!d.actor.empty() && d.actor.size() <= limits.max_actor_bytes);
    FUZZ_CHECK(d.counter > 0 && d.counter < max_counter);
    FUZZ_CHECK(!context.vv().covers(d));
    FUZZ_CHECK(i == 0 || context.dots()[i - 1] < d);
  }
  auto again = decode_context(encode_context(context), limits);
  FUZZ_CHECK(again && *again == context);
  check_write_with(context);
}

// A write at the coordinating replica on top of `obj` must never assert: the dot is either
// refused (nullopt) or above what the object has seen.
void check_writable(const object& obj) {
  auto d = next_dot(obj, "n1.kq3x9a1", 5);
  if (!d) return;
  FUZZ_CHECK(d->counter < max_counter && d->counter > obj.context().counter(d->actor));
  // The context a client read returns, and writes back; then the context that write returned.
  auto seen = client_context(obj.context(), obj.siblings(), {});
  auto result = apply_write(obj, seen, {*d, "v", false, 1}, {resolution::causal, 2, 8});
  FUZZ_CHECK(result.stored.context().covers(*d));
  static_cast<void>(merge(obj, result.stored));  // ignored: only its not crashing counts
  auto next = next_dot(result.stored, "n1.kq3x9a1", 5);
  if (!next) return;
  auto token = client_context(result.seen, result.stored.siblings(), {});
  auto again =
      apply_write(result.stored, token, {*next, "w", false, 3}, {resolution::causal, 4, 8});
  FUZZ_CHECK(again.seen.covers(*next));
  auto kept = std::any_of(again.stored.siblings().begin(), again.stored.siblings().end(),
                          [&d](const sibling& s) { return s.id == *d; });
  FUZZ_CHECK(kept == !token.covers(*d));
}

}  // namespace

TEST_CASE("fuzz: context tokens decode to plausible contexts or an error",
          "[fuzz][context_token]") {
  token_limits limits;
  fuzz::run("context_token", 13001, 750000, context_seeds(), [&](std::string_view bytes) {
    auto context = decode_context(bytes, limits);
    if (!context) return;
    fuzz::accepted();
    check_context(*context, limits);
  });
}

TEST_CASE("fuzz: base64url tokens decode only from their canonical text", "[fuzz][client_token]") {
  std::vector<std::string> seeds;
  for (auto& bytes : context_seeds()) seeds.push_back(kv::encode_token(bytes));
  fuzz::run("client_token", 13002, 600000, seeds, [](std::string_view text) {
    auto bytes = kv::decode_token(text);
    if (!bytes) return;
    fuzz::accepted();
    FUZZ_CHECK(kv::encode_token(*bytes) == text);
    auto context = decode_context(*bytes);
    if (context) check_context(*context, {});
  });
}

TEST_CASE("fuzz: stored objects decode to objects a write and a merge can take",
          "[fuzz][stored_object]") {
  std::vector<std::string> seeds{encode_object({}), encode_object(sample_object())};
  auto big = object::from_parts({{{"n1.kq3x9a1", max_counter - 1}, "x", false, 1}},
                                sample_context(40, max_counter - 50));
  seeds.push_back(encode_object(big));
  fuzz::run("stored_object", 13003, 700000, seeds, [](std::string_view bytes) {
    auto obj = decode_object(bytes);
    if (!obj) return;
    fuzz::accepted();
    auto again = decode_object(encode_object(*obj));
    FUZZ_CHECK(again && *again == *obj);
    check_writable(*obj);
  });
}

TEST_CASE("fuzz: wire objects from peers convert to objects a write and a merge can take",
          "[fuzz][wire_object]") {
  std::vector<std::string> seeds;
  for (auto& obj : {object{}, sample_object()}) {
    msg::Object wire;
    to_proto(obj, wire);
    seeds.push_back(wire.SerializeAsString());
  }
  fuzz::run("wire_object", 13004, 1000000, seeds, [](std::string_view bytes) {
    msg::Object wire;
    if (!wire.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
    auto obj = from_proto(wire);
    if (!obj) return;
    fuzz::accepted();
    msg::Object back;
    to_proto(*obj, back);
    auto again = from_proto(back);
    FUZZ_CHECK(again && *again == *obj);
    check_writable(*obj);
  });
}

}  // namespace kv::storage
