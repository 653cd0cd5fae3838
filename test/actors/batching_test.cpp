#include "actors/net/batching.hpp"

#include <catch2/catch.hpp>

#include "messages/errc.hpp"

using namespace kv;
using namespace kv::actors;

TEST_CASE("a call larger than a batch travels in pieces of a batch each and comes back whole",
          "[batching]") {
  std::string whole(max_piece_bytes * 2 + 17, 'x');
  whole[max_piece_bytes] = 'y';
  outgoing<msg::ReplicaBatch> out;
  std::vector<msg::ReplicaBatch> sent;
  queue_pieces(out, 7, whole, [&](msg::ReplicaBatch b) { sent.push_back(std::move(b)); });
  CHECK(sent.size() == 2);  // the third piece waits for the next flush
  sent.push_back(out.take());
  assembler in{whole.size()};
  std::optional<std::string> result;
  for (auto& batch : sent) {
    REQUIRE(batch.pieces_size() == 1);
    CHECK(batch.ByteSizeLong() < max_piece_bytes + 64);
    auto got = in.add(1, batch.pieces(0));
    REQUIRE(got);
    if (*got) result = std::move(**got);
  }
  REQUIRE(result);
  CHECK(*result == whole);
  CHECK(in.held() == 0);
}

TEST_CASE("what a sender announces in pieces is bounded by the receiver's budget", "[batching]") {
  assembler in{1000};
  msg::Piece big;
  big.set_id(1);
  big.set_total(2000);
  big.set_data("abc");
  auto refused = in.add(1, big);
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::too_large);

  msg::Piece first = big;
  first.set_total(600);
  REQUIRE(in.add(1, first));
  CHECK(in.held() == 600);
  msg::Piece second = first;
  second.set_id(2);
  CHECK_FALSE(in.add(1, second));  // 1200 announced in all
  CHECK(in.add(2, [&] {            // another sender shares the same budget
    auto p = first;
    p.set_id(3);
    p.set_total(400);
    return p;
  }()));
  CHECK(in.held() == 1000);
  in.drop(1);
  CHECK(in.held() == 400);
}

TEST_CASE("pieces that cannot belong together drop their whole", "[batching]") {
  assembler in{1 << 20};
  msg::Piece p;
  p.set_id(5);
  p.set_total(10);
  p.set_data("12345");
  REQUIRE(in.add(1, p));
  SECTION("another total") {
    auto q = p;
    q.set_total(11);
    auto r = in.add(1, q);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
  SECTION("more bytes than announced") {
    auto q = p;
    q.set_data("123456");
    CHECK_FALSE(in.add(1, q));
  }
  SECTION("an empty piece") {
    auto q = p;
    q.clear_data();
    CHECK_FALSE(in.add(1, q));
  }
  CHECK(in.held() == 0);
}

TEST_CASE("every error code the wire carries comes back as itself", "[batching]") {
  // from_wire once knew only the codes up to INTERNAL: a PERMISSION_DENIED read as INTERNAL,
  // and kvctl exited 5 instead of 6.
  for (auto code : {kv::errc::invalid_argument, kv::errc::too_large, kv::errc::unavailable,
                    kv::errc::timeout, kv::errc::not_found, kv::errc::unauthenticated,
                    kv::errc::internal, kv::errc::permission_denied}) {
    auto back = kv::actors::from_wire(kv::actors::to_wire(kv::make_error(code, "why")));
    CHECK(kv::code_of(back) == code);
    CHECK(kv::message_of(back) == "why");
  }
  kv::msg::Error unknown;
  unknown.set_code(static_cast<kv::msg::ErrorCode>(200));
  CHECK(kv::code_of(kv::actors::from_wire(unknown)) == kv::errc::internal);
}

TEST_CASE("the batches taken and the items they held are counted, empty takes not", "[batching]") {
  batch_counters counts;
  outgoing<msg::ReplicaBatch> out{&counts};
  for (int i = 0; i < 3; ++i) out.next(10).add_calls()->set_id(i);
  CHECK(out.take().calls_size() == 3);
  static_cast<void>(out.take());  // nothing queued: nothing sent, nothing counted
  out.next(10).add_calls()->set_id(9);
  static_cast<void>(out.take());
  CHECK(counts.batches.load() == 2);
  CHECK(counts.items.load() == 4);
  node_metrics metrics;
  metrics.calls_out.batches = 2;
  metrics.calls_out.items = 7;
  std::string text;
  metrics.render(text);
  CHECK_THAT(text, Catch::Contains("ringkv_peer_batches_total{kind=\"calls\"} 2\n") &&
                       Catch::Contains("ringkv_peer_batch_items_total{kind=\"calls\"} 7\n") &&
                       Catch::Contains("ringkv_peer_batch_items_total{kind=\"results\"} 0\n"));
}
