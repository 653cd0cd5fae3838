#include "storage/dot_issuer.hpp"

#include <algorithm>
#include <utility>

#include "messages/errc.hpp"

namespace kv::storage {

dot_issuer::dot_issuer(std::string actor, renewal renew)
    : actor_(std::move(actor)), renew_(std::move(renew)) {}

caf::expected<dot_issuer::issued> dot_issuer::issue(const object& current) {
  std::lock_guard<std::mutex> guard{mutex_};
  issued result;
  auto id = next_dot(current, actor_, floor_);
  if (!id) {
    if (!renew_) return make_error(errc::internal, "no new incarnation can be taken here");
    auto renewed = renew_();
    if (!renewed) return renewed.error();
    result.retired = std::exchange(actor_, std::move(*renewed));
    floor_ = 0;
    id = next_dot(current, actor_, floor_);
    if (!id)  // the context names the brand-new actor too: it did not come from this node
      return make_error(errc::internal, "the stored context claims dots of " + actor_ +
                                            ", which no replica has issued yet");
  }
  floor_ = std::max(floor_, id->counter);
  result.id = std::move(*id);
  return result;
}

std::string dot_issuer::actor() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return actor_;
}

}  // namespace kv::storage
