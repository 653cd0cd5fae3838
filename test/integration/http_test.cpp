// The HTTP API (docs/http.md) on real kvnode processes started with --http, driven by curl:
// binary keys and values, siblings (300 + JSON) resolved through the X-Ringkv-Context header,
// deletes (404 with the context), typed JSON errors and limits, status, ring and the probes
// (/health, /ready while starting, serving and leaving, /metrics).
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "messages/token.hpp"
#include "test/integration/cluster_support.hpp"
#include "test/support/mute_listener.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using kv::test::node;
using kv::test::start_mode;
using kv::test::cluster_support::frozen;
using kv::test::cluster_support::json;
using kv::test::cluster_support::json_reader;
using kv::test::cluster_support::wait_until;

const std::string curl_path = "/usr/bin/curl";

struct http_reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // The value of header `name` (lower case), or nullopt.
  std::optional<std::string> header(const std::string& name) const {
    for (auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
  std::string context() const { return header("x-ringkv-context").value_or("(no header)"); }
  json doc() const {
    INFO("body: " << body);
    auto parsed = json_reader::parse(body);
    REQUIRE(parsed);
    return *parsed;
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// curl -i output: header blocks (a 1xx block may come first), then the body as sent.
http_reply parse_reply(const std::string& out) {
  http_reply r;
  size_t at = 0;
  do {
    auto end = out.find("\r\n\r\n", at);
    REQUIRE(end != std::string::npos);
    auto status_end = out.find("\r\n", at);
    auto line = out.substr(at, status_end - at);
    REQUIRE(line.rfind("HTTP/1.1 ", 0) == 0);
    r.status = std::stoi(line.substr(9, 3));
    r.headers.clear();
    for (size_t p = status_end + 2; p < end;) {
      auto eol = out.find("\r\n", p);
      auto field = out.substr(p, eol - p);
      auto colon = field.find(':');
      auto value = field.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers.emplace_back(lower(field.substr(0, colon)), value);
      p = eol + 2;
    }
    at = end + 4;
  } while (r.status < 200);
  r.body = out.substr(at);
  return r;
}

// Percent-encodes every byte but the unreserved ones, '/' included.
std::string escape(std::string_view bytes) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct request {
  std::string method = "GET";
  std::string target;
  std::vector<std::string> headers;
  std::optional<std::string> body;  // sent as is, with Content-Length
  std::vector<std::string> curl_flags;
};

// One HTTP exchange through curl (bounded: curl gives up after 5 s, and is killed after 10 s).
http_reply exchange(uint16_t port, const request& req) {
  struct stat st;
  INFO("these tests drive the API with curl: install it (scripts/setup.sh)");
  REQUIRE(::stat(curl_path.c_str(), &st) == 0);
  std::vector<std::string> args{"-sS", "-i",       "--path-as-is", "--max-time", "5",
                                "-X",  req.method, "-H",           "Expect:"};
  for (auto& h : req.headers) args.insert(args.end(), {"-H", h});
  if (req.body) args.insert(args.end(), {"--data-binary", "@-"});
  args.insert(args.end(), req.curl_flags.begin(), req.curl_flags.end());
  args.push_back("http://127.0.0.1:" + std::to_string(port) + req.target);
  auto r = kv::test::run_program(curl_path, args, 10s, req.body);
  INFO(req.method << " " << req.target << ": exit " << r.exit_code << ", stderr " << r.err);
  REQUIRE(r.exit_code == 0);
  return parse_reply(r.out);
}

// A single kvnode with its HTTP endpoint on a free loopback port.
struct http_node {
  kv::test::temp_dir dir;
  uint16_t http_port = kv::test::free_port();
  node n;

  explicit http_node(std::vector<std::string> flags = {})
      : n{dir.str(), with_http(std::move(flags), http_port)} {}

  static std::vector<std::string> with_http(std::vector<std::string> flags, uint16_t port) {
    flags.insert(flags.end(), {"--http", "127.0.0.1:" + std::to_string(port)});
    return flags;
  }

  http_reply get(const std::string& target, std::vector<std::string> headers = {}) {
    return exchange(http_port, {"GET", target, std::move(headers), std::nullopt, {}});
  }
  http_reply put(const std::string& target, std::string body,
                 std::vector<std::string> headers = {}) {
    return exchange(http_port, {"PUT", target, std::move(headers), std::move(body), {}});
  }
  http_reply del(const std::string& target, std::vector<std::string> headers = {}) {
    return exchange(http_port, {"DELETE", target, std::move(headers), std::nullopt, {}});
  }
};

std::string with_context(const std::string& token) {
  return "X-Ringkv-Context: " + token;
}

void check_error(const http_reply& r, int status, const std::string& code) {
  INFO("status " << r.status << ", body " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("content-type") == std::optional<std::string>{"application/json"});
  auto doc = r.doc();
  CHECK(doc["code"].text == code);
  CHECK(doc["message"].type == json::kind::string);
}

// The sibling values of a 300/200 JSON answer, decoded.
std::vector<std::string> values_of(const json& doc) {
  std::vector<std::string> out;
  for (auto& s : doc["siblings"].items) {
    if (s["value"].type == json::kind::string)
      out.push_back(s["value"].text);
    else
      out.push_back(kv::decode_token(s["value_base64"].text).value_or("(bad base64url)"));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("HTTP PUT and GET round-trip binary values under binary keys", "[integration][http]") {
  http_node h;
  auto value = "\x00\xff\r\n binary \x01"s;
  auto key = "a/b?c#d%\x00\n\xfe"s;
  auto target = "/v1/kv/default/" + escape(key);

  auto put = h.put(target, value);
  CHECK(put.status == 204);
  CHECK(put.body.empty());
  REQUIRE(put.header("x-ringkv-context"));
  CHECK(kv::decode_token(put.context()));

  auto got = h.get(target);
  CHECK(got.status == 200);
  CHECK(got.header("content-type") == std::optional<std::string>{"application/octet-stream"});
  CHECK(got.body == value);
  CHECK(got.context() == put.context());

  SECTION("a key may be written with its slashes as they are") {
    CHECK(h.put("/v1/kv/default/x/y/z?w=1&timeout_ms=2000", "slashed").status == 204);
    CHECK(h.get("/v1/kv/default/x%2Fy%2Fz?r=1&timeout_ms=2000").body == "slashed");
    auto cli = kv::test::run_kvctl({"--node", h.n.address(), "get", "x/y/z", "--raw"});
    CHECK(cli.exit_code == 0);
    CHECK(cli.out == "slashed");  // the same key through the client protocol
  }
  SECTION("what kvctl writes, HTTP reads, and its JSON form says value_base64 for bytes") {
    REQUIRE(
        kv::test::run_kvctl({"--node", h.n.address(), "put", "from-kvctl", "hello"}).exit_code ==
        0);
    CHECK(h.get("/v1/kv/default/from-kvctl").body == "hello");
    auto as_json = h.get(target, {"Accept: application/json"});
    CHECK(as_json.status == 200);
    auto doc = as_json.doc();
    CHECK(values_of(doc) == std::vector<std::string>{value});
    CHECK(doc["siblings"].items.at(0)["value"].type == json::kind::null);
    CHECK(doc["context"].text == got.context());
  }
}

TEST_CASE("two blind HTTP PUTs answer 300 with both siblings; a PUT with the context resolves them",
          "[integration][http]") {
  http_node h;
  auto target = "/v1/kv/default/cart"s;
  REQUIRE(h.put(target, "apples").status == 204);
  REQUIRE(h.put(target, "\xff\xfe pears").status == 204);

  auto both = h.get(target);
  CHECK(both.status == 300);
  CHECK(both.header("content-type") == std::optional<std::string>{"application/json"});
  auto doc = both.doc();
  CHECK(values_of(doc) == std::vector<std::string>{"apples", "\xff\xfe pears"});
  CHECK(doc["tombstones"].text == "0");
  CHECK(doc["context"].text == both.context());
  CHECK(h.get(target, {"Accept: application/json"}).status == 300);

  auto resolved = h.put(target, "apples and pears", {with_context(both.context())});
  CHECK(resolved.status == 204);
  auto one = h.get(target);
  CHECK(one.status == 200);
  CHECK(one.body == "apples and pears");
  CHECK(one.context() == resolved.context());
  auto one_json = h.get(target, {"Accept: application/json"});
  CHECK(one_json.status == 200);
  CHECK(values_of(one_json.doc()) == std::vector<std::string>{"apples and pears"});
}

TEST_CASE("an HTTP DELETE answers 204; the key then answers 404 with a context to write over it",
          "[integration][http]") {
  http_node h;
  auto target = "/v1/kv/default/gone"s;
  auto first = h.put(target, "v1");
  REQUIRE(first.status == 204);
  CHECK(h.get("/v1/kv/default/never").status == 404);

  auto start = std::chrono::steady_clock::now();
  auto deleted = h.del(target, {with_context(first.context())});  // curl sends no Content-Length
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(deleted.status == 204);
  REQUIRE(deleted.header("x-ringkv-context"));

  auto missing = h.get(target);
  check_error(missing, 404, "NOT_FOUND");
  CHECK(missing.context() == deleted.context());
  CHECK(missing.doc()["context"].text == deleted.context());
  CHECK(h.get(target, {"Accept: application/json"}).status == 404);

  CHECK(h.put(target, "v2", {with_context(missing.context())}).status == 204);
  auto again = h.get(target);
  CHECK(again.status == 200);  // the tombstone was superseded: no sibling left beside v2
  CHECK(again.body == "v2");
}

TEST_CASE("malformed HTTP requests answer typed JSON errors", "[integration][http]") {
  http_node h{{"--max-value-bytes", "65536"}};
  auto k = "/v1/kv/default/k"s;

  check_error(h.get(k + "?level=most"), 400, "INVALID_ARGUMENT");
  check_error(h.get(k + "?r=0"), 400, "INVALID_ARGUMENT");
  check_error(h.get(k + "?w=1"), 400, "INVALID_ARGUMENT");
  check_error(h.get(k + "?r=9"), 400, "INVALID_ARGUMENT");  // r > n, from the coordinator
  check_error(h.put(k, "v", {"X-Ringkv-Context: not/base64url="}), 400, "INVALID_ARGUMENT");
  check_error(h.del(k, {"X-Ringkv-Context: ab+c"}), 400, "INVALID_ARGUMENT");
  check_error(h.get("/v1/kv/nope/k"), 400, "INVALID_ARGUMENT");  // unknown namespace
  check_error(h.get("/v1/kv/default/" + std::string(1025, 'k')), 413, "TOO_LARGE");
  check_error(h.get("/v1/kv/default/%zz"), 400, "INVALID_ARGUMENT");
  check_error(h.get("/v1/nothing"), 404, "NOT_FOUND");
  check_error(h.get("/v1/kv/default"), 404, "NOT_FOUND");

  auto post = exchange(h.http_port, {"POST", k, {}, "body", {}});
  check_error(post, 405, "INVALID_ARGUMENT");
  CHECK(post.header("allow") == std::optional<std::string>{"GET, HEAD, PUT, DELETE"});
  check_error(exchange(h.http_port, {"DELETE", "/v1/status", {}, std::nullopt, {}}), 405,
              "INVALID_ARGUMENT");
  auto kept = "/v1/kv/default/kept"s;
  REQUIRE(h.put(kept, "kept").status == 204);
  auto del_with_body = exchange(h.http_port, {"DELETE", kept, {}, "a body", {}});
  check_error(del_with_body, 400, "INVALID_ARGUMENT");
  CHECK(del_with_body.header("connection") == std::optional<std::string>{"close"});
  CHECK(h.get(kept).body == "kept");  // refused before anything was asked

  SECTION("bodies are bounded by max_value_bytes, before they are read whole") {
    CHECK(h.put(k, std::string(65536, 'v')).status == 204);
    check_error(h.put(k, std::string(65537, 'v')), 413, "TOO_LARGE");
    auto chunked = exchange(
        h.http_port, {"PUT", k, {"Transfer-Encoding: chunked"}, std::string(200000, 'v'), {}});
    check_error(chunked, 413, "TOO_LARGE");
    CHECK(chunked.header("connection") == std::optional<std::string>{"close"});
    CHECK(h.get(k).body == std::string(65536, 'v'));
  }
  SECTION("a chunked body within the bound is a value like any other") {
    auto chunked =
        exchange(h.http_port, {"PUT", k, {"Transfer-Encoding: chunked"}, "in chunks", {}});
    CHECK(chunked.status == 204);
    CHECK(h.get(k).body == "in chunks");
  }
  SECTION("bodies the API does not take") {
    auto gz = exchange(h.http_port, {"PUT", k, {"Content-Encoding: gzip"}, "not gzip", {}});
    check_error(gz, 415, "INVALID_ARGUMENT");
    auto no_length = exchange(h.http_port, {"PUT", k, {}, std::nullopt, {}});
    check_error(no_length, 411, "INVALID_ARGUMENT");
    CHECK(h.put(k, "").status == 204);  // Content-Length: 0 is an empty value
    CHECK(h.get(k).body.empty());
  }
}

TEST_CASE("a request line or header that never ends is cut off, and the node serves on",
          "[integration][http]") {
  http_node h;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(h.http_port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval bound{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof(bound));
  // 64 MiB of one header line, never a newline: the endpoint must stop reading long before.
  std::string chunk = "GET /health HTTP/1.1\r\nX-Endless: " + std::string(65536, 'x');
  size_t sent = 0;
  for (int i = 0; i < 1024; ++i) {
    auto n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
    chunk.assign(65536, 'x');
  }
  ::close(fd);
  INFO("sent " << sent << " bytes before the endpoint closed the connection");
  CHECK(sent < (size_t{16} << 20));
  CHECK(h.get("/health").status == 200);
}

TEST_CASE("HTTP status, ring, health, ready and metrics", "[integration][http]") {
  http_node h;
  auto status = h.get("/v1/status");
  CHECK(status.status == 200);
  CHECK(status.header("content-type") == std::optional<std::string>{"application/json"});
  auto s = status.doc();
  CHECK(s["node_id"].text == "n1");
  CHECK(s["address"].text == h.n.address());
  REQUIRE(s["members"].items.size() == 1);
  CHECK(s["members"].items[0]["state"].text == "MEMBER_UP");
  check_error(h.get("/v1/status?verbose=1"), 400, "INVALID_ARGUMENT");

  auto ring = h.get("/v1/ring?ns=default");
  CHECK(ring.status == 200);
  auto r = ring.doc();
  CHECK(r["partitions"].type == json::kind::number);
  CHECK(r["n"].text == "1");
  CHECK(r["shares"].items.size() == 1);
  CHECK(h.get("/v1/ring").status == 200);
  check_error(h.get("/v1/ring?ns=nope"), 400, "INVALID_ARGUMENT");

  auto health = h.get("/health");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  auto ready = h.get("/ready");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");

  auto metrics = h.get("/metrics");
  CHECK(metrics.status == 200);
  CHECK_THAT(metrics.body, Catch::Contains("ringkv_http_responses_total{class=\"2xx\"} "));
  CHECK_THAT(metrics.body, Catch::Contains("ringkv_http_responses_total{class=\"4xx\"} 2\n"));
  CHECK_THAT(metrics.body, Catch::Contains("ringkv_storage_writes_total"));
}

TEST_CASE("/ready answers 503 until the node is ready, and while it leaves",
          "[integration][http]") {
  kv::test::temp_dir dir;
  SECTION("starting: a seed that never answers keeps the node from being ready") {
    // A seed on a port it holds, so that it can never be the node's own peer listener (a seed
    // naming the node itself is satisfied at once).
    kv::test::mute_listener seed{true};
    auto http_port = kv::test::free_port();
    node n{dir.str(),
           "n1",
           kv::test::free_port(),
           {"--seeds", seed.address(), "--http", "127.0.0.1:" + std::to_string(http_port)},
           start_mode::launch_only};
    REQUIRE(wait_until(5000ms, [&] {
      auto r = kv::test::run_program(
          curl_path,
          {"-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(http_port) + "/health"},
          3s);
      return r.exit_code == 0;
    }));
    auto ready = exchange(http_port, {"GET", "/ready", {}, std::nullopt, {}});
    check_error(ready, 503, "UNAVAILABLE");
    CHECK(ready.header("retry-after") == std::optional<std::string>{"1"});
    CHECK_THAT(ready.body, Catch::Contains("starting"));
    CHECK(n.ready_line().empty());
  }
  SECTION("leaving: it hands its partitions off, and cannot finish while their taker is frozen") {
    std::vector<uint16_t> ports{kv::test::free_port(), kv::test::free_port()};
    std::vector<uint16_t> http{kv::test::free_port(), kv::test::free_port()};
    auto peer = [](uint16_t port) {  // kvnode's default peer listener
      return "127.0.0.1:" + std::to_string(port + kv::test::node_port_offset_peer);
    };
    auto seeds = peer(ports[0]) + "," + peer(ports[1]);
    std::vector<std::unique_ptr<node>> nodes;
    for (size_t i = 0; i < 2; ++i)
      nodes.push_back(std::make_unique<node>(
          dir.str(), "n" + std::to_string(i + 1), ports[i],
          std::vector<std::string>{"--seeds", seeds, "--namespace", "default:n=1", "--http",
                                   "127.0.0.1:" + std::to_string(http[i])},
          start_mode::launch_only));
    for (auto& n : nodes) n->await_ready();
    CHECK(exchange(http[1], {"GET", "/ready", {}, std::nullopt, {}}).status == 200);
    frozen n1{*nodes[0]};
    REQUIRE(kv::test::run_kvctl({"--node", nodes[1]->address(), "leave"}).exit_code == 0);
    auto ready = exchange(http[1], {"GET", "/ready", {}, std::nullopt, {}});
    check_error(ready, 503, "UNAVAILABLE");
    CHECK_THAT(ready.body, Catch::Contains("leaving"));
    CHECK(exchange(http[1], {"GET", "/health", {}, std::nullopt, {}}).status == 200);
  }
}
