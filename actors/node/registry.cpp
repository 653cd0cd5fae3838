#include "actors/node/registry.hpp"

#include <mutex>

namespace kv::actors {

void registry::put(const std::string& role, caf::strong_actor_ptr actor) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  actors_[role] = std::move(actor);
}

void registry::erase(const std::string& role, const caf::strong_actor_ptr& actor) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = actors_.find(role);
  if (i != actors_.end() && i->second == actor) actors_.erase(i);
}

void registry::clear() {
  std::map<std::string, caf::strong_actor_ptr> released;
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    released.swap(actors_);
  }
}

caf::strong_actor_ptr registry::get(const std::string& role) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = actors_.find(role);
  return i == actors_.end() ? nullptr : i->second;
}

std::vector<std::string> registry::roles() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  std::vector<std::string> result;
  for (auto& [role, actor] : actors_) result.push_back(role);
  return result;
}

std::string replica_role(uint32_t index) {
  return "replica." + std::to_string(index);
}

}  // namespace kv::actors
