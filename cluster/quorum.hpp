// cluster/quorum.hpp
// Counts the outcomes of one request's replica calls and says when it is decided: succeeded
// once `required` replicas answered, failed once so many failed that `required` can no longer
// be reached. Pure logic; the put and get FSMs hold one each.
#pragma once

#include <cstdint>

namespace kv::cluster {

class quorum {
 public:
  enum class state : uint8_t { pending, succeeded, failed };

  quorum(uint32_t targets, uint32_t required) : targets_(targets), required_(required) {}

  state succeed() {
    ++successes_;
    return current();
  }
  state fail() {
    ++failures_;
    return current();
  }

  state current() const {
    if (successes_ >= required_) return state::succeeded;
    if (targets_ < required_ + failures_) return state::failed;
    return state::pending;
  }

  bool all_answered() const { return successes_ + failures_ >= targets_; }
  uint32_t successes() const { return successes_; }
  uint32_t failures() const { return failures_; }
  uint32_t targets() const { return targets_; }
  uint32_t required() const { return required_; }

 private:
  uint32_t targets_;
  uint32_t required_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
};

}  // namespace kv::cluster
