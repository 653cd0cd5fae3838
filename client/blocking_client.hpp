// client/blocking_client.hpp
// A blocking facade over the client actor, for plain C++ code: no CAF in sight. Each call
// waits for its answer, which always comes: the result, or a typed error no later than the
// request's deadline plus the configured grace period. Thread-safe; calls from several threads
// run concurrently over one connection.
//
//   kv::client::blocking_client db;  // 127.0.0.1:7101; or pass a client_config
//   auto got = db.get("user:1");
//   if (!got) std::cerr << got.error().describe() << "\n";
//   else if (got->found()) db.put("user:1", resolve(got->siblings), {}, got->context);
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "client/options.hpp"

namespace kv::msg {
class StatusReply;
class RingReply;
class ExplainReply;
class Member;
class TransfersReply;
class RepairStatusReply;
class HintsReply;
class CompactionReply;
}  // namespace kv::msg

namespace kv::client {

class blocking_client {
 public:
  explicit blocking_client(client_config cfg = {});
  ~blocking_client();

  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  // Stores `value`; `context` (from a get) makes it supersede exactly what that get returned.
  // Returns the context covering this write.
  result<std::string> put(std::string_view key, std::string_view value,
                          const request_options& opts = {}, std::string_view context = {});

  // Every sibling of `key` and the context to write back with. Not found is a result whose
  // found() is false, not an error.
  result<get_result> get(std::string_view key, const request_options& opts = {});

  // Writes a tombstone, with the same context rules as put.
  result<std::string> del(std::string_view key, const request_options& opts = {},
                          std::string_view context = {});

  result<msg::StatusReply> status();

  // The placement as the node computes it; replicas counted with namespace `ns`'s n.
  result<msg::RingReply> ring(std::string_view ns = {});

  // What every replica of `key` holds, each asked directly.
  // `everywhere`: every member, not only the preference list (copies left elsewhere).
  result<msg::ExplainReply> explain(std::string_view key, const request_options& opts = {},
                                    bool everywhere = false);

  // Admin: makes the actor registered as `role` on the node fail on purpose.
  result<std::string> fail_actor(std::string_view role, std::string_view reason = {});

  // Takes member `id` out of the cluster for good (kvctl remove); `force` even if it is not
  // down. Returns its row as the node now holds it.
  result<msg::Member> remove_member(std::string_view id, bool force = false);

  // The node asked hands its partitions off and stops (kvctl leave). Returns its row.
  result<msg::Member> leave();

  // The partitions the node is sending to new holders (kvctl transfers).
  result<msg::TransfersReply> transfers();

  // What the node's anti-entropy, hint store and compaction did (kvctl repair-status, hints,
  // compaction).
  result<msg::RepairStatusReply> repair_status();
  result<msg::HintsReply> hints();
  result<msg::CompactionReply> compaction();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kv::client
