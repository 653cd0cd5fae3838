// storage/codec.hpp
// Conversions between the pure causal types (object.hpp) and their protobuf forms: the wire
// format (msg::Object, msg::VersionVector), the stored format (msg::StoredObject bytes in the
// data column family) and the opaque context token clients pass back on writes.
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
void to_proto(const dot& d, msg::Dot& out);
void to_proto(const object& obj, msg::Object& out);

// Rejects empty actors, zero counters, duplicate actors and duplicate sibling dots.
[[nodiscard]] caf::expected<version_vector> from_proto(const msg::VersionVector& in);
[[nodiscard]] caf::expected<object> from_proto(const msg::Object& in);

// Stored form of an object (a serialized msg::StoredObject).
std::string encode_object(const object& obj);
[[nodiscard]] caf::expected<object> decode_object(std::string_view bytes);

// The causal context token as clients hold it: a serialized msg::VersionVector. An empty
// token is the empty context (a blind write).
std::string encode_context(const version_vector& vv);
[[nodiscard]] caf::expected<version_vector> decode_context(std::string_view bytes);

}  // namespace kv::storage
