#include <catch2/catch.hpp>

#include <string>

#include "actors/net/http_api.hpp"
#include "caf/error.hpp"
#include "messages/token.hpp"

using namespace kv::actors;
using namespace std::string_literals;
using kv::errc;
using std::chrono::milliseconds;

namespace {

std::string header(const http_answer& a, const std::string& name) {
  for (auto& [k, v] : a.headers)
    if (k == name) return v;
  return "(none)";
}

kv::msg::Sibling sibling(std::string value, bool deleted = false, uint64_t counter = 1) {
  kv::msg::Sibling s;
  s.set_value(std::move(value));
  s.set_deleted(deleted);
  s.set_timestamp_ms(1700000000000);
  s.mutable_dot()->set_actor("n1.abc");
  s.mutable_dot()->set_counter(counter);
  return s;
}

kv::msg::GetReply reply_of(std::vector<kv::msg::Sibling> siblings, std::string context) {
  kv::msg::GetReply r;
  for (auto& s : siblings) *r.add_siblings() = std::move(s);
  r.set_context(std::move(context));
  return r;
}

http_target target(std::string_view raw) {
  auto t = parse_target(raw, 1024);
  REQUIRE(t);
  return *t;
}

errc error_of(std::string_view raw, size_t max_key = 1024) {
  auto t = parse_target(raw, max_key);
  REQUIRE_FALSE(t);
  return kv::code_of(t.error());
}

}  // namespace

TEST_CASE("percent-decoding is strict and binary-safe", "[http]") {
  CHECK(percent_decode("a%2Fb%00c%ff", false) == "a/b\0c\xff"s);
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("a+b%2B", true) == "a b+");
  CHECK(percent_decode("%41%4a%4A", false) == "AJJ");
  CHECK_FALSE(percent_decode("%", false));
  CHECK_FALSE(percent_decode("%4", false));
  CHECK_FALSE(percent_decode("abc%zz", false));
  CHECK_FALSE(percent_decode("%g0", false));
}

TEST_CASE("kv targets name a namespace and a percent-decoded key", "[http]") {
  auto t = target("/v1/kv/default/a%2Fb%00%0A?w=2&level=all");
  CHECK(t.what == resource::kv);
  CHECK(t.ns == "default");
  CHECK(t.key == "a/b\0\n"s);
  REQUIRE(t.query.size() == 2);
  CHECK(t.query[0] == std::pair<std::string, std::string>{"w", "2"});
  CHECK(t.query[1] == std::pair<std::string, std::string>{"level", "all"});

  SECTION("a key may hold slashes as they are") {
    auto u = target("/v1/kv/users/a/b/c");
    CHECK(u.ns == "users");
    CHECK(u.key == "a/b/c");
  }
  SECTION("'+' in a path is a plus") {
    CHECK(target("/v1/kv/default/a+b").key == "a+b");
  }
  SECTION("empty query items are skipped, a name without '=' has an empty value") {
    auto q = target("/v1/kv/default/k?&r&").query;
    REQUIRE(q.size() == 1);
    CHECK(q[0].first == "r");
    CHECK(q[0].second.empty());
  }
}

TEST_CASE("malformed kv targets are refused before any actor is asked", "[http]") {
  CHECK(error_of("/v1/kv/default/") == errc::invalid_argument);
  CHECK(error_of("/v1/kv//key") == errc::invalid_argument);
  CHECK(error_of("/v1/kv/default/a%zz") == errc::invalid_argument);
  CHECK(error_of("/v1/kv/default/a?w=%") == errc::invalid_argument);
  CHECK(error_of("/v1/kv/" + std::string(300, 'n') + "/k") == errc::invalid_argument);
  CHECK(error_of("/v1/kv/default/" + std::string(11, 'k'), 10) == errc::too_large);
  CHECK(error_of("/v1/kv/default/%41%41%41%41%41%41%41%41%41%41%41", 10) == errc::too_large);
  CHECK(parse_target("/v1/kv/default/" + std::string(10, 'k'), 10));
}

TEST_CASE("other paths name the fixed resources or nothing", "[http]") {
  CHECK(target("/health").what == resource::health);
  CHECK(target("/ready").what == resource::ready);
  CHECK(target("/metrics").what == resource::metrics);
  CHECK(target("/v1/status").what == resource::status);
  CHECK(target("/v1/ring?ns=default").what == resource::ring);
  CHECK(target("/v1/kv/default").what == resource::none);
  CHECK(target("/v1/kv").what == resource::none);
  CHECK(target("/health/").what == resource::none);
  CHECK(target("/v1/%6Bv/default/k").what == resource::none);
  CHECK(target("/").what == resource::none);
}

TEST_CASE("methods are allowed per resource", "[http]") {
  CHECK(allows(resource::kv, "GET"));
  CHECK(allows(resource::kv, "HEAD"));
  CHECK(allows(resource::kv, "PUT"));
  CHECK(allows(resource::kv, "DELETE"));
  CHECK_FALSE(allows(resource::kv, "POST"));
  CHECK(allows(resource::status, "GET"));
  CHECK_FALSE(allows(resource::status, "PUT"));
  CHECK_FALSE(allows(resource::health, "DELETE"));
  auto a = method_not_allowed(resource::ring, "POST");
  CHECK(a.status == 405);
  CHECK(header(a, "Allow") == "GET, HEAD");
  CHECK(header(method_not_allowed(resource::kv, "PATCH"), "Allow") == "GET, HEAD, PUT, DELETE");
}

TEST_CASE("query parameters become request options", "[http]") {
  SECTION("a read") {
    auto opts = kv_options(target("/v1/kv/ns1/k?r=2&timeout_ms=1500"), kv_op::get);
    REQUIRE(opts);
    CHECK(opts->ns() == "ns1");
    CHECK(opts->r() == 2);
    CHECK(opts->w() == 0);
    CHECK(opts->timeout_ms() == 1500);
    CHECK(opts->level() == kv::msg::LEVEL_UNSET);
  }
  SECTION("a write") {
    auto opts = kv_options(target("/v1/kv/default/k?w=3"), kv_op::put);
    REQUIRE(opts);
    CHECK(opts->w() == 3);
    CHECK(kv_options(target("/v1/kv/default/k?w=1"), kv_op::del)->w() == 1);
  }
  SECTION("every level name") {
    auto level = [](const char* name) {
      return kv_options(target(std::string{"/v1/kv/default/k?level="} + name), kv_op::get)->level();
    };
    CHECK(level("one") == kv::msg::LEVEL_ONE);
    CHECK(level("quorum") == kv::msg::LEVEL_QUORUM);
    CHECK(level("all") == kv::msg::LEVEL_ALL);
    CHECK(level("local_quorum") == kv::msg::LEVEL_LOCAL_QUORUM);
  }
}

TEST_CASE("bad query parameters are INVALID_ARGUMENT", "[http]") {
  auto refused = [](const std::string& query, kv_op op) {
    auto opts = kv_options(target("/v1/kv/default/k?" + query), op);
    return !opts && kv::code_of(opts.error()) == errc::invalid_argument;
  };
  CHECK(refused("level=most", kv_op::get));
  CHECK(refused("level=ALL", kv_op::get));
  CHECK(refused("r=0", kv_op::get));
  CHECK(refused("r=-1", kv_op::get));
  CHECK(refused("r=+1", kv_op::get));
  CHECK(refused("r=1e3", kv_op::get));
  CHECK(refused("r=", kv_op::get));
  CHECK(refused("r=4294967296", kv_op::get));
  CHECK(refused("timeout_ms=99999999999", kv_op::get));
  CHECK(refused("r=1&r=2", kv_op::get));
  CHECK(refused("w=2", kv_op::get));
  CHECK(refused("r=2", kv_op::put));
  CHECK(refused("r=2", kv_op::del));
  CHECK(refused("lvl=all", kv_op::get));
  CHECK(refused("ns=other", kv_op::put));
  CHECK(kv_options(target("/v1/kv/default/k?r=4294967295"), kv_op::get));
}

TEST_CASE("the ring takes ns, status takes nothing", "[http]") {
  CHECK(ring_namespace(target("/v1/ring")) == std::string{});
  CHECK(ring_namespace(target("/v1/ring?ns=users")) == std::string{"users"});
  CHECK_FALSE(ring_namespace(target("/v1/ring?n=3")));
  CHECK_FALSE(ring_namespace(target("/v1/ring?ns=a&ns=b")));
  CHECK(!no_parameters(target("/v1/status")));
  CHECK(kv::code_of(no_parameters(target("/v1/status?verbose=1"))) == errc::invalid_argument);
}

TEST_CASE("a write's context comes from at most one well-formed header", "[http]") {
  CHECK(write_context({}) == std::string{});
  CHECK(write_context({""}) == std::string{});
  auto token = kv::encode_token("\x01\x02context\xff");
  CHECK(write_context({token}) == std::string{"\x01\x02context\xff"});
  CHECK(write_context({" " + token + " "}) == std::string{"\x01\x02context\xff"});
  for (auto bad : {"abc=", "ab+c", "a/b", "x"}) {
    auto ctx = write_context({bad});
    REQUIRE_FALSE(ctx);
    CHECK(kv::code_of(ctx.error()) == errc::invalid_argument);
  }
  CHECK_FALSE(write_context({token, token}));
}

TEST_CASE("the endpoint waits a little past the request's deadline", "[http]") {
  http_limits limits;
  limits.default_timeout = milliseconds{5000};
  limits.max_timeout = milliseconds{60000};
  kv::msg::RequestOptions opts;
  CHECK(wait_bound(opts, limits) == milliseconds{5000} + wait_slack);
  opts.set_timeout_ms(200);
  CHECK(wait_bound(opts, limits) == milliseconds{200} + wait_slack);
  opts.set_timeout_ms(4000000000u);  // the coordinator refuses it at once
  CHECK(wait_bound(opts, limits) == milliseconds{60000} + wait_slack);
}

TEST_CASE("Accept: application/json asks for the JSON form", "[http]") {
  CHECK(wants_json("application/json"));
  CHECK(wants_json("Application/JSON"));
  CHECK(wants_json("text/html, application/json;q=0.9"));
  CHECK(wants_json("application/json ; charset=utf-8"));
  CHECK_FALSE(wants_json(""));
  CHECK_FALSE(wants_json("*/*"));
  CHECK_FALSE(wants_json("application/octet-stream"));
  CHECK_FALSE(wants_json("application/json;q=0"));
  CHECK_FALSE(wants_json("application/json; q=0.000"));
  CHECK_FALSE(wants_json("application/jsonx"));
}

TEST_CASE("error codes map to HTTP statuses and kvctl's code names", "[http]") {
  CHECK(http_status(errc::invalid_argument) == 400);
  CHECK(http_status(errc::too_large) == 413);
  CHECK(http_status(errc::unavailable) == 503);
  CHECK(http_status(errc::timeout) == 504);
  CHECK(http_status(errc::not_found) == 404);
  CHECK(http_status(errc::internal) == 500);
  CHECK(http_status(errc::unauthenticated) == 401);
  CHECK(http_status(errc::permission_denied) == 403);

  auto a = error_answer(errc::invalid_argument, "bad \"level\"");
  CHECK(a.status == 400);
  CHECK(a.content_type == "application/json");
  CHECK(a.body == R"({"code":"INVALID_ARGUMENT","message":"bad \"level\""})");
  CHECK(header(a, "Retry-After") == "(none)");

  auto u = error_answer(kv::make_error(errc::unavailable, "1 of 2 replicas answered"));
  CHECK(u.status == 503);
  CHECK(u.body == R"({"code":"UNAVAILABLE","message":"1 of 2 replicas answered"})");
  CHECK(header(u, "Retry-After") == "1");
  CHECK(error_answer(errc::timeout, "").body == R"({"code":"TIMEOUT","message":""})");
  CHECK(error_answer(errc::too_large, "x").body == R"({"code":"TOO_LARGE","message":"x"})");
  CHECK(error_answer(errc::internal, "x").body == R"({"code":"INTERNAL","message":"x"})");
}

TEST_CASE("each request asks for the right the client listener asks for the same call", "[http]") {
  auto call = [](std::string_view raw, std::string_view method) {
    auto c = call_of(target(raw), method);
    REQUIRE(c);
    return *c;
  };
  auto get = call("/v1/kv/a/k", "GET");
  CHECK(get.name == "get"s);
  CHECK(get.need == right::read);
  CHECK(get.ns == "a");
  CHECK(call("/v1/kv/a/k", "HEAD").need == right::read);
  auto put = call("/v1/kv/b/k/x", "PUT");
  CHECK(put.name == "put"s);
  CHECK(put.need == right::write);
  CHECK(put.ns == "b");
  auto del = call("/v1/kv/b/k", "DELETE");
  CHECK(del.name == "del"s);
  CHECK(del.need == right::write);
  for (auto raw : {"/v1/status", "/v1/ring?ns=a", "/metrics"}) {
    INFO(raw);
    CHECK(call(raw, "GET").need == right::monitor);
  }
  CHECK(call("/metrics", "GET").name == "metrics"s);
  // Load balancers probe without credentials; refused targets and methods are refused anyway.
  CHECK_FALSE(call_of(target("/health"), "GET"));
  CHECK_FALSE(call_of(target("/ready"), "HEAD"));
  CHECK_FALSE(call_of(target("/nothing"), "GET"));
  CHECK_FALSE(call_of(target("/v1/kv/a/k"), "POST"));
  CHECK_FALSE(call_of(target("/v1/status"), "PUT"));
}

TEST_CASE("a request's principal is its bearer token's owner, else its certificate's name",
          "[http]") {
  auto rules = acl::parse("[principal.app]\nread = [\"a\"]\ntokens = [\"" +
                              acl::token_digest("app-token") + "\"]\n[principal.cn]\n",
                          "test.toml");
  REQUIRE(rules);
  auto principal = [&](std::vector<std::string> authorization,
                       std::optional<std::string> certified = std::nullopt) {
    return http_principal(*rules, authorization, certified);
  };
  auto refusal = [&](std::vector<std::string> authorization,
                     std::optional<std::string> certified = std::nullopt) {
    auto who = principal(std::move(authorization), std::move(certified));
    REQUIRE_FALSE(who);
    CHECK(kv::code_of(who.error()) == errc::unauthenticated);
    return kv::message_of(who.error());
  };
  CHECK(principal({"Bearer app-token"}) == "app"s);
  CHECK(principal({"bearer   app-token "}) == "app"s);
  CHECK(principal({"Bearer app-token"}, "cn") == "app"s);  // the token wins, as in a hello
  CHECK(principal({}, "cn") == "cn"s);
  CHECK_THAT(refusal({}), Catch::Contains("no credentials"));
  CHECK_THAT(refusal({"Bearer guess"}, "cn"), Catch::Contains("not known to this node's ACL"));
  CHECK_THAT(refusal({"Basic YXBwOmFwcA=="}), Catch::Contains("Bearer"));
  CHECK_THAT(refusal({"Bearer"}), Catch::Contains("empty"));
  CHECK_THAT(refusal({"Bearer app-token", "Bearer app-token"}), Catch::Contains("more than one"));
  CHECK_THAT(refusal({"Bearer " + std::string(1025, 't')}), Catch::Contains("1024 bytes"));

  auto unauthenticated = error_answer(kv::make_error(errc::unauthenticated, "no credentials"));
  CHECK(unauthenticated.status == 401);
  CHECK(header(unauthenticated, "WWW-Authenticate") == "Bearer");
  CHECK(header(error_answer(errc::permission_denied, "no"), "WWW-Authenticate") == "(none)");
}

TEST_CASE("a denial names the principal, the call and the right it lacks", "[http]") {
  auto rules = acl::parse(
      "[principal.reader]\nread = [\"*\"]\n[principal.watcher]\nmonitor = true\n"
      "[principal.writer]\nwrite = [\"a\"]\n",
      "test.toml");
  REQUIRE(rules);
  auto denial = [&](const std::string& who, std::string_view raw, std::string_view method) {
    auto call = call_of(target(raw), method);
    REQUIRE(call);
    return http_denial(*rules, who, *call);
  };
  CHECK_FALSE(denial("reader", "/v1/kv/x/k", "GET"));
  CHECK(denial("reader", "/v1/kv/x/k", "PUT") ==
        R"(principal "reader" may not put: it lacks write in namespace "x")"s);
  CHECK_FALSE(denial("writer", "/v1/kv/a/k", "DELETE"));
  CHECK(denial("writer", "/v1/kv/b/k", "DELETE") ==
        R"(principal "writer" may not del: it lacks write in namespace "b")"s);
  CHECK(denial("reader", "/metrics", "GET") ==
        R"(principal "reader" may not metrics: it lacks the monitor role)"s);
  CHECK_FALSE(denial("watcher", "/v1/ring", "GET"));
  CHECK(denial("stranger", "/v1/status", "GET") ==
        R"(principal "stranger" may not status: it lacks the monitor role)"s);
}

TEST_CASE("a GET with one live sibling answers its raw bytes", "[http]") {
  auto raw = "\x00\xff binary"s;
  auto a = get_answer(reply_of({sibling(raw)}, "ctx"), false);
  CHECK(a.status == 200);
  CHECK(a.content_type == "application/octet-stream");
  CHECK(a.body == raw);
  CHECK(header(a, context_header) == kv::encode_token("ctx"));

  SECTION("a concurrent tombstone does not count") {
    auto b = get_answer(reply_of({sibling("v"), sibling("", true, 2)}, "ctx"), false);
    CHECK(b.status == 200);
    CHECK(b.body == "v");
  }
  SECTION("Accept: application/json gives the JSON form, still 200") {
    auto b = get_answer(reply_of({sibling("v"), sibling("", true, 2)}, "ctx"), true);
    CHECK(b.status == 200);
    CHECK(b.content_type == "application/json");
    CHECK(b.body ==
          R"({"siblings":[{"value":"v","timestamp_ms":1700000000000,"version":"n1.abc:1"}],)"
          R"("tombstones":1,"context":")" +
              kv::encode_token("ctx") + R"("})");
  }
}

TEST_CASE("a GET with several live siblings answers 300 and all of them", "[http]") {
  auto a = get_answer(reply_of({sibling("one"), sibling("\xff\xfe", false, 2)}, "ctx"), false);
  CHECK(a.status == 300);
  CHECK(a.content_type == "application/json");
  CHECK(a.body ==
        R"({"siblings":[{"value":"one","timestamp_ms":1700000000000,"version":"n1.abc:1"},)"
        R"({"value_base64":"__4","timestamp_ms":1700000000000,"version":"n1.abc:2"}],)"
        R"("tombstones":0,"context":")" +
            kv::encode_token("ctx") + R"("})");
  CHECK(header(a, context_header) == kv::encode_token("ctx"));
  CHECK(get_answer(reply_of({sibling("a"), sibling("b", false, 2)}, "c"), true).status == 300);
}

TEST_CASE("a GET with no live sibling answers 404 with the context", "[http]") {
  auto a = get_answer(reply_of({sibling("", true)}, "ctx"), false);
  CHECK(a.status == 404);
  CHECK(a.body == R"({"code":"NOT_FOUND","message":"the key was deleted","context":")" +
                      kv::encode_token("ctx") + R"("})");
  CHECK(header(a, context_header) == kv::encode_token("ctx"));
  auto never = get_answer(reply_of({}, ""), true);
  CHECK(never.status == 404);
  CHECK(never.body == R"({"code":"NOT_FOUND","message":"no such key","context":""})");
  CHECK(header(never, context_header).empty());
}

TEST_CASE("writes answer 204 with the new context", "[http]") {
  auto a = written_answer("\x01new");
  CHECK(a.status == 204);
  CHECK(a.body.empty());
  CHECK(a.content_type.empty());
  CHECK(header(a, context_header) == kv::encode_token("\x01new"));
}

TEST_CASE("answers are counted by status class", "[http]") {
  http_counts counts;
  counts.count(200);
  counts.count(204);
  counts.count(300);
  counts.count(404);
  counts.count(503);
  counts.count(99);
  counts.count(600);
  CHECK(counts.of_class(2) == 2);
  std::string out;
  counts.render(out);
  CHECK_THAT(out, Catch::Contains("# TYPE ringkv_http_responses_total counter\n"));
  CHECK_THAT(out, Catch::Contains("ringkv_http_responses_total{class=\"1xx\"} 0\n"));
  CHECK_THAT(out, Catch::Contains("ringkv_http_responses_total{class=\"2xx\"} 2\n"));
  CHECK_THAT(out, Catch::Contains("ringkv_http_responses_total{class=\"3xx\"} 1\n"));
  CHECK_THAT(out, Catch::Contains("ringkv_http_responses_total{class=\"4xx\"} 1\n"));
  CHECK_THAT(out, Catch::Contains("ringkv_http_responses_total{class=\"5xx\"} 1\n"));
}
