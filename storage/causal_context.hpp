// storage/causal_context.hpp
// What a client has seen of one key: a version vector, plus exact dots beyond it. Pure logic:
// no CAF, no I/O, no protobuf.
//
// A get hands out the stored context, a plain version vector. A write hands back its client's
// context plus the new version's dot (apply_write in object.hpp), and that dot is kept exact
// when a vector entry (actor, c), which stands for events 1..c, would also cover a concurrent
// sibling the client was never shown. Exact dots live only in client context tokens and in the
// replication messages that carry them; a stored object's context is always a plain vector.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "storage/version_vector.hpp"

namespace kv::storage {

class causal_context {
 public:
  causal_context() = default;

  // A version vector is a context without exact dots: what a get hands out, and what every
  // context token was before exact dots existed. Implicit on purpose, for that reason.
  causal_context(version_vector vv) : vv_(std::move(vv)) {}

  // Normalizes: dots sorted, one of each, and those `vv` covers (or with a zero counter)
  // dropped.
  static causal_context from_parts(version_vector vv, std::vector<dot> dots);

  // Events 1..c of each actor.
  const version_vector& vv() const { return vv_; }

  // Single events beyond vv(): sorted, unique, none covered by vv().
  const std::vector<dot>& dots() const { return dots_; }

  bool empty() const { return vv_.empty() && dots_.empty(); }

  // Entries and exact dots together: what the limits on a context token count.
  size_t size() const { return vv_.size() + dots_.size(); }

  // True when the event `d` is in what this context has seen.
  bool covers(const dot& d) const;

  // True when this context covers every event `other` covers.
  bool descends(const causal_context& other) const;

  // Joins `other` in: afterwards this context covers every event either covered. A client that
  // holds the replies of two operations on one key has seen what both did.
  void merge(const causal_context& other);

  friend bool operator==(const causal_context& a, const causal_context& b) {
    return a.vv_ == b.vv_ && a.dots_ == b.dots_;
  }
  friend bool operator!=(const causal_context& a, const causal_context& b) { return !(a == b); }

 private:
  version_vector vv_;
  std::vector<dot> dots_;
};

// "{n1.kq3x9a1:3} + [n2.kq3xb00:5]"; a context without exact dots prints as its vector.
std::string to_string(const causal_context& context);

}  // namespace kv::storage
