#include "actors/net/http_api.hpp"

#include <algorithm>
#include <cctype>

#include "actors/net/json_text.hpp"
#include "caf/error.hpp"
#include "cluster/level.hpp"
#include "messages/token.hpp"

namespace kv::actors {
namespace {

constexpr std::string_view kv_prefix = "/v1/kv/";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

caf::error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

caf::expected<query_params> parse_query(std::string_view raw) {
  query_params out;
  while (!raw.empty()) {
    auto end = std::min(raw.find('&'), raw.size());
    auto item = raw.substr(0, end);
    raw.remove_prefix(std::min(end + 1, raw.size()));
    if (item.empty()) continue;
    auto eq = std::min(item.find('='), item.size());
    auto name = percent_decode(item.substr(0, eq), true);
    auto value = percent_decode(item.substr(std::min(eq + 1, item.size())), true);
    if (!name || !value) return invalid("malformed percent-escape in the query");
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

resource fixed_resource(std::string_view path) {
  if (path == "/health") return resource::health;
  if (path == "/ready") return resource::ready;
  if (path == "/metrics") return resource::metrics;
  if (path == "/v1/status") return resource::status;
  if (path == "/v1/ring") return resource::ring;
  return resource::none;
}

// Fills ns and key from "{ns}/{key}"; a path without the '/' names nothing.
caf::error parse_kv_path(std::string_view rest, size_t max_key_bytes, http_target& t) {
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return caf::none;
  auto ns = percent_decode(rest.substr(0, slash), false);
  auto key = percent_decode(rest.substr(slash + 1), false);
  if (!ns || !key) return invalid("malformed percent-escape in the path");
  if (ns->empty()) return invalid("empty namespace in /v1/kv/{ns}/{key}");
  if (ns->size() > max_namespace_bytes)
    return invalid("namespace of " + std::to_string(ns->size()) +
                   " bytes: no namespace is longer than " + std::to_string(max_namespace_bytes));
  if (key->empty()) return invalid("empty key");
  if (key->size() > max_key_bytes)
    return make_error(errc::too_large, "key of " + std::to_string(key->size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(max_key_bytes));
  t.what = resource::kv;
  t.ns = std::move(*ns);
  t.key = std::move(*key);
  return caf::none;
}

// A decimal number from 1 to 2^32 - 1.
caf::expected<uint32_t> count_param(const std::string& name, const std::string& text) {
  bool digits = !text.empty() && text.size() <= 10 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  auto value = digits ? std::stoull(text) : 0;
  if (value == 0 || value > UINT32_MAX)
    return invalid(name + " must be a whole number from 1 to 4294967295, not '" + text + "'");
  return static_cast<uint32_t>(value);
}

caf::expected<msg::Level> level_param(const std::string& text) {
  auto lvl = cluster::parse_level(text);
  if (!lvl) return invalid("level must be one, quorum, all or local_quorum, not '" + text + "'");
  switch (*lvl) {
    case cluster::level::one:
      return msg::LEVEL_ONE;
    case cluster::level::quorum:
      return msg::LEVEL_QUORUM;
    case cluster::level::all:
      return msg::LEVEL_ALL;
    case cluster::level::local_quorum:
      return msg::LEVEL_LOCAL_QUORUM;
    case cluster::level::unset:
      break;
  }
  return msg::LEVEL_UNSET;
}

// Sets the option `name` of a kv request from its text.
caf::error set_option(msg::RequestOptions& opts, kv_op op, const std::string& name,
                      const std::string& value) {
  bool reading = op == kv_op::get;
  if (name == "level") {
    auto lvl = level_param(value);
    if (!lvl) return lvl.error();
    opts.set_level(*lvl);
    return caf::none;
  }
  if (name != "timeout_ms" && name != "r" && name != "w")
    return invalid("unknown query parameter '" + name + "' (known: " + (reading ? "r" : "w") +
                   ", level, timeout_ms)");
  if ((name == "r" && !reading) || (name == "w" && reading))
    return invalid(name + " applies to " + (reading ? "PUT and DELETE" : "GET"));
  auto n = count_param(name, value);
  if (!n) return n.error();
  if (name == "timeout_ms")
    opts.set_timeout_ms(*n);
  else if (name == "r")
    opts.set_r(*n);
  else
    opts.set_w(*n);
  return caf::none;
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// False when a media range's parameters hold q=0 ("not acceptable").
bool acceptable(std::string_view params) {
  while (!params.empty()) {
    auto end = std::min(params.find(';'), params.size());
    auto param = lower(trim(params.substr(0, end)));
    params.remove_prefix(std::min(end + 1, params.size()));
    if (param.rfind("q=", 0) == 0) {
      auto q = std::string_view{param}.substr(2);
      return q.find_first_not_of("0.") != std::string_view::npos;
    }
  }
  return true;
}

std::string error_json(errc code, std::string_view message) {
  return "{\"code\":" + json_string(to_string(code)) + ",\"message\":" + json_string(message) + "}";
}

// The token of one `Authorization: Bearer TOKEN` header; the scheme is case-insensitive.
caf::expected<std::string> bearer_token(std::string_view header) {
  auto unauthenticated = [](std::string message) {
    return make_error(errc::unauthenticated, std::move(message));
  };
  header = trim(header);
  auto space = std::min(header.find(' '), header.size());
  if (lower(header.substr(0, space)) != "bearer")
    return unauthenticated("the only Authorization this node takes is Bearer TOKEN");
  auto token = trim(header.substr(space));
  if (token.empty()) return unauthenticated("an empty bearer token");
  return std::string{token};
}

std::string siblings_json(const std::vector<const msg::Sibling*>& live, size_t tombstones,
                          const std::string& token) {
  std::string out = "{\"siblings\":[";
  for (size_t i = 0; i < live.size(); ++i) {
    auto& s = *live[i];
    out += (i ? ",{" : "{") + json_value(s.value());
    out += ",\"timestamp_ms\":" + std::to_string(s.timestamp_ms());
    out += ",\"version\":" + json_string(s.dot().actor() + ":" + std::to_string(s.dot().counter()));
    out += "}";
  }
  out += "],\"tombstones\":" + std::to_string(tombstones);
  out += ",\"context\":" + json_string(token) + "}";
  return out;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += plus_is_space && c == '+' ? ' ' : c;
    }
  }
  return out;
}

caf::expected<http_target> parse_target(std::string_view raw, size_t max_key_bytes) {
  auto mark = std::min(raw.find('?'), raw.size());
  auto path = raw.substr(0, mark);
  http_target t;
  auto query = parse_query(raw.substr(std::min(mark + 1, raw.size())));
  if (!query) return query.error();
  t.query = std::move(*query);
  if (path.rfind(kv_prefix, 0) == 0) {
    if (auto err = parse_kv_path(path.substr(kv_prefix.size()), max_key_bytes, t)) return err;
    return t;
  }
  t.what = fixed_resource(path);
  return t;
}

std::string_view allowed_methods(resource r) {
  return r == resource::kv ? "GET, HEAD, PUT, DELETE" : "GET, HEAD";
}

bool allows(resource r, std::string_view method) {
  if (method == "GET" || method == "HEAD") return r != resource::none;
  return r == resource::kv && (method == "PUT" || method == "DELETE");
}

caf::expected<msg::RequestOptions> kv_options(const http_target& t, kv_op op) {
  msg::RequestOptions opts;
  opts.set_ns(t.ns);
  std::vector<std::string> seen;
  for (auto& [name, value] : t.query) {
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      return invalid("query parameter '" + name + "' given twice");
    seen.push_back(name);
    if (auto err = set_option(opts, op, name, value)) return err;
  }
  return opts;
}

caf::expected<std::string> ring_namespace(const http_target& t) {
  std::optional<std::string> ns;
  for (auto& [name, value] : t.query) {
    if (name != "ns") return invalid("unknown query parameter '" + name + "' (known: ns)");
    if (ns) return invalid("query parameter 'ns' given twice");
    ns = value;
  }
  return ns.value_or("");
}

caf::error no_parameters(const http_target& t) {
  if (t.query.empty()) return caf::none;
  return invalid("unknown query parameter '" + t.query.front().first + "' (this takes none)");
}

caf::expected<std::string> write_context(const std::vector<std::string>& header_values) {
  if (header_values.empty()) return std::string{};
  if (header_values.size() > 1)
    return invalid(std::string{"more than one "} + context_header + " header");
  auto bytes = decode_token(trim(header_values.front()));
  if (!bytes) return invalid(std::string{"malformed context token in "} + context_header);
  return std::move(*bytes);
}

std::chrono::milliseconds wait_bound(const msg::RequestOptions& opts, const http_limits& limits) {
  auto timeout = opts.timeout_ms() == 0 ? limits.default_timeout
                                        : std::chrono::milliseconds{opts.timeout_ms()};
  return std::min(timeout, limits.max_timeout) + wait_slack;
}

bool wants_json(std::string_view accept) {
  while (!accept.empty()) {
    auto end = std::min(accept.find(','), accept.size());
    auto range = accept.substr(0, end);
    accept.remove_prefix(std::min(end + 1, accept.size()));
    auto semi = std::min(range.find(';'), range.size());
    if (lower(trim(range.substr(0, semi))) == "application/json" &&
        acceptable(range.substr(std::min(semi + 1, range.size()))))
      return true;
  }
  return false;
}

std::optional<http_call> call_of(const http_target& t, std::string_view method) {
  if (!allows(t.what, method)) return std::nullopt;
  switch (t.what) {
    case resource::kv:
      if (method == "PUT") return http_call{"put", right::write, t.ns};
      if (method == "DELETE") return http_call{"del", right::write, t.ns};
      return http_call{"get", right::read, t.ns};
    case resource::status:
      return http_call{"status", right::monitor, {}};
    case resource::ring:
      return http_call{"ring", right::monitor, {}};
    case resource::metrics:
      return http_call{"metrics", right::monitor, {}};
    case resource::health:
    case resource::ready:
    case resource::none:
      break;
  }
  return std::nullopt;
}

caf::expected<std::string> http_principal(const acl& rules,
                                          const std::vector<std::string>& authorization,
                                          const std::optional<std::string>& certified) {
  if (authorization.size() > 1)
    return make_error(errc::unauthenticated, "more than one Authorization header");
  if (!authorization.empty()) {
    auto token = bearer_token(authorization.front());
    if (!token) return token.error();
    return rules.authenticate(*token);
  }
  if (certified) return *certified;
  return make_error(errc::unauthenticated,
                    "no credentials: this node checks who calls; present a client certificate "
                    "or a token (Authorization: Bearer TOKEN)");
}

std::optional<std::string> http_denial(const acl& rules, const std::string& principal,
                                       const http_call& call) {
  if (rules.allows(principal, call.need, call.ns)) return std::nullopt;
  return denial_text(principal, call.name, call.need, call.ns);
}

int http_status(errc code) {
  switch (code) {
    case errc::invalid_argument:
      return 400;
    case errc::too_large:
      return 413;
    case errc::unavailable:
      return 503;
    case errc::timeout:
      return 504;
    case errc::not_found:
      return 404;
    case errc::unauthenticated:
      return 401;
    case errc::permission_denied:
      return 403;
    default:
      return 500;
  }
}

http_answer error_answer(errc code, std::string_view message) {
  http_answer a;
  a.status = http_status(code);
  a.content_type = "application/json";
  a.body = error_json(code, message);
  if (code == errc::unavailable) a.headers.emplace_back("Retry-After", "1");
  if (code == errc::unauthenticated) a.headers.emplace_back("WWW-Authenticate", "Bearer");
  return a;
}

http_answer error_answer(const caf::error& err) {
  return error_answer(code_of(err), message_of(err));
}

http_answer method_not_allowed(resource r, std::string_view method) {
  auto a =
      error_answer(errc::invalid_argument, std::string{method} + " is not allowed here (allowed: " +
                                               std::string{allowed_methods(r)} + ")");
  a.status = 405;
  a.headers.emplace_back("Allow", allowed_methods(r));
  return a;
}

http_answer get_answer(const msg::GetReply& reply, bool json) {
  std::vector<const msg::Sibling*> live;
  for (auto& s : reply.siblings())
    if (!s.deleted()) live.push_back(&s);
  auto tombstones = static_cast<size_t>(reply.siblings_size()) - live.size();
  auto token = encode_token(reply.context());
  http_answer a;
  if (live.empty()) {
    a = error_answer(errc::not_found, tombstones > 0 ? "the key was deleted" : "no such key");
    a.body.pop_back();  // the context goes in the body too: a client can write over a delete
    a.body += ",\"context\":" + json_string(token) + "}";
  } else if (live.size() == 1 && !json) {
    a.content_type = "application/octet-stream";
    a.body = live.front()->value();
  } else {
    a.status = live.size() == 1 ? 200 : 300;
    a.content_type = "application/json";
    a.body = siblings_json(live, tombstones, token);
  }
  a.headers.emplace_back(context_header, std::move(token));
  return a;
}

http_answer written_answer(const std::string& context) {
  http_answer a;
  a.status = 204;
  a.headers.emplace_back(context_header, encode_token(context));
  return a;
}

void http_counts::count(int status) {
  auto hundreds = status / 100;
  if (hundreds >= 1 && hundreds <= 5)
    by_class_[static_cast<size_t>(hundreds - 1)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t http_counts::of_class(int hundreds) const {
  if (hundreds < 1 || hundreds > 5) return 0;
  return by_class_[static_cast<size_t>(hundreds - 1)].load(std::memory_order_relaxed);
}

void http_counts::render(std::string& out) const {
  out += "# HELP ringkv_http_responses_total HTTP answers by status class.\n";
  out += "# TYPE ringkv_http_responses_total counter\n";
  for (int c = 1; c <= 5; ++c)
    out += "ringkv_http_responses_total{class=\"" + std::to_string(c) + "xx\"} " +
           std::to_string(of_class(c)) + "\n";
}

}  // namespace kv::actors
