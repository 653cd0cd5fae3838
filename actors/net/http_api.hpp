// actors/net/http_api.hpp
// The HTTP API's pure half (docs/http.md): what a request target, its query and its headers
// mean, who its credentials name and what the ACL lets them do, and what each answer says:
// status, headers and body. No socket, no actor, no httplib:
// actors/net/http.cpp feeds requests in and writes the answers out, and the unit tests drive
// these functions directly.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/node/acl.hpp"
#include "caf/expected.hpp"
#include "messages/client.pb.h"
#include "messages/errc.hpp"

namespace kv::actors {

// Carries a causal context token (messages/token.hpp) on answers and on writes.
inline constexpr const char* context_header = "X-Ringkv-Context";

// The bounds the endpoint applies before it asks any actor.
struct http_limits {
  size_t max_key_bytes = 1024;              // a longer key answers 413 (the node's max_key_bytes)
  size_t max_body_bytes = size_t{1} << 20;  // a longer body answers 413 unread (max_value_bytes)
  std::chrono::milliseconds default_timeout{5000};  // a request without timeout_ms
  std::chrono::milliseconds max_timeout{60000};     // the coordinator refuses longer ones
};

// Names in a namespace segment of a path are at most this long; no namespace is longer.
inline constexpr size_t max_namespace_bytes = 256;

// What a request target names.
enum class resource { none, health, ready, metrics, status, ring, kv };

using query_params = std::vector<std::pair<std::string, std::string>>;

struct http_target {
  resource what = resource::none;
  std::string ns;      // kv: the namespace, percent-decoded
  std::string key;     // kv: the key, percent-decoded: any bytes, '/' included
  query_params query;  // percent-decoded ('+' is a space), in order, duplicates kept
};

// Decodes %XX escapes; with `plus_is_space` (query strings) '+' is a space. nullopt when a '%'
// is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// Parses the raw target of a request line ("/v1/kv/default/a%2Fb?w=2"), never the decoded path:
// a key may hold '/', '?', '%' or NUL when escaped. Unknown paths give resource::none (not an
// error). INVALID_ARGUMENT for a malformed escape, an empty namespace or key; TOO_LARGE for a
// key over `max_key_bytes`.
caf::expected<http_target> parse_target(std::string_view raw, size_t max_key_bytes);

// "GET, HEAD" or "GET, HEAD, PUT, DELETE": the Allow header of a 405 answer.
std::string_view allowed_methods(resource r);
bool allows(resource r, std::string_view method);

enum class kv_op { get, put, del };

// A kv request's options from its query: `r` (GET only), `w` (PUT and DELETE only), `level`
// (one, quorum, all, local_quorum) and `timeout_ms`, each at most once, numbers decimal and at
// least 1. Anything else is INVALID_ARGUMENT, as is a number past 2^32 - 1; whether r and w fit
// the namespace is the coordinator's to say.
caf::expected<msg::RequestOptions> kv_options(const http_target& t, kv_op op);

// GET /v1/ring's namespace (`?ns=`, default when absent); INVALID_ARGUMENT for anything else.
caf::expected<std::string> ring_namespace(const http_target& t);

// INVALID_ARGUMENT when a resource that takes no parameters was given some.
caf::error no_parameters(const http_target& t);

// The context of a write: no header is no context (a blind write); one header is decoded;
// several, or a token that is not unpadded base64url, are INVALID_ARGUMENT.
caf::expected<std::string> write_context(const std::vector<std::string>& header_values);

// How long the endpoint waits for the coordinator: the request's deadline (at most
// max_timeout) plus a little, so that the coordinator's own TIMEOUT, which says how many
// replicas answered, arrives first.
std::chrono::milliseconds wait_bound(const msg::RequestOptions& opts, const http_limits& limits);
inline constexpr std::chrono::milliseconds wait_slack{500};

// True when an Accept header lists application/json (with a q above 0).
bool wants_json(std::string_view accept);

struct http_answer {
  int status = 200;
  std::string content_type;  // empty when there is no body
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Who calls and what they may do, when the node has an ACL (docs/security.md). The endpoint
// asks before it reads a body or asks any actor, with the rules of the binary doors
// (actors/net/client_port.cpp): the same rights, the same call names, the same messages.

// What a request asks in the ACL's terms: the call as the binary doors name it (get, put, del,
// status, ring, metrics), the right it needs, and for get, put and del the namespace.
struct http_call {
  const char* name = "";
  right need = right::admin;
  std::string ns;
};

// The call `method` on `t` makes. nullopt for the probes (/health, /ready: load balancers call
// them without credentials) and for a target or method that the endpoint refuses anyway.
std::optional<http_call> call_of(const http_target& t, std::string_view method);

// The principal a request's credentials name: the owner of the token in its
// `Authorization: Bearer TOKEN` header (`authorization` holds every such header's value), else
// `certified`, the CN of the connection's client certificate. UNAUTHENTICATED, with a message
// that says what is wrong, for no credentials, more than one Authorization header, a scheme
// other than Bearer, a token longer than max_token_bytes, or a token the ACL does not know.
caf::expected<std::string> http_principal(const acl& rules,
                                          const std::vector<std::string>& authorization,
                                          const std::optional<std::string>& certified);

// Why `principal` may not make `call` (acl::denial_text's words), or nullopt when it may.
std::optional<std::string> http_denial(const acl& rules, const std::string& principal,
                                       const http_call& call);

// INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, TOO_LARGE
// 413, UNAVAILABLE 503, TIMEOUT 504, anything else (INTERNAL) 500.
int http_status(errc code);

// {"code":"UNAVAILABLE","message":"..."} with the status of `code`; UNAVAILABLE adds
// Retry-After: 1, UNAUTHENTICATED adds WWW-Authenticate: Bearer (RFC 6750).
http_answer error_answer(errc code, std::string_view message);
http_answer error_answer(const caf::error& err);

// 405 with an Allow header.
http_answer method_not_allowed(resource r, std::string_view method);

// A GET's answer. Tombstones are not live and never listed. With one live sibling: 200 and its
// raw bytes (application/octet-stream), or the JSON form when `json`. With several: 300 and the
// JSON form {"siblings":[{"value"|"value_base64", "timestamp_ms", "version"}...],
// "tombstones":N,"context":"TOKEN"}. With none: 404 NOT_FOUND, with the context in the body too.
// Every one carries the context header.
http_answer get_answer(const msg::GetReply& reply, bool json);

// A PUT's or DELETE's answer: 204 and the context header.
http_answer written_answer(const std::string& context);

// Answers by status class (1xx..5xx), for /metrics.
class http_counts {
 public:
  void count(int status);
  uint64_t of_class(int hundreds) const;
  // Appends ringkv_http_responses_total{class="2xx"} ... in the Prometheus text format.
  void render(std::string& out) const;

 private:
  std::array<std::atomic<uint64_t>, 5> by_class_{};
};

}  // namespace kv::actors
