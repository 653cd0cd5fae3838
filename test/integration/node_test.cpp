// The contracts scripts rely on (docs: DESIGN.md, "Processes, ports, tools"), checked on real
// kvnode and kvctl processes: the ready line, kvctl's output, JSON and exit codes, siblings
// and their resolution, status, clean stop, and refusing to start on a taken dir or port.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "test/integration/cluster_support.hpp"
#include "test/support/mute_listener.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::cli_result;
using kv::test::node;
using kv::test::run_kvctl;

std::vector<std::string> with_node(const node& n, std::vector<std::string> args) {
  args.insert(args.begin(), {"--node", n.address()});
  return args;
}

std::string describe(const cli_result& r) {
  return "exit " + std::to_string(r.exit_code) + "; stdout: " + r.out + "; stderr: " + r.err;
}

// A strict recursive-descent check of RFC 8259 JSON (no extensions), enough to know kvctl's
// output parses.
class json_check {
 public:
  static bool valid(const std::string& text) {
    json_check p{text};
    p.space();
    if (!p.value()) return false;
    p.space();
    return p.i_ == text.size();
  }

 private:
  explicit json_check(const std::string& s) : s_(s) {}
  bool eat(char c) { return i_ < s_.size() && s_[i_] == c ? (++i_, true) : false; }
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  bool literal(const char* word) {
    std::string w{word};
    if (s_.compare(i_, w.size(), w) != 0) return false;
    i_ += w.size();
    return true;
  }
  bool string() {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') continue;
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      if (e == 'u') {
        for (int k = 0; k < 4; ++k)
          if (i_ >= s_.size() || !isxdigit(static_cast<unsigned char>(s_[i_++]))) return false;
      } else if (std::string{"\"\\/bfnrt"}.find(e) == std::string::npos) {
        return false;
      }
    }
    return false;
  }
  bool number() {
    auto start = i_;
    eat('-');
    if (!eat('0')) {
      if (i_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[i_]))) return false;
      while (i_ < s_.size() && isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    if (eat('.'))
      while (i_ < s_.size() && isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ > start;
  }
  template <class Item>
  bool sequence(char close, Item item) {
    space();
    if (eat(close)) return true;
    for (;;) {
      space();
      if (!item()) return false;
      space();
      if (eat(close)) return true;
      if (!eat(',')) return false;
    }
  }
  bool value() {
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{':
        ++i_;
        return sequence('}', [this] {
          if (!string()) return false;
          space();
          if (!eat(':')) return false;
          space();
          return value();
        });
      case '[':
        ++i_;
        return sequence(']', [this] { return value(); });
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  const std::string& s_;
  size_t i_ = 0;
};

// The raw text of the first `"name":` value: a string without its quotes, or a literal.
std::string json_field(const std::string& text, const std::string& name) {
  auto at = text.find("\"" + name + "\":");
  if (at == std::string::npos) return "<missing " + name + ">";
  at += name.size() + 3;
  if (text[at] == '"') {
    auto end = at + 1;
    while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
    return text.substr(at + 1, end - at - 1);
  }
  return text.substr(at, text.find_first_of(",}]", at) - at);
}

// The token of the "context: TOKEN" line of kvctl's text output.
std::string context_line(const std::string& out) {
  std::smatch m;
  std::regex line{"(^|\n)context: ([A-Za-z0-9_-]*)\n"};
  return std::regex_search(out, m, line) ? m[2].str() : "<no context line>";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

}  // namespace

TEST_CASE(
    "kvnode prints `ready <id> <host:port>` once it serves, and kvctl round-trips "
    "put, get and del as JSON",
    "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str(), {}, "node-7"};
  CHECK(n.ready_line() == "ready node-7 " + n.address());
  CHECK(std::regex_match(n.ready_line(), std::regex{R"(ready [A-Za-z0-9_-]+ 127\.0\.0\.1:\d+)"}));

  auto put = run_kvctl(with_node(n, {"--json", "put", "greeting", "hello \"world\"\n"}));
  INFO("put: " << describe(put));
  REQUIRE(put.exit_code == 0);
  CHECK(json_check::valid(put.out));
  CHECK(json_field(put.out, "ok") == "true");
  CHECK(!json_field(put.out, "context").empty());

  auto get = run_kvctl(with_node(n, {"--json", "get", "greeting"}));
  INFO("get: " << describe(get));
  REQUIRE(get.exit_code == 0);
  CHECK(json_check::valid(get.out));
  CHECK(json_field(get.out, "found") == "true");
  CHECK(json_field(get.out, "value") == R"(hello \"world\"\n)");
  CHECK(json_field(get.out, "deleted") == "false");
  auto context = json_field(get.out, "context");
  CHECK(!context.empty());

  auto del = run_kvctl(with_node(n, {"--json", "del", "greeting", "--context", context}));
  INFO("del: " << describe(del));
  REQUIRE(del.exit_code == 0);
  CHECK(json_check::valid(del.out));
  CHECK(json_field(del.out, "ok") == "true");

  auto gone = run_kvctl(with_node(n, {"--json", "get", "greeting"}));
  INFO("get after del: " << describe(gone));
  CHECK(gone.exit_code == 1);
  CHECK(json_check::valid(gone.out));
  CHECK(json_field(gone.out, "found") == "false");

  auto text = run_kvctl(with_node(n, {"put", "plain", "text value"}));
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::StartsWith("context: "));
  auto back = run_kvctl(with_node(n, {"get", "plain"}));
  CHECK(back.exit_code == 0);
  CHECK_THAT(back.out, Catch::StartsWith("text value\ncontext: "));
}

TEST_CASE("two blind puts become siblings, and a put with their context resolves them",
          "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  REQUIRE(run_kvctl(with_node(n, {"put", "cart", "apples"})).exit_code == 0);
  REQUIRE(run_kvctl(with_node(n, {"put", "cart", "pears"})).exit_code == 0);

  auto both = run_kvctl(with_node(n, {"get", "cart"}));
  INFO(describe(both));
  REQUIRE(both.exit_code == 0);
  auto lines = lines_of(both.out);
  REQUIRE(lines.size() == 3);
  std::vector<std::string> siblings{lines[0], lines[1]};
  std::sort(siblings.begin(), siblings.end());
  CHECK(std::regex_match(siblings[0], std::regex{"sibling [12]: apples"}));
  CHECK(std::regex_match(siblings[1], std::regex{"sibling [12]: pears"}));
  auto json = run_kvctl(with_node(n, {"--json", "get", "cart"}));
  CHECK(json_check::valid(json.out));
  CHECK_THAT(json.out,
             Catch::Contains("\"value\":\"apples\"") && Catch::Contains("\"value\":\"pears\""));

  auto context = context_line(both.out);
  auto resolve = run_kvctl(with_node(n, {"put", "cart", "apples+pears", "--context", context}));
  INFO(describe(resolve));
  REQUIRE(resolve.exit_code == 0);
  auto one = run_kvctl(with_node(n, {"get", "cart"}));
  INFO(describe(one));
  CHECK(one.exit_code == 0);
  CHECK(lines_of(one.out).size() == 2);
  CHECK_THAT(one.out, Catch::StartsWith("apples+pears\ncontext: "));
}

TEST_CASE("get of a missing key exits 1 with NOT_FOUND first on stderr", "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  auto r = run_kvctl(with_node(n, {"get", "never-written"}));
  INFO(describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.first_err_line(), Catch::StartsWith("NOT_FOUND "));
  CHECK(r.out.empty());
}

// The compose health check: `status` answers while a node still learns its members, so a
// cluster that was "healthy" by it refused the first request (UNAVAILABLE, CI 2026-12-07).
TEST_CASE("kvctl ready exits 3 while the node learns its seeds, and 0 once it serves",
          "[integration][node]") {
  kv::test::temp_dir dir;
  SECTION("a seed that never answers keeps it starting") {
    kv::test::mute_listener seed{true};
    node n{dir.str(),
           "n1",
           kv::test::free_port(),
           {"--seeds", seed.address()},
           kv::test::start_mode::launch_only};
    cli_result status;
    REQUIRE(kv::test::cluster_support::wait_until(5000ms, [&] {
      status = run_kvctl(with_node(n, {"status"}));
      return status.exit_code == 0;
    }));
    CHECK_THAT(status.out, Catch::Contains("node n1 at " + n.address() + ", starting,"));
    auto r = run_kvctl(with_node(n, {"ready"}));
    INFO(describe(r));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.first_err_line(), Catch::StartsWith("UNAVAILABLE n1 is starting"));
    auto json = run_kvctl(with_node(n, {"--json", "status"}));
    CHECK_THAT(json.out, Catch::Contains("\"readiness\":\"starting\""));
  }
  SECTION("a node alone serves") {
    node n{dir.str()};
    auto r = run_kvctl(with_node(n, {"ready"}));
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "n1 serving\n");
    CHECK_THAT(run_kvctl(with_node(n, {"status"})).out, Catch::Contains(", serving,"));
  }
}

TEST_CASE("status lists the node as up with its id and address, and shows the sync mode",
          "[integration][node]") {
  kv::test::temp_dir dir;
  bool synced = GENERATE(true, false);
  node n{dir.str(), {"--sync", synced ? "always" : "none"}};
  auto r = run_kvctl(with_node(n, {"status"}));
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  size_t member_lines = 0;
  for (auto& line : lines_of(r.out)) {
    std::istringstream words{line};
    std::string id, address, state;
    words >> id >> address >> state;
    if (id == "n1" && address == n.peer_address() && state == "up") ++member_lines;
  }
  CHECK(member_lines == 1);  // members are known by their peer listeners
  CHECK_THAT(r.out, Catch::Contains("listeners: clients " + n.address() + ", peers " +
                                    n.peer_address() + ", operators " + n.admin_address()));
  CHECK_THAT(r.out, Catch::Contains(synced ? "sync always" : "sync none"));

  auto json = run_kvctl(with_node(n, {"--json", "status"}));
  INFO(describe(json));
  REQUIRE(json.exit_code == 0);
  CHECK(json_check::valid(json.out));
  CHECK(json_field(json.out, "node_id") == "n1");
  CHECK(json_field(json.out, "sync") == (synced ? "true" : "false"));
  CHECK(json_field(json.out, "state") == "up");
}

TEST_CASE("no other user can read what kvnode stores", "[integration][node]") {
  namespace fs = std::filesystem;
  kv::test::temp_dir dir;
  node n{dir.str()};
  for (int i = 0; i < 10; ++i)
    REQUIRE(run_kvctl(with_node(n, {"put", "k" + std::to_string(i), "secret"})).exit_code == 0);
  REQUIRE(n.proc().signal(SIGTERM));  // flushes the memtable: an SST file joins the WAL
  REQUIRE(n.proc().wait_exit(5000ms) == std::optional<int>{0});
  CHECK(fs::status(n.data_dir()).permissions() == fs::perms::owner_all);
  size_t files = 0;
  auto others = fs::perms::group_all | fs::perms::others_all;
  for (auto& entry : fs::recursive_directory_iterator(n.data_dir())) {
    INFO(entry.path());
    CHECK((entry.status().permissions() & others) == fs::perms::none);
    ++files;
  }
  CHECK(files > 5);  // RocksDB's WAL, manifest, options, SST files, the node's identity
}

TEST_CASE("SIGTERM or SIGINT stops kvnode with exit code 0, and a restart finds all the data",
          "[integration][node]") {
  kv::test::temp_dir dir;
  int sig = GENERATE(SIGTERM, SIGINT);
  node n{dir.str()};
  for (int i = 0; i < 10; ++i)
    REQUIRE(run_kvctl(with_node(n, {"put", "k" + std::to_string(i), "v" + std::to_string(i)}))
                .exit_code == 0);
  auto before = run_kvctl(with_node(n, {"get", "k0"}));
  REQUIRE(before.exit_code == 0);
  REQUIRE(n.proc().signal(sig));
  auto code = n.proc().wait_exit(5000ms);
  INFO(n.log());
  REQUIRE(code.has_value());
  CHECK(*code == 0);

  n.restart();
  for (int i = 0; i < 10; ++i) {
    auto r = run_kvctl(with_node(n, {"get", "k" + std::to_string(i), "--raw"}));
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "v" + std::to_string(i));
  }
  // A context obtained before the restart still supersedes what it covered.
  auto resolve =
      run_kvctl(with_node(n, {"put", "k0", "v0-next", "--context", context_line(before.out)}));
  INFO(describe(resolve));
  CHECK(resolve.exit_code == 0);
  auto after = run_kvctl(with_node(n, {"get", "k0"}));
  INFO(describe(after));
  CHECK_THAT(after.out, Catch::StartsWith("v0-next\ncontext: "));
}

TEST_CASE("kvnode exits 2 on bad usage, before touching anything", "[integration][node]") {
  kv::test::temp_dir dir;
  auto port = "127.0.0.1:" + std::to_string(kv::test::free_port());
  auto data = dir.sub("data");
  using argv = std::vector<std::string>;
  auto args = GENERATE_COPY(values<argv>({
      {"--listen", port},  // no --data-dir
      {"--data-dir", data, "--listen", port, "--sync", "sometimes"},
      {"--data-dir", data, "--listen", "no-port-here"},
      {"--data-dir", data, "--listen", port, "--id", "bad id!"},
      {"--data-dir", data, "--listen", port, "--namespace", "cache:n=x"},
      {"--data-dir", data, "--listen", port, "--no-such-flag"},
  }));
  kv::test::process kvnode{kv::test::kvnode_path(), args, dir.sub("usage.log")};
  auto code = kvnode.wait_exit(5000ms);
  auto log = kv::test::read_file(dir.sub("usage.log"));
  std::string shown;
  for (auto& a : args) shown += " " + a;
  INFO("kvnode" << shown << "\n" << log);
  REQUIRE(code.has_value());
  CHECK(*code == 2);
  CHECK(kvnode.lines().empty());
  CHECK_FALSE(log.empty());
  CHECK_FALSE(std::filesystem::exists(data));
}

namespace {

// Runs kvnode with `args` on a fresh port and data dir (neither of which it may touch); returns
// its exit code (-1 if it did not exit) and its stderr.
std::pair<int, std::string> refused_start(const kv::test::temp_dir& dir,
                                          std::vector<std::string> args) {
  auto data = dir.sub("data");
  args.insert(args.end(), {"--data-dir", data, "--listen",
                           "127.0.0.1:" + std::to_string(kv::test::free_port())});
  kv::test::process kvnode{kv::test::kvnode_path(), args, dir.sub("stderr.log")};
  auto code = kvnode.wait_exit(5000ms);
  CHECK(kvnode.lines().empty());
  CHECK_FALSE(std::filesystem::exists(data));
  return {code.value_or(-1), kv::test::read_file(dir.sub("stderr.log"))};
}

}  // namespace

TEST_CASE("kvnode exits 2 naming the key when its config file has a misspelt or mistyped key",
          "[integration][node]") {
  kv::test::temp_dir dir;
  auto config = dir.sub("node.toml");
  using row = std::pair<std::string, std::string>;  // file, the error it gives
  auto [text, error] = GENERATE(values<row>({
      {"rack = \"r1\"\nmax_restart = 3\n",
       ":2: unknown key 'max_restart' (did you mean 'max_restarts'?)"},
      {"weight = \"3\"\n",
       ":1: key 'weight': expected an integer from 1 to 1000, got string \"3\""},
      {"[namespaces.s]\nmax_siblings = 0\n", ":2: key 'namespaces.s.max_siblings'"},
  }));
  REQUIRE(static_cast<bool>(std::ofstream{config} << text));
  auto [code, log] = refused_start(dir, {"--config", config});
  INFO(text << "\n" << log);
  CHECK(code == 2);
  CHECK_THAT(log, Catch::StartsWith("kvnode: INVALID_ARGUMENT config file " + config + error));
}

TEST_CASE("kvnode exits 2 naming the flag when a flag's value is bad", "[integration][node]") {
  kv::test::temp_dir dir;
  using row = std::pair<std::vector<std::string>, std::string>;  // flags, the error they give
  auto [args, error] = GENERATE(values<row>({
      {{"--weight", "abc"}, "flag --weight: expected an integer from 1 to 1000, got 'abc'"},
      {{"--weight", "0"}, "flag --weight: expected an integer from 1 to 1000, got '0'"},
      {{"--disk-reserve-mb", "lots"}, "flag --disk-reserve-mb: expected an integer from 0"},
      {{"--namespace", "s:max_object_bytes=1k"}, "flag --namespace: namespace 's': key "},
  }));
  auto [code, log] = refused_start(dir, args);
  INFO(args[0] << " " << args[1] << "\n" << log);
  CHECK(code == 2);
  CHECK_THAT(log, Catch::StartsWith("kvnode: INVALID_ARGUMENT " + error));
}

TEST_CASE("kvctl put reads a value from stdin with `-`, and binary values round-trip exactly",
          "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  auto piped = run_kvctl(with_node(n, {"put", "piped", "-"}), 10000ms, std::string{"from\nstdin"});
  INFO(describe(piped));
  REQUIRE(piped.exit_code == 0);
  auto back = run_kvctl(with_node(n, {"get", "piped", "--raw"}));
  CHECK(back.out == "from\nstdin");

  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  {
    std::ofstream out{dir.sub("binary"), std::ios::binary};
    out << binary;
  }
  REQUIRE(run_kvctl(with_node(n, {"put", "bytes", "--file", dir.sub("binary")})).exit_code == 0);
  auto raw = run_kvctl(with_node(n, {"get", "bytes", "--raw"}));
  CHECK(raw.exit_code == 0);
  CHECK(raw.out == binary);
  auto json = run_kvctl(with_node(n, {"--json", "get", "bytes"}));
  CHECK(json_check::valid(json.out));
  CHECK_THAT(json.out, Catch::Contains("\"value_base64\":"));
  auto text = run_kvctl(with_node(n, {"get", "bytes"}));
  CHECK(lines_of(text.out).size() == 2);  // escaped onto one line, then the context line
}

TEST_CASE("in a last-write-wins namespace two blind puts leave only the later value",
          "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str(), {"--namespace", "cache:n=1,lww=true"}};
  REQUIRE(run_kvctl(with_node(n, {"put", "k", "first", "--ns", "cache"})).exit_code == 0);
  REQUIRE(run_kvctl(with_node(n, {"put", "k", "second", "--ns", "cache"})).exit_code == 0);
  auto r = run_kvctl(with_node(n, {"get", "k", "--ns", "cache"}));
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("second\ncontext: "));
  // The same key in the causal default namespace is a different key.
  CHECK(run_kvctl(with_node(n, {"get", "k"})).exit_code == 1);
}

TEST_CASE("a namespace declared without n serves on a node of one", "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str(), {"--namespace", "users", "--namespace", "cache:lww=true"}};
  for (const char* ns : {"users", "cache", "default"}) {
    INFO("namespace " << ns);
    auto put = run_kvctl({"--node", n.address(), "put", "k", "v", "--ns", ns});
    CHECK(put.exit_code == 0);
    auto get = run_kvctl({"--node", n.address(), "get", "k", "--raw", "--ns", ns});
    CHECK(get.out == "v");
  }
}

TEST_CASE("a second kvnode on a data directory in use exits 1 saying so", "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  auto port = std::to_string(kv::test::free_port());
  kv::test::process rival{
      kv::test::kvnode_path(),
      {"--id", "n2", "--listen", "127.0.0.1:" + port, "--data-dir", n.data_dir()},
      dir.sub("rival.log")};
  auto code = rival.wait_exit(10000ms);
  auto log = kv::test::read_file(dir.sub("rival.log"));
  INFO(log);
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK_THAT(log, Catch::Contains("in use"));
  CHECK(rival.lines().empty());  // never ready
  CHECK(run_kvctl(with_node(n, {"status"})).exit_code == 0);
}

TEST_CASE("a second kvnode on a port in use exits 1 saying it cannot listen",
          "[integration][node]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  kv::test::process rival{kv::test::kvnode_path(),
                          {"--id", "n2", "--listen", n.address(), "--data-dir", dir.sub("rival")},
                          dir.sub("rival.log")};
  auto code = rival.wait_exit(10000ms);
  auto log = kv::test::read_file(dir.sub("rival.log"));
  INFO(log);
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK_THAT(log, Catch::Contains("cannot listen on " + n.address()));
  CHECK(rival.lines().empty());
  CHECK(run_kvctl(with_node(n, {"status"})).exit_code == 0);
}
