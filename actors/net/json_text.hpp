// actors/net/json_text.hpp
// JSON text for the HTTP API (actors/net/http_api.hpp): string literals that are valid JSON
// whatever bytes they are given, the UTF-8 check that decides whether a value travels as text,
// and protobuf messages rendered the way `kvctl --json` renders them. Pure: no I/O, no actors.
#pragma once

#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace kv::actors {

// True when `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence.
bool valid_utf8(std::string_view s);

// `s` as a JSON string literal, quotes included. `"`, `\` and control characters are escaped;
// bytes that are not part of well-formed UTF-8 become U+FFFD, so the result is always valid
// JSON. Callers that must not lose bytes check valid_utf8 first (see json_value).
std::string json_string(std::string_view s);

// A field carrying arbitrary bytes: `"value":"..."` when they are UTF-8, else
// `"value_base64":"..."` in unpadded base64url (RFC 4648 section 5, the alphabet of context
// tokens), exactly as `kvctl --json get` prints values.
std::string json_value(std::string_view bytes);

// `m` as one line of JSON with every field (zeros included) under its proto name; 64-bit
// integers are strings and enums their names (the proto3 JSON mapping). Fails INTERNAL only if
// protobuf refuses the message.
caf::expected<std::string> proto_json(const google::protobuf::Message& m);

}  // namespace kv::actors
