// storage/codec.hpp
// Conversions between the pure causal types (object.hpp, causal_context.hpp) and their
// protobuf forms: the wire format (msg::Object, msg::VersionVector), the stored format
// (msg::StoredObject bytes in the data column family) and the opaque context token clients pass
// back on writes.
// Decoders validate: malformed input is an INVALID_ARGUMENT error, never a crash.
#pragma once

#include <string>
#include <string_view>

#include "caf/expected.hpp"
#include "storage/object.hpp"

namespace kv::msg {
class Object;
class VersionVector;
class Dot;
}  // namespace kv::msg

namespace kv::storage {

void to_proto(const version_vector& vv, msg::VersionVector& out);
void to_proto(const causal_context& context, msg::VersionVector& out);
void to_proto(const dot& d, msg::Dot& out);
void to_proto(const object& obj, msg::Object& out);

// Rejects empty actors, zero counters, duplicate actors and duplicate sibling dots. A client's
// context (the `context` and `seen` of replication messages) may hold exact dots; they are
// normalized (causal_context::from_parts). A stored object's context with exact dots is
// malformed: there, every dot must be part of an entry.
[[nodiscard]] caf::expected<causal_context> from_proto(const msg::VersionVector& in);
[[nodiscard]] caf::expected<object> from_proto(const msg::Object& in);

// Stored form of an object (a serialized msg::StoredObject).
std::string encode_object(const object& obj);
[[nodiscard]] caf::expected<object> decode_object(std::string_view bytes);

// What a context token from a client may hold. A node never hands out a token it would refuse
// (client_context below), so these only stop made-up or damaged tokens.
struct token_limits {
  size_t max_entries = 164;     // entries and exact dots: the node's max_context_entries + the
                                // namespace's max_siblings
  size_t max_actor_bytes = 96;  // a node id (at most 64) + '.' + an epoch in base 36
};

// The causal context token as clients hold it: a serialized msg::VersionVector, its exact
// dots included. An empty token is the empty context (a blind write), and a token from before
// exact dots existed is a context without any. Besides what from_proto rejects, the decoder
// refuses counters at or above max_counter, unknown fields, and tokens past `limits`, naming
// what is wrong; duplicate dots and dots the entries cover are dropped.
std::string encode_context(const causal_context& context);
[[nodiscard]] caf::expected<causal_context> decode_context(std::string_view bytes,
                                                           const token_limits& limits = {});

// The context a client is given for `siblings`, within what decode_context accepts: counters
// past the plausible are lowered to max_counter - 1 (a context damaged before tokens were
// checked still covers every real dot), and past `limits.max_entries` exact dots are dropped
// first (those of `siblings` last), then entries, oldest first, the actors of `siblings` last.
// A token that covers less only makes the client's next write supersede less: it keeps more
// siblings, never loses one.
causal_context client_context(causal_context context, const std::vector<sibling>& siblings,
                              const token_limits& limits);

}  // namespace kv::storage
