#include <catch2/catch.hpp>

#include <string>

#include "client/bench/resp.hpp"

namespace resp = kv::bench::resp;

namespace {

resp::value parse_all(const std::string& in) {
  resp::value v;
  auto r = resp::parse(in, v);
  REQUIRE(r.state == resp::status::complete);
  REQUIRE(r.consumed == in.size());
  return v;
}

}  // namespace

TEST_CASE("commands are encoded as arrays of bulk strings", "[resp]") {
  std::string out;
  resp::encode(out, {"GET", "k1"});
  CHECK(out == "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n");
  out.clear();
  std::string binary{"a\r\n\0b", 5};
  resp::encode(out, {"SET", "key", binary});
  CHECK(out == std::string{"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\na\r\n\0b\r\n", 33});
  resp::encode(out, std::vector<std::string_view>{"WAIT", "1", "0"});  // appends
  CHECK(out.substr(33) == "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n");
  out.clear();
  resp::encode(out, {"SET", "k", ""});
  CHECK(out == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST_CASE("simple strings, errors and integers parse", "[resp]") {
  auto ok = parse_all("+OK\r\n");
  CHECK(ok.kind == resp::type::simple);
  CHECK(ok.text == "OK");
  auto err = parse_all("-ERR unknown command 'FOO'\r\n");
  CHECK(err.kind == resp::type::error);
  CHECK(err.text == "ERR unknown command 'FOO'");
  auto n = parse_all(":1000\r\n");
  CHECK(n.kind == resp::type::integer);
  CHECK(n.integer == 1000);
  CHECK(parse_all(":-3\r\n").integer == -3);
}

TEST_CASE("bulk strings parse, binary and null included", "[resp]") {
  auto v = parse_all("$5\r\nhello\r\n");
  CHECK(v.kind == resp::type::bulk);
  CHECK(v.text == "hello");
  auto binary = parse_all(std::string{"$4\r\n\r\n\0x\r\n", 10});
  CHECK(binary.text == std::string{"\r\n\0x", 4});
  CHECK(parse_all("$0\r\n\r\n").text.empty());
  CHECK(parse_all("$0\r\n\r\n").kind == resp::type::bulk);
  CHECK(parse_all("$-1\r\n").kind == resp::type::null);
  CHECK(parse_all("*-1\r\n").kind == resp::type::null);
}

TEST_CASE("arrays parse, nested and mixed", "[resp]") {
  auto v = parse_all("*3\r\n:1\r\n$3\r\nfoo\r\n*2\r\n+a\r\n$-1\r\n");
  REQUIRE(v.kind == resp::type::array);
  REQUIRE(v.items.size() == 3);
  CHECK(v.items[0].integer == 1);
  CHECK(v.items[1].text == "foo");
  REQUIRE(v.items[2].items.size() == 2);
  CHECK(v.items[2].items[0].text == "a");
  CHECK(v.items[2].items[1].kind == resp::type::null);
  CHECK(parse_all("*0\r\n").items.empty());
}

TEST_CASE("partial input waits for the rest, at every split point", "[resp]") {
  const std::string replies = "+OK\r\n$12\r\nhello\r\nworld\r\n*2\r\n:7\r\n-MOVED 1 h:1\r\n:42\r\n";
  for (size_t cut = 0; cut < replies.size(); ++cut) {
    INFO("cut at " << cut);
    std::string buffer = replies.substr(0, cut);
    std::vector<resp::value> got;
    size_t used = 0;
    auto drain = [&] {
      for (;;) {
        resp::value v;
        auto r = resp::parse(std::string_view{buffer}.substr(used), v);
        if (r.state == resp::status::incomplete) return;
        REQUIRE(r.state == resp::status::complete);
        used += r.consumed;
        got.push_back(std::move(v));
      }
    };
    drain();
    buffer += replies.substr(cut);
    drain();
    REQUIRE(used == replies.size());
    REQUIRE(got.size() == 4);
    CHECK(got[0].text == "OK");
    CHECK(got[1].text == "hello\r\nworld");
    CHECK(got[2].items[1].text == "MOVED 1 h:1");
    CHECK(got[3].integer == 42);
  }
}

TEST_CASE("two replies in one read parse one at a time", "[resp]") {
  std::string in = "+OK\r\n:1\r\n";
  resp::value v;
  auto r = resp::parse(in, v);
  CHECK(r.state == resp::status::complete);
  CHECK(r.consumed == 5);
  CHECK(v.text == "OK");
}

TEST_CASE("malformed input is reported, not guessed at", "[resp]") {
  resp::value v;
  CHECK(resp::parse("?what\r\n", v).state == resp::status::malformed);
  CHECK(resp::parse(":12x\r\n", v).state == resp::status::malformed);
  CHECK(resp::parse(":\r\n", v).state == resp::status::malformed);
  CHECK(resp::parse("$3\r\nabcd\r\n", v).state == resp::status::malformed);
  CHECK(resp::parse("$-2\r\n", v).state == resp::status::malformed);
  CHECK(resp::parse("*1\r\n!\r\n", v).state == resp::status::malformed);
  CHECK(resp::parse("", v).state == resp::status::incomplete);
  CHECK(resp::parse("+OK\r", v).state == resp::status::incomplete);
}

TEST_CASE("an array announcing millions of items allocates for what has arrived only", "[resp]") {
  // Found by the fuzz suite (test/fuzz/client_fuzz.cpp): "*16777216\r\n" made the parser
  // allocate 2^24 items (over a gigabyte) before any arrived, and again at each nesting level.
  std::string nested;
  for (int i = 0; i < 16; ++i) nested += "*16777216\r\n";
  resp::value v;
  CHECK(resp::parse(nested, v).state == resp::status::incomplete);
  CHECK(v.items.capacity() <= nested.size());
  CHECK(resp::parse("*16777216\r\n:1\r\n:2\r\n", v).state == resp::status::incomplete);
  CHECK(v.items.capacity() <= 2);
  CHECK(parse_all("*3\r\n:1\r\n+\r\n$0\r\n\r\n").items.size() == 3);
}

TEST_CASE("MOVED and ASK redirects name the slot and the node", "[resp]") {
  auto moved = resp::parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved);
  CHECK_FALSE(moved->ask);
  CHECK(moved->slot == 3999);
  CHECK(moved->host == "127.0.0.1");
  CHECK(moved->port == 6381);
  auto ask = resp::parse_redirect("ASK 12182 ::1:7002");
  REQUIRE(ask);
  CHECK(ask->ask);
  CHECK(ask->slot == 12182);
  CHECK(ask->host == "::1");
  CHECK(ask->port == 7002);
  CHECK_FALSE(resp::parse_redirect("ERR wrong number of arguments"));
  CHECK_FALSE(resp::parse_redirect("MOVED 16384 127.0.0.1:6381"));
  CHECK_FALSE(resp::parse_redirect("MOVED x 127.0.0.1:6381"));
  CHECK_FALSE(resp::parse_redirect("MOVED 1 127.0.0.1"));
  CHECK_FALSE(resp::parse_redirect("CLUSTERDOWN The cluster is down"));
}

TEST_CASE("key slots follow the Redis Cluster specification", "[resp]") {
  CHECK(resp::crc16("123456789") == 0x31C3);
  CHECK(resp::crc16("") == 0);
  CHECK(resp::key_slot("123456789") == (0x31C3 % 16384));
  // Values from CLUSTER KEYSLOT.
  CHECK(resp::key_slot("foo") == 12182);
  CHECK(resp::key_slot("bar") == 5061);
  CHECK(resp::key_slot("somekey") == 11058);
  CHECK(resp::key_slot("{user1000}.following") == resp::key_slot("{user1000}.followers"));
  CHECK(resp::key_slot("{user1000}.following") == resp::key_slot("user1000"));
  // Only the first {...} counts, and an empty one does not.
  CHECK(resp::key_slot("foo{}{bar}") == resp::crc16("foo{}{bar}") % 16384);
  CHECK(resp::key_slot("foo{{bar}}zap") == resp::key_slot("{bar"));
  CHECK(resp::key_slot("foo{bar}{zap}") == resp::key_slot("bar"));
  CHECK(resp::key_slot("{unclosed") == resp::crc16("{unclosed") % 16384);
}

TEST_CASE("a CLUSTER SLOTS reply gives each range's master", "[resp]") {
  auto reply = parse_all(
      "*2\r\n"
      "*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:30001\r\n$4\r\nid-1\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:30004\r\n$4\r\nid-4\r\n"
      "*3\r\n:5461\r\n:16383\r\n*2\r\n$9\r\n127.0.0.2\r\n:30002\r\n");
  auto ranges = resp::parse_cluster_slots(reply);
  REQUIRE(ranges);
  REQUIRE(ranges->size() == 2);
  CHECK((*ranges)[0].first == 0);
  CHECK((*ranges)[0].last == 5460);
  CHECK((*ranges)[0].host == "127.0.0.1");
  CHECK((*ranges)[0].port == 30001);
  CHECK((*ranges)[1].first == 5461);
  CHECK((*ranges)[1].last == 16383);
  CHECK((*ranges)[1].host == "127.0.0.2");
  CHECK((*ranges)[1].port == 30002);
  CHECK_FALSE(
      resp::parse_cluster_slots(parse_all("-ERR This instance has cluster support disabled\r\n")));
  CHECK_FALSE(
      resp::parse_cluster_slots(parse_all("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n")));
}
