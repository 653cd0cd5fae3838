#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "client/bench/etcd_json.hpp"
#include "messages/token.hpp"

namespace etcd = kv::bench::etcd;

namespace {

const std::string header =
    "\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":\"7383792418829112008\","
    "\"revision\":\"2\",\"raft_term\":\"2\"}";

}  // namespace

TEST_CASE("base64 matches RFC 4648's test vectors, padding included", "[etcd][base64]") {
  CHECK(etcd::base64("") == "");
  CHECK(etcd::base64("f") == "Zg==");
  CHECK(etcd::base64("fo") == "Zm8=");
  CHECK(etcd::base64("foo") == "Zm9v");
  CHECK(etcd::base64("foob") == "Zm9vYg==");
  CHECK(etcd::base64("fooba") == "Zm9vYmE=");
  CHECK(etcd::base64("foobar") == "Zm9vYmFy");
  CHECK(etcd::base64(std::string{"\xfb\xff\xbf", 3}) == "+/+/");
  CHECK(etcd::base64(std::string{"\0\0", 2}) == "AAA=");
}

TEST_CASE("base64 is the context tokens' base64url with + / and padding", "[etcd][base64]") {
  std::mt19937 rng{11};
  for (size_t len = 0; len < 80; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    auto std64 = etcd::base64(bytes);
    CHECK(std64.size() % 4 == 0);
    auto url = kv::encode_token(bytes);
    for (auto& c : url) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (url.size() % 4 != 0) url += '=';
    CHECK(std64 == url);
  }
}

TEST_CASE("put and range bodies carry base64 keys and values", "[etcd]") {
  CHECK(etcd::put_body("foo", "bar") == R"({"key":"Zm9v","value":"YmFy"})");
  CHECK(etcd::range_body("k0001") == R"({"key":"azAwMDE="})");
}

TEST_CASE("top-level fields are found, nested and quoted look-alikes are not", "[etcd]") {
  auto body = R"( { "a" : 1, "nested" : {"kvs": [1]}, "s": "\"kvs\": [", "kvs" : [ {"k":"v"} ] } )";
  CHECK(etcd::field(body, "a") == "1");
  CHECK(etcd::field(body, "kvs") == R"([ {"k":"v"} ])");
  CHECK(etcd::field(body, "s") == R"("\"kvs\": [")");
  CHECK_FALSE(etcd::field(body, "k"));
  CHECK_FALSE(etcd::field(R"({"kvs":[1})", "kvs"));     // malformed
  CHECK_FALSE(etcd::field(R"([{"kvs":[1]}])", "kvs"));  // not an object
  CHECK_FALSE(etcd::field("", "kvs"));
  CHECK_FALSE(etcd::field("{}", "kvs"));
}

TEST_CASE("JSON strings are unescaped", "[etcd]") {
  CHECK(etcd::string_value(R"("plain")") == "plain");
  CHECK(etcd::string_value(R"("a\"b\\c\/d\n\u0041")") == "a\"b\\c/d\nA");
  CHECK_FALSE(etcd::string_value("42"));
  CHECK_FALSE(etcd::string_value(R"("dangling\")"));
}

TEST_CASE("a range reply with kvs is found, without kvs not found", "[etcd]") {
  auto found = "{" + header +
               R"(,"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1",)"
               R"("value":"YmFy"}],"count":"1"})";
  CHECK(etcd::judge(200, found, true).code.empty());
  CHECK(etcd::judge(200, "{" + header + "}", true).code == "NOT_FOUND");
  CHECK(etcd::judge(200, "{" + header + ",\"kvs\":[ ]}", true).code == "NOT_FOUND");
}

TEST_CASE("a put reply succeeds with its header", "[etcd]") {
  CHECK(etcd::judge(200, "{" + header + "}", false).code.empty());
  CHECK(etcd::judge(200, "not json", false).code == "PROTOCOL");
  CHECK(etcd::judge(200, "{}", false).code == "PROTOCOL");
}

TEST_CASE("errors carry the HTTP status or ETCD_ERROR, and etcd's message", "[etcd]") {
  auto unavailable = etcd::judge(
      503,
      R"({"error":"etcdserver: leader changed","message":"etcdserver: leader changed","code":14})",
      true);
  CHECK(unavailable.code == "HTTP_503");
  CHECK(unavailable.message == "etcdserver: leader changed");
  auto plain = etcd::judge(404, "Not Found\n", false);
  CHECK(plain.code == "HTTP_404");
  CHECK(plain.message == "Not Found\n");
  auto in_200 = etcd::judge(200, R"({"error":"etcdserver: too many requests","code":8})", false);
  CHECK(in_200.code == "ETCD_ERROR");
  CHECK(in_200.message == "etcdserver: too many requests");
}
