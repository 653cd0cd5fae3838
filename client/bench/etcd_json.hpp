// client/bench/etcd_json.hpp
// The JSON of etcd v3's gRPC gateway as far as kvbench's etcd driver needs it: request bodies
// of /v3/kv/put and /v3/kv/range, and what a reply says (found, not found, or an error code).
// Keys and values travel as standard base64 with padding: the gateway decodes bytes with Go's
// base64.StdEncoding and refuses unpadded or URL-safe text ("illegal base64 data"), so
// client/token.hpp's unpadded base64url does not do. Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kv::bench::etcd {

// RFC 4648 section 4: alphabet A-Z a-z 0-9 + /, padded with '=' to a multiple of 4.
std::string base64(std::string_view bytes);

// {"key":"<base64>","value":"<base64>"}
std::string put_body(std::string_view key, std::string_view value);

// {"key":"<base64>"}: one key, linearizable (etcd's default; "serializable" is not set).
std::string range_body(std::string_view key);

// The JSON text of the value of top-level field `name` in the object `json`; nullopt when the
// field is absent or `json` is not a well-formed object.
std::optional<std::string_view> field(std::string_view json, std::string_view name);

// The value of a JSON string (its raw text, quotes included), escapes resolved; nullopt when
// `raw` is not a string.
std::optional<std::string> string_value(std::string_view raw);

// What one gateway reply means for the operation it answers.
struct verdict {
  std::string code;     // empty: success; else NOT_FOUND, HTTP_<status>, ETCD_ERROR, PROTOCOL
  std::string message;  // etcd's error message, or what was wrong, when code is not empty
};

// A put succeeds on 200 with a reply object; a range also needs a non-empty "kvs" array, or
// it is NOT_FOUND. Another status is HTTP_<status>; a 200 carrying "error" is ETCD_ERROR.
verdict judge(int http_status, std::string_view body, bool is_read);

}  // namespace kv::bench::etcd
