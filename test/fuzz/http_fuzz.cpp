// The HTTP API's decoders of what a client sends (actors/net/http_api.hpp): request targets
// (paths with percent-escapes, query strings), the context header and Accept. And the JSON text
// the endpoint writes from bytes it does not control (keys, values, messages): whatever the
// input, it must stay valid UTF-8 without raw control characters.
#include <catch2/catch.hpp>

#include "actors/net/http_api.hpp"
#include "actors/net/json_text.hpp"
#include "actors/node/acl.hpp"
#include "messages/token.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::actors {
namespace {

constexpr size_t max_key = 64;

void check_target(const http_target& t) {
  if (t.what != resource::kv) return;
  FUZZ_CHECK(!t.ns.empty() && t.ns.size() <= max_namespace_bytes);
  FUZZ_CHECK(!t.key.empty() && t.key.size() <= max_key);
  for (auto op : {kv_op::get, kv_op::put, kv_op::del}) {
    auto opts = kv_options(t, op);
    if (!opts) continue;
    FUZZ_CHECK(opts->ns() == t.ns);
    FUZZ_CHECK(op == kv_op::get ? opts->w() == 0 : opts->r() == 0);
  }
}

void check_json_text(std::string_view in) {
  auto text = json_string(in);
  FUZZ_CHECK(valid_utf8(text));
  FUZZ_CHECK(text.size() >= 2 && text.front() == '"' && text.back() == '"');
  for (unsigned char c : text) FUZZ_CHECK(c >= 0x20);
  auto value = json_value(in);
  FUZZ_CHECK(valid_utf8(value));
  if (!valid_utf8(in)) FUZZ_CHECK(decode_token(value.substr(16, value.size() - 17)) == in);
}

}  // namespace

TEST_CASE(
    "fuzz: HTTP targets, context headers and Accept decode or are refused; JSON text "
    "stays valid",
    "[fuzz][http_request]") {
  std::vector<std::string> seeds{"/v1/kv/default/a%2Fb%00%0A?w=2&level=all&timeout_ms=100",
                                 "/v1/kv/users/a/b/c?r=1&r=2&x",
                                 "/v1/ring?ns=default&ns=other",
                                 "/v1/status?verbose=%zz",
                                 "/health",
                                 encode_token("\x0a\x16\x0a\x0bn1.mwqvfa5o\x10\x01\x18\xfd\x9b"),
                                 "text/html, application/json;q=0.9, */*;q=0",
                                 "caf\xc3\xa9 \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\x80 \x01\"\\"};
  fuzz::run("http_request", 13701, 300000, seeds, [](std::string_view in) {
    auto t = parse_target(in, max_key);
    if (t) {
      fuzz::accepted();
      check_target(*t);
      static_cast<void>(ring_namespace(*t));  // ignored: only its not crashing counts
      static_cast<void>(no_parameters(*t));   // ignored: likewise
    }
    auto context = write_context({std::string{in}});
    if (context) FUZZ_CHECK(context->size() <= in.size());
    static_cast<void>(wants_json(in));  // ignored: only its not crashing counts
    check_json_text(in);
  });
}

TEST_CASE("fuzz: Authorization headers name a known principal or are refused UNAUTHENTICATED",
          "[fuzz][http_credentials]") {
  auto rules = acl::parse(
      "[principal.app]\nread = [\"default\"]\ntokens = [\"" + acl::token_digest("s3cret") + "\"]\n",
      "fuzz");
  REQUIRE(rules);
  std::vector<std::string> seeds{"Bearer s3cret",
                                 "bearer s3cret",
                                 "Bearer  s3cret ",
                                 "Basic YXBwOnMzY3JldA==",
                                 "Bearer " + std::string(1100, 'x'),
                                 "Bearer",
                                 ""};
  fuzz::run("http_credentials", 13702, 200000, seeds, [&](std::string_view in) {
    // One header, two headers (the input split at a newline), and with a certificate.
    std::vector<std::string> headers{std::string{in}};
    if (auto nl = in.find('\n'); nl != std::string_view::npos)
      headers = {std::string{in.substr(0, nl)}, std::string{in.substr(nl + 1)}};
    for (auto& certified : {std::optional<std::string>{}, std::optional<std::string>{"cn"}}) {
      auto who = http_principal(*rules, headers, certified);
      if (!who) {
        FUZZ_CHECK(code_of(who.error()) == errc::unauthenticated);
        continue;
      }
      fuzz::accepted();
      FUZZ_CHECK(*who == "app" || (certified && *who == *certified));
      FUZZ_CHECK(headers.size() == 1);
    }
  });
}

}  // namespace kv::actors
