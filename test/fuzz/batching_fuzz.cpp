// The piece assembler of the port, fed the pieces of mutated batches from several senders:
// what it holds never passes its budget, a whole it returns has the size its pieces announced,
// and dropping every sender releases everything.
#include <catch2/catch.hpp>

#include "actors/net/batching.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::actors {
namespace {

constexpr uint64_t budget = 64 * 1024;
constexpr uint64_t senders = 3;

// A batch carrying `wholes` (id -> size) in pieces of `piece` bytes, interleaved.
std::string pieces_of(std::vector<std::pair<uint64_t, size_t>> wholes, size_t piece) {
  msg::ReplicaBatch batch;
  for (size_t at = 0;; at += piece) {
    bool any = false;
    for (auto& [id, size] : wholes) {
      if (at >= size) continue;
      any = true;
      auto& p = *batch.add_pieces();
      p.set_id(id);
      p.set_total(size);
      p.set_data(std::string(std::min(piece, size - at), char('a' + id % 26)));
    }
    if (!any) break;
  }
  return batch.SerializeAsString();
}

// The sender of a piece: the id's high bits, so mutations move pieces between senders.
uint64_t sender_of(const msg::Piece& p) {
  return 1 + (p.id() >> 8) % senders;
}

}  // namespace

TEST_CASE("fuzz: the piece assembler stays within its budget and puts wholes together whole",
          "[fuzz][assembler]") {
  std::vector<std::string> seeds{
      pieces_of({{1, 100}}, 30), pieces_of({{1, 1000}, {2, 10}, {0x105, 4000}}, 512),
      pieces_of({{7, budget}}, 8192), pieces_of({{1, budget / 2}, {0x201, budget / 2 + 1}}, 4096)};
  fuzz::run("assembler", 13401, 150000, seeds, [](std::string_view bytes) {
    msg::ReplicaBatch batch;
    if (!batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
    assembler pieces{budget};
    for (auto& p : batch.pieces()) {
      // A piece whose data starts with '!' also stands for its sender going away after it.
      auto whole = pieces.add(sender_of(p), p);
      FUZZ_CHECK(pieces.held() <= budget);
      if (whole && *whole) {
        FUZZ_CHECK((*whole)->size() == p.total());
        fuzz::accepted();
      }
      if (!p.data().empty() && p.data()[0] == '!') pieces.drop(sender_of(p));
    }
    for (uint64_t s = 1; s <= senders; ++s) pieces.drop(s);
    FUZZ_CHECK(pieces.held() == 0);
  });
}

}  // namespace kv::actors
