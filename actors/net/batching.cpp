#include "actors/net/batching.hpp"

#include "messages/errc.hpp"

namespace kv::actors {

caf::expected<std::optional<std::string>> assembler::add(uint64_t source, const msg::Piece& piece) {
  auto key = std::make_pair(source, piece.id());
  auto i = partials_.find(key);
  auto fail = [&](errc code, std::string text) -> caf::error {
    if (i != partials_.end()) {
      held_ -= i->second.total;
      partials_.erase(i);
    }
    return make_error(code, "message " + std::to_string(piece.id()) + " in pieces: " + text);
  };
  if (i == partials_.end()) {
    if (piece.total() == 0 || piece.data().empty())
      return fail(errc::invalid_argument, "an empty piece");
    if (piece.total() > budget_ - held_)
      return fail(errc::too_large, "its " + std::to_string(piece.total()) +
                                       " bytes would take the messages being received past " +
                                       std::to_string(budget_) + " bytes (max_peer_message_bytes)");
    i = partials_.emplace(key, partial{piece.total(), {}}).first;
    held_ += piece.total();
  }
  auto& p = i->second;
  if (piece.total() != p.total) return fail(errc::invalid_argument, "pieces of different sizes");
  if (piece.data().empty() || piece.data().size() > p.total - p.bytes.size())
    return fail(errc::invalid_argument, "more bytes than announced");
  p.bytes += piece.data();
  if (p.bytes.size() < p.total) return std::optional<std::string>{};
  auto whole = std::move(p.bytes);
  held_ -= p.total;
  partials_.erase(i);
  return std::optional<std::string>{std::move(whole)};
}

void assembler::drop(uint64_t source) {
  for (auto i = partials_.begin(); i != partials_.end();) {
    if (i->first.first == source) {
      held_ -= i->second.total;
      i = partials_.erase(i);
    } else {
      ++i;
    }
  }
}

msg::Error to_wire(const caf::error& err) {
  msg::Error result;
  result.set_code(static_cast<msg::ErrorCode>(code_of(err)));
  result.set_message(message_of(err));
  return result;
}

caf::error from_wire(const msg::Error& err) {
  bool known = err.code() != msg::ERR_NONE && msg::ErrorCode_IsValid(err.code());
  return make_error(known ? static_cast<errc>(err.code()) : errc::internal, err.message());
}

}  // namespace kv::actors
