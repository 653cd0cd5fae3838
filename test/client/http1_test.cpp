#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "client/bench/http1.hpp"

namespace http1 = kv::bench::http1;

namespace {

http1::response parse_all(const std::string& in) {
  http1::response res;
  auto r = http1::parse(in, res);
  INFO(r.error);
  REQUIRE(r.state == http1::status::complete);
  REQUIRE(r.consumed == in.size());
  return res;
}

std::string parse_error(const std::string& in) {
  http1::response res;
  auto r = http1::parse(in, res);
  REQUIRE(r.state == http1::status::malformed);
  CHECK(r.consumed == 0);
  CHECK_FALSE(r.error.empty());
  return r.error;
}

// etcd 3.4's gateway, verbatim: a put reply (Content-Length) and an error reply (chunked, with
// the trailer it announces).
const std::string etcd_put_reply =
    "HTTP/1.1 200 OK\r\n"
    "Access-Control-Allow-Origin: *\r\n"
    "Content-Type: application/json\r\n"
    "Grpc-Metadata-Content-Type: application/grpc\r\n"
    "Date: Sat, 21 Nov 2026 23:16:23 GMT\r\n"
    "Content-Length: 113\r\n"
    "\r\n"
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":\"7383792418829112008\","
    "\"revision\":\"2\",\"raft_term\":\"2\"}}";

const std::string etcd_error_reply =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: application/json\r\n"
    "Trailer: Grpc-Trailer-Content-Type\r\n"
    "Date: Sat, 21 Nov 2026 23:16:28 GMT\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "60\r\n"
    "{\"error\":\"etcdserver: key is not provided\",\"message\":\"etcdserver: key is not "
    "provided\",\"code\":3}\r\n"
    "0\r\n"
    "Grpc-Trailer-Content-Type: application/grpc\r\n"
    "\r\n";

}  // namespace

TEST_CASE("requests carry Host, Content-Type and Content-Length", "[http1]") {
  std::string out;
  http1::encode_request(out, "POST", "127.0.0.1:2379", "/v3/kv/range", "application/json",
                        "{\"key\":\"Zm9v\"}");
  CHECK(out ==
        "POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nContent-Type: "
        "application/json\r\nContent-Length: 14\r\n\r\n{\"key\":\"Zm9v\"}");
  auto first = out.size();
  http1::encode_request(out, "POST", "h:1", "/", "text/plain", "");  // appends
  CHECK(out.substr(first) ==
        "POST / HTTP/1.1\r\nHost: h:1\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("a response with Content-Length parses", "[http1]") {
  auto res = parse_all(etcd_put_reply);
  CHECK(res.status == 200);
  CHECK(res.keep_alive);
  CHECK_FALSE(res.chunked);
  CHECK(res.body.size() == 113);
  CHECK(res.body.rfind("{\"header\":", 0) == 0);
  CHECK(parse_all("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").status == 503);
  CHECK(parse_all("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok").body == "ok");  // no reason
}

TEST_CASE("a chunked response parses, extensions and trailers included", "[http1]") {
  auto res = parse_all(etcd_error_reply);
  CHECK(res.status == 400);
  CHECK(res.chunked);
  CHECK(res.keep_alive);
  CHECK(res.body ==
        "{\"error\":\"etcdserver: key is not provided\",\"message\":\"etcdserver: key is not "
        "provided\",\"code\":3}");
  auto pieces = parse_all(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n");
  CHECK(pieces.body == "hello 0123456789");
  // Chunked wins over a Content-Length sent alongside it.
  CHECK(parse_all("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "2\r\nab\r\n0\r\n\r\n")
            .body == "ab");
}

TEST_CASE("bare LF line ends are accepted", "[http1]") {
  auto res = parse_all("HTTP/1.1 200 OK\nContent-Length: 3\n\nabc");
  CHECK(res.body == "abc");
  CHECK(parse_all("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n").body == "abc");
}

TEST_CASE("the connection's fate follows the version and the Connection header", "[http1]") {
  CHECK(parse_all("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  CHECK_FALSE(
      parse_all("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n")
          .keep_alive);
  CHECK_FALSE(parse_all("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  CHECK(parse_all("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
            .keep_alive);
}

TEST_CASE("interim 1xx responses are skipped, and 204 and 304 have no body", "[http1]") {
  auto res =
      parse_all("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
  CHECK(res.status == 200);
  CHECK(res.body == "x");
  CHECK(parse_all("HTTP/1.1 204 No Content\r\n\r\n").body.empty());
  CHECK(parse_all("HTTP/1.1 304 Not Modified\r\n\r\n").status == 304);
}

TEST_CASE("several responses in one buffer parse one after the other", "[http1]") {
  const std::string buffer = etcd_put_reply + etcd_error_reply + etcd_put_reply;
  std::vector<int> statuses;
  size_t used = 0;
  http1::response res;
  for (;;) {
    auto r = http1::parse(std::string_view{buffer}.substr(used), res);
    if (r.state != http1::status::complete) {
      CHECK(r.state == http1::status::incomplete);
      break;
    }
    used += r.consumed;
    statuses.push_back(res.status);
  }
  CHECK(statuses == std::vector<int>{200, 400, 200});
  CHECK(used == buffer.size());
}

TEST_CASE("an HTTP response split at any point waits for the rest", "[http1]") {
  const std::string responses =
      etcd_put_reply + etcd_error_reply +
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x=y\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  const std::vector<std::string> bodies = {etcd_put_reply.substr(etcd_put_reply.size() - 113),
                                           parse_all(etcd_error_reply).body, "abc", ""};
  for (size_t cut = 0; cut <= responses.size(); ++cut) {
    INFO("cut at " << cut);
    std::string buffer = responses.substr(0, cut);
    std::vector<std::string> got;
    size_t used = 0;
    auto drain = [&] {
      for (;;) {
        http1::response res;
        auto r = http1::parse(std::string_view{buffer}.substr(used), res);
        REQUIRE(r.state != http1::status::malformed);
        if (r.state == http1::status::incomplete) {
          REQUIRE(r.consumed == 0);
          return;
        }
        used += r.consumed;
        got.push_back(res.body);
      }
    };
    drain();
    buffer += responses.substr(cut);
    drain();
    CHECK(got == bodies);
    CHECK(used == responses.size());
  }
}

TEST_CASE("malformed responses are refused with a reason", "[http1]") {
  CHECK(parse_error("SSH-2.0-OpenSSH_9.2\r\n\r\n").find("status line") != std::string::npos);
  CHECK(parse_error("HTTP/1.1 2x0 OK\r\n\r\n").find("status code") != std::string::npos);
  CHECK(parse_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").find("Content-Length") !=
        std::string::npos);
  CHECK(parse_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
            .find("conflicting") != std::string::npos);
  CHECK(parse_error("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").find("header") !=
        std::string::npos);
  CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
            .find("unsupported Transfer-Encoding") != std::string::npos);
  CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .find("chunk size") != std::string::npos);
  CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n")
            .find("CRLF") != std::string::npos);
  CHECK(parse_error("HTTP/1.1 101 Switching Protocols\r\n\r\n").find("101") != std::string::npos);
}

TEST_CASE("a body delimited by closing the connection is refused clearly", "[http1]") {
  auto why = parse_error("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close");
  CHECK(why.find("neither Content-Length nor chunked") != std::string::npos);
}

TEST_CASE("an endless header section is refused instead of buffered", "[http1]") {
  std::string in = "HTTP/1.1 200 OK\r\n";
  while (in.size() <= http1::max_header_bytes) in += "X-Filler: 0123456789abcdef\r\n";
  CHECK(parse_error(in).find("64 KiB") != std::string::npos);
  std::string no_newline = "HTTP/1.1 200 OK\r\nX: " + std::string(http1::max_header_bytes, 'a');
  CHECK(parse_error(no_newline).find("64 KiB") != std::string::npos);
}
