// test/integration/cluster_support.hpp
// What the three-node cluster tests share: bounded waiting, kvctl through a given node, a small
// reader for kvctl's JSON, the per-replica view of `kvctl --json explain`, member states, and a
// guard that freezes a node (SIGSTOP) and always thaws it.
#pragma once

#include <csignal>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "client/blocking_client.hpp"
#include "test/support/process.hpp"

namespace kv::test::cluster_support {

using namespace std::chrono_literals;
using kv::errc;
using kv::client::blocking_client;
using kv::client::request_options;
using kv::test::cli_result;
using kv::test::cluster;
using kv::test::node;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

inline milliseconds since(steady::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady::now() - start);
}

// Polls `done` until it holds (how long that took) or `bound` passes (nullopt).
template <class Predicate>
inline std::optional<milliseconds> wait_until(milliseconds bound, Predicate done) {
  auto start = steady::now();
  for (;;) {
    if (done()) return since(start);
    if (since(start) >= bound) return std::nullopt;
    std::this_thread::sleep_for(50ms);
  }
}

inline cli_result kvctl(const node& via, std::vector<std::string> args) {
  args.insert(args.begin(), {"--node", via.address()});
  return kv::test::run_kvctl(args);
}

inline std::string describe(const cli_result& r) {
  return "exit " + std::to_string(r.exit_code) + " after " + std::to_string(r.elapsed.count()) +
         " ms; stdout: " + r.out + "; stderr: " + r.err;
}

inline request_options writing(uint32_t w, milliseconds timeout = 3000ms, std::string ns = {}) {
  request_options opts;
  opts.w = w;
  opts.timeout = timeout;
  opts.ns = std::move(ns);
  return opts;
}

inline request_options reading(uint32_t r, milliseconds timeout = 3000ms, std::string ns = {}) {
  request_options opts;
  opts.r = r;
  opts.timeout = timeout;
  opts.ns = std::move(ns);
  return opts;
}

inline std::set<std::string> values_of(const kv::client::get_result& got) {
  std::set<std::string> result;
  for (auto& s : got.siblings) result.insert(s.deleted ? "(deleted)" : s.value);
  return result;
}

// -- kvctl's JSON -------------------------------------------------------------------------------

// A JSON value; numbers and literals are kept as their text.
struct json {
  enum class kind { null, literal, number, string, array, object };
  kind type = kind::null;
  std::string text;  // a string's value, a number's or literal's spelling
  std::vector<json> items;
  std::vector<std::pair<std::string, json>> fields;

  // A missing field reads as null.
  const json& operator[](const std::string& name) const {
    static const json none;
    for (auto& [k, v] : fields)
      if (k == name) return v;
    return none;
  }
  bool is_true() const { return type == kind::literal && text == "true"; }
};

// Enough of RFC 8259 for kvctl's output, which escapes only ASCII control characters.
class json_reader {
 public:
  // The one value `text` holds, or nullopt.
  static std::optional<json> parse(const std::string& text) {
    json_reader r{text};
    json v;
    if (!r.value(v)) return std::nullopt;
    r.space();
    if (r.i_ != text.size()) return std::nullopt;
    return v;
  }

 private:
  explicit json_reader(const std::string& s) : s_(s) {}
  bool eat(char c) { return i_ < s_.size() && s_[i_] == c ? (++i_, true) : false; }
  void space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      if (e == 'u') {
        auto hex = s_.substr(i_, 4);
        if (hex.size() != 4 || hex.find_first_not_of("0123456789abcdefABCDEF") != hex.npos)
          return false;
        auto code = std::stoul(hex, nullptr, 16);
        if (code >= 0x80) return false;
        out += static_cast<char>(code);
        i_ += 4;
      } else {
        static const std::string from = "nrtbf\"\\/", to = "\n\r\t\b\f\"\\/";
        auto at = from.find(e);
        if (at == from.npos) return false;
        out += to[at];
      }
    }
    return false;
  }
  template <class Item>
  bool sequence(char close, Item item) {
    space();
    if (eat(close)) return true;
    for (;;) {
      if (!item()) return false;
      space();
      if (eat(close)) return true;
      if (!eat(',')) return false;
    }
  }
  bool value(json& v) {
    space();
    if (i_ >= s_.size()) return false;
    if (eat('{')) {
      v.type = json::kind::object;
      return sequence('}', [&] {
        std::string name;
        json item;
        space();
        if (!string(name)) return false;
        space();
        if (!eat(':') || !value(item)) return false;
        v.fields.emplace_back(std::move(name), std::move(item));
        return true;
      });
    }
    if (eat('[')) {
      v.type = json::kind::array;
      return sequence(']', [&] {
        json item;
        if (!value(item)) return false;
        v.items.push_back(std::move(item));
        return true;
      });
    }
    if (s_[i_] == '"') {
      v.type = json::kind::string;
      return string(v.text);
    }
    auto end = std::min(s_.find_first_of(",}] \n\r\t", i_), s_.size());
    v.text = s_.substr(i_, end - i_);
    i_ = end;
    if (v.text == "true" || v.text == "false") return v.type = json::kind::literal, true;
    if (v.text == "null") return true;
    v.type = json::kind::number;
    return !v.text.empty() && v.text.find_first_not_of("-+.eE0123456789") == v.text.npos;
  }

  const std::string& s_;
  size_t i_ = 0;
};

inline json parse_json(const cli_result& r) {
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  auto parsed = json_reader::parse(r.out);
  REQUIRE(parsed);
  return *parsed;
}

// One replica of a key as `kvctl --json explain` shows it.
struct replica_view {
  std::string id, state, error;
  bool reachable = false;
  bool preferred = false;           // in the preference list (else asked with --all)
  std::vector<std::string> values;  // one per sibling; "(deleted)" for a tombstone
  std::map<std::string, std::string> version_vector;

  bool holds_only(const std::string& value) const {
    return reachable && values == std::vector<std::string>{value};
  }
};

// What every replica of `key` holds, in preference order, asked through `via`.
inline std::vector<replica_view> explain(const node& via, const std::string& key,
                                         const std::string& ns = "default",
                                         bool everywhere = false) {
  std::vector<std::string> args{"--json", "explain", key, "--ns", ns};
  if (everywhere) args.push_back("--all");
  auto doc = parse_json(kvctl(via, args));
  CHECK(doc["key"].text == key);
  CHECK(doc["ns"].text == ns);
  std::vector<replica_view> result;
  for (auto& r : doc["replicas"].items) {
    replica_view v;
    v.id = r["id"].text;
    v.state = r["state"].text;
    v.error = r["error"].text;
    v.reachable = r["reachable"].is_true();
    v.preferred = r["preferred"].is_true();
    for (auto& s : r["siblings"].items)
      v.values.push_back(s["deleted"].is_true() ? "(deleted)" : s["value"].text);
    for (auto& [actor, counter] : r["version_vector"].fields)
      v.version_vector[actor] = counter.text;
    result.push_back(std::move(v));
  }
  return result;
}

inline const replica_view& replica_of(const std::vector<replica_view>& views,
                                      const std::string& id) {
  for (auto& v : views)
    if (v.id == id) return v;
  FAIL("explain shows no replica " << id);
  throw std::logic_error("unreachable");
}

// Every replica reachable and holding exactly `value`, with one version vector among them.
inline bool all_hold(const std::vector<replica_view>& views, const std::string& value) {
  if (views.size() != 3) return false;
  for (auto& v : views)
    if (!v.holds_only(value) || v.version_vector != views.front().version_vector) return false;
  return true;
}

// Member id -> state word, as `kvctl --json status` through `via` reports them.
inline std::map<std::string, std::string> member_states(const node& via) {
  auto doc = parse_json(kvctl(via, {"--json", "status"}));
  std::map<std::string, std::string> result;
  for (auto& m : doc["members"].items) result[m["id"].text] = m["state"].text;
  return result;
}

using states = std::map<std::string, std::string>;
inline const states all_up{{"n1", "up"}, {"n2", "up"}, {"n3", "up"}};

// SIGSTOPs a node for its lifetime; SIGCONT when it goes, whatever the test did meanwhile.
class frozen {
 public:
  explicit frozen(node& n) : n_(n) { REQUIRE(n_.proc().freeze()); }
  ~frozen() { thaw(); }
  frozen(const frozen&) = delete;
  frozen& operator=(const frozen&) = delete;
  void thaw() {
    if (!thawed_) static_cast<void>(n_.proc().signal(SIGCONT));  // ignored: it may be gone
    thawed_ = true;
  }

 private:
  node& n_;
  bool thawed_ = false;
};

}  // namespace kv::test::cluster_support
