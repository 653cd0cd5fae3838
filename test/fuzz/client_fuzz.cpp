// kvbench's parsers of bytes from servers it does not control: RESP replies (Redis), HTTP/1.1
// responses and etcd's JSON. Incremental parsers must say "incomplete", never "malformed", for
// a prefix of a reply they accept whole: a reply split over two reads must still parse. And
// its parser of /proc/PID/stat, whose process name (comm) the process itself chooses.
#include <catch2/catch.hpp>

#include "client/bench/cpu.hpp"
#include "client/bench/etcd_json.hpp"
#include "client/bench/http1.hpp"
#include "client/bench/resp.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::bench {

TEST_CASE("fuzz: RESP replies parse whole, incomplete or malformed, and prefixes are incomplete",
          "[fuzz][resp]") {
  std::vector<std::string> seeds{
      "+OK\r\n",
      "-MOVED 3999 127.0.0.1:6381\r\n",
      ":-42\r\n",
      "$5\r\nhello\r\n",
      "$-1\r\n",
      "*-1\r\n",
      "*2\r\n$3\r\nget\r\n*1\r\n:1\r\n",
      "*1\r\n*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"};
  fuzz::run("resp", 13501, 1200000, seeds, [](std::string_view in) {
    resp::value v;
    auto r = resp::parse(in, v);
    if (r.state != resp::status::complete) return;
    fuzz::accepted();
    FUZZ_CHECK(r.consumed > 0 && r.consumed <= in.size());
    for (size_t cut : {size_t{0}, r.consumed / 2, r.consumed - 1}) {
      resp::value part;
      FUZZ_CHECK(resp::parse(in.substr(0, cut), part).state == resp::status::incomplete);
    }
    if (v.kind == resp::type::error) static_cast<void>(resp::parse_redirect(v.text));
    if (auto slots = resp::parse_cluster_slots(v))
      for (auto& s : *slots) FUZZ_CHECK(s.first <= s.last && s.last < resp::slot_count);
  });
}

TEST_CASE(
    "fuzz: HTTP/1.1 responses parse whole, incomplete or malformed, and prefixes are "
    "incomplete",
    "[fuzz][http1]") {
  std::vector<std::string> seeds{
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
      "HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"};
  fuzz::run("http1", 13502, 1000000, seeds, [](std::string_view in) {
    http1::response out;
    auto r = http1::parse(in, out);
    if (r.state != http1::status::complete) return;
    fuzz::accepted();
    FUZZ_CHECK(r.consumed > 0 && r.consumed <= in.size());
    FUZZ_CHECK(out.body.size() <= r.consumed && out.status >= 200 && out.status <= 999);
    for (size_t cut : {size_t{0}, r.consumed / 2, r.consumed - 1}) {
      http1::response part;
      FUZZ_CHECK(http1::parse(in.substr(0, cut), part).state == http1::status::incomplete);
    }
  });
}

TEST_CASE("fuzz: etcd JSON replies are judged, never crash the reader", "[fuzz][etcd_json]") {
  std::vector<std::string> seeds{
      R"({"header":{"revision":"7"},"kvs":[{"key":"aw==","value":"dg=="}],"count":"1"})",
      R"({"header":{"revision":"7"}})", R"({"error":"etcdserver: too many","code":8})",
      R"({"a":"\u00e9\"\\","b":[1,2,{"c":null}],"d":true})"};
  fuzz::run("etcd_json", 13503, 1000000, seeds, [](std::string_view json) {
    for (auto name : {"kvs", "error", "header", "a"}) {
      auto raw = etcd::field(json, name);
      if (!raw) continue;
      FUZZ_CHECK(raw->data() >= json.data() &&
                 raw->data() + raw->size() <= json.data() + json.size());
      static_cast<void>(etcd::string_value(*raw));  // ignored: only its not crashing counts
    }
    auto v = etcd::judge(200, json, true);
    if (v.code.empty()) fuzz::accepted();
    FUZZ_CHECK(v.code.empty() || v.code == "NOT_FOUND" || v.code == "ETCD_ERROR" ||
               v.code == "PROTOCOL" || v.code.rfind("HTTP_", 0) == 0);
  });
}

TEST_CASE("fuzz: /proc/PID/stat lines give figures that survive a rewrite, or none",
          "[fuzz][proc_stat]") {
  std::vector<std::string> seeds{
      "17835 (cat) R 17833 17833 3957 0 -1 4194304 100 0 0 0 1113 1114 1115 1116 20 0 1 0 "
      "185160 3133440 392 18446744073709551615 94555567456256 94555567476137 0 17 0 0 0\n",
      "42 (a) b (c) S 1 1 0 0 -1 4194560 10 0 0 0 7 8 9 10 20 0 1 0 26\n",
      "7 (sh) S 1 1 0 0 -1 0 0 0 0 0 3 4 5 6\n",
      "1 (kworker/u8:2-events_unbound) I 2 0 0 0 -1 69238880 0 0 0 0 0 1 0 0 20 0 1 0 4\n"};
  fuzz::run("proc_stat", 13504, 1000000, seeds, [](std::string_view line) {
    auto t = parse_proc_stat(line);
    if (!t) return;
    fuzz::accepted();
    FUZZ_CHECK(t->pid > 0 && line.size() <= max_stat_line);
    auto open = line.find(" (");
    auto close = line.rfind(')');
    FUZZ_CHECK(open != line.npos && close != line.npos && close - open - 2 <= max_comm);
    // The same name and figures written out afresh, with other fields and more of them,
    // parse to the same figures: nothing else in the line decides them.
    auto comm = line.substr(open + 2, close - open - 2);
    auto again = std::to_string(t->pid) + " (" + std::string{comm} + ") Z 0 0 0 0 0 0 0 0 0 0 " +
                 std::to_string(t->utime) + " " + std::to_string(t->stime) + " " +
                 std::to_string(t->cutime) + " " + std::to_string(t->cstime) + " 1 2 3\n";
    FUZZ_CHECK(parse_proc_stat(again) == t);
    // Cut just before its last byte, a line either still holds the fields through cstime or
    // is refused; it never reads as other figures.
    auto cut = parse_proc_stat(line.substr(0, line.size() - 1));
    FUZZ_CHECK(!cut || cut == t);
  });
}

}  // namespace kv::bench
