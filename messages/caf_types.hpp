// messages/caf_types.hpp
// The single place where ringkv's messages meet CAF: one generic `inspect` serves every
// protobuf message (serialized bytes inside a CAF frame), and register_types() adds every
// message type under its protobuf full name. Every node, client and test calls
// register_types() on its actor_system_config, so all processes agree on the names.
// Any file that sends protobuf messages through CAF must include this header.
//
// Bytes from the network are parsed by parse_untrusted: a batch message (is_batch) is
// pre-scanned first and refused whole, unparsed, past max_batch_items (wire_limits.hpp). A
// refused message fails its deserialization, so CAF's BASP drops it; every refusal is counted
// in messages_refused().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include <google/protobuf/message.h>

#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/sec.hpp"

namespace kv::msg {

class ReplicaBatch;
class ReplicaResults;

// The messages made of items (calls or results, and pieces), which max_batch_items bounds.
template <class T>
inline constexpr bool is_batch = false;
template <>
inline constexpr bool is_batch<ReplicaBatch> = true;
template <>
inline constexpr bool is_batch<ReplicaResults> = true;

}  // namespace kv::msg

namespace kv {

// Whether `bytes` holds at most `limit` top-level fields, read with protobuf's own tag and
// field skipping and nothing parsed. Every field counts, not only the batch's items: a field
// the receiver does not know costs as much to keep as an item, and a batch holds nothing else.
// False too for bytes that are not a protobuf message.
[[nodiscard]] bool within_field_limit(std::string_view bytes, size_t limit);

// Parses `bytes` from the network into `x`: a batch (`batch`) only if within_field_limit of
// max_batch_items. An error, counted in messages_refused(), if not or if `bytes` do not parse.
[[nodiscard]] caf::error parse_untrusted(google::protobuf::MessageLite& x, const std::string& bytes,
                                         bool batch);

// Messages parse_untrusted refused since the process started (GET /metrics:
// ringkv_messages_refused_total).
uint64_t messages_refused();

}  // namespace kv

namespace kv::msg {

// Found by ADL for every generated message (they live in kv::msg).
template <class Inspector, class T>
std::enable_if_t<std::is_base_of_v<google::protobuf::MessageLite, T>,
                 typename Inspector::result_type>
inspect(Inspector& f, T& x) {
  std::string buf;
  if constexpr (Inspector::reads_state) {
    x.SerializeToString(&buf);
    return f(caf::meta::type_name("protobuf"), buf);
  } else {
    return f(caf::meta::type_name("protobuf"), buf,
             caf::meta::load_callback([&] { return parse_untrusted(x, buf, is_batch<T>); }));
  }
}

// Readable logs and deep_to_string output.
template <class T>
std::enable_if_t<std::is_base_of_v<google::protobuf::Message, T>, std::string> to_string(
    const T& x) {
  return x.GetTypeName() + "{" + x.ShortDebugString() + "}";
}

}  // namespace kv::msg

namespace kv {

// Registers every message type and the "kv" error category.
void register_types(caf::actor_system_config& cfg);

}  // namespace kv
