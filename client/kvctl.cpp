// kvctl: the operator's and developer's command line for ringkv.
// Output: results on stdout; errors on stderr as one line starting with the error code name.
// Exit codes: 0 ok, 1 not found, 2 bad input or usage, 3 unavailable, 4 timeout (outcome
// unknown), 5 any other error, 6 unauthenticated or permission denied.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <google/protobuf/util/json_util.h>
#include <CLI/CLI.hpp>

#include "client/blocking_client.hpp"
#include "messages/client.pb.h"
#include "messages/node.pb.h"
#include "messages/token.hpp"

namespace {

using namespace kv::client;
using kv::decode_token;
using kv::encode_token;

enum exit_code : int {
  ok = 0,
  not_found = 1,
  usage = 2,
  unavailable = 3,
  timed_out = 4,
  other = 5,
  refused = 6,  // unauthenticated or permission denied
};

int exit_for(kv::errc code) {
  switch (code) {
    case kv::errc::none:
      return ok;
    case kv::errc::not_found:
      return not_found;
    case kv::errc::invalid_argument:
    case kv::errc::too_large:
      return usage;
    case kv::errc::unavailable:
      return unavailable;
    case kv::errc::timeout:
      return timed_out;
    case kv::errc::unauthenticated:
    case kv::errc::permission_denied:
      return refused;
    default:
      return other;
  }
}

int fail(kv::errc code, const std::string& message) {
  std::cerr << to_string(code) << " " << message << std::endl;
  return exit_for(code);
}

int fail(const error_info& err) {
  return fail(err.code, err.message);
}

// -- output helpers ---------------------------------------------------------------------------

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += len;
  }
  return true;
}

// Printable as is; otherwise C-style escapes, so a line stays a line.
std::string printable(std::string_view s) {
  bool plain = valid_utf8(s);
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F || c == '\\') plain = false;
  if (plain) return std::string{s};
  std::string out;
  char buf[8];
  for (unsigned char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c >= 0x20 && c < 0x7F)
      out += static_cast<char>(c);
    else {
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  char buf[8];
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A value as JSON: a string when it is UTF-8, else base64url under "value_base64".
std::string json_value(std::string_view v) {
  if (valid_utf8(v)) return "\"value\":" + json_string(v);
  return "\"value_base64\":" + json_string(encode_token(v));
}

// -- commands ---------------------------------------------------------------------------------

struct common {
  std::string node;
  std::string admin;  // empty: the node's address with the port + 200
  bool json = false;
  int64_t timeout_ms = 5000;
  std::string cert, key, ca, token;
};

struct consistency {
  std::string ns;
  uint32_t n = 0;
  uint32_t quorum = 0;  // r or w
  std::string level;
  std::string context;  // token as typed
};

void add_consistency(CLI::App* cmd, consistency& c, const char* quorum_flag, const char* what) {
  cmd->add_option("--ns", c.ns, "namespace (default: default)");
  cmd->add_option("--n", c.n, "replicas to involve (default: the namespace's n)");
  cmd->add_option(quorum_flag, c.quorum, what);
  cmd->add_option("--level", c.level, "one, quorum, all or local_quorum (instead of a number)")
      ->check(CLI::IsMember({"one", "quorum", "all", "local_quorum"}));
}

request_options options_of(const common& g, const consistency& c, bool write) {
  request_options opts;
  opts.ns = c.ns;
  opts.n = c.n;
  (write ? opts.w : opts.r) = c.quorum;
  if (!c.level.empty()) opts.lvl = *parse_level(c.level);
  opts.timeout = std::chrono::milliseconds{g.timeout_ms};
  return opts;
}

client_config config_of(const common& g) {
  client_config cfg;
  cfg.nodes = {g.node};
  if (!g.admin.empty()) cfg.admin_nodes = {g.admin};
  cfg.default_timeout = std::chrono::milliseconds{g.timeout_ms};
  cfg.connect_timeout = std::min(cfg.default_timeout, std::chrono::milliseconds{3000});
  cfg.grace = std::chrono::milliseconds{500};
  cfg.scheduler_threads = 1;
  cfg.cert = g.cert;
  cfg.key = g.key;
  cfg.ca = g.ca;
  cfg.token = g.token;
  kv::client::apply_credential_defaults(cfg);
  return cfg;
}

std::optional<std::string> context_bytes(const std::string& token) {
  return decode_token(token);
}

int print_context_written(const common& g, const std::string& context) {
  if (g.json)
    std::cout << "{\"ok\":true,\"context\":" << json_string(encode_token(context)) << "}\n";
  else
    std::cout << "context: " << encode_token(context) << "\n";
  return ok;
}

int cmd_put(const common& g, const consistency& c, const std::string& key,
            const std::optional<std::string>& value, const std::string& file) {
  std::string data;
  if (value && !file.empty())
    return fail(kv::errc::invalid_argument, "give VALUE or --file, not both");
  if (value && *value == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else if (value) {
    data = *value;
  } else if (!file.empty()) {
    std::ifstream in{file, std::ios::binary};
    if (!in) return fail(kv::errc::invalid_argument, "cannot read --file " + file);
    data.assign(std::istreambuf_iterator<char>(in), {});
  } else {
    return fail(kv::errc::invalid_argument, "put needs VALUE, --file PATH or - (stdin)");
  }
  auto ctx = context_bytes(c.context);
  if (!ctx) return fail(kv::errc::invalid_argument, "malformed context token");
  blocking_client db{config_of(g)};
  auto written = db.put(key, data, options_of(g, c, true), *ctx);
  if (!written) return fail(written.error());
  return print_context_written(g, *written);
}

int cmd_del(const common& g, const consistency& c, const std::string& key) {
  auto ctx = context_bytes(c.context);
  if (!ctx) return fail(kv::errc::invalid_argument, "malformed context token");
  blocking_client db{config_of(g)};
  auto written = db.del(key, options_of(g, c, true), *ctx);
  if (!written) return fail(written.error());
  if (c.context.empty() && !g.json)
    std::cerr << "note: deleted without --context: values written before stay as siblings of the "
                 "tombstone; pass the context of a get to delete them\n";
  return print_context_written(g, *written);
}

void print_get_json(const get_result& got) {
  std::cout << "{\"found\":" << (got.found() ? "true" : "false") << ",\"siblings\":[";
  for (size_t i = 0; i < got.siblings.size(); ++i) {
    auto& s = got.siblings[i];
    std::cout << (i ? "," : "") << "{" << json_value(s.value)
              << ",\"deleted\":" << (s.deleted ? "true" : "false")
              << ",\"timestamp_ms\":" << s.timestamp_ms << ",\"version\":" << json_string(s.version)
              << "}";
  }
  std::cout << "],\"context\":" << json_string(encode_token(got.context)) << "}\n";
}

void print_get_text(const get_result& got) {
  if (got.siblings.size() == 1 && !got.siblings[0].deleted) {
    std::cout << printable(got.siblings[0].value) << "\n";
  } else {
    for (size_t i = 0; i < got.siblings.size(); ++i) {
      auto& s = got.siblings[i];
      std::cout << "sibling " << i + 1 << ": " << (s.deleted ? "(deleted)" : printable(s.value))
                << "\n";
    }
  }
  std::cout << "context: " << encode_token(got.context) << "\n";
}

int cmd_get(const common& g, const consistency& c, const std::string& key, bool raw) {
  blocking_client db{config_of(g)};
  auto got = db.get(key, options_of(g, c, false));
  if (!got) return fail(got.error());
  auto missing =
      "key '" + printable(key) + "' in namespace '" + (c.ns.empty() ? "default" : c.ns) + "'";
  if (g.json) {
    print_get_json(*got);
    return got->found() ? ok : fail(kv::errc::not_found, missing);
  }
  if (!got->found()) {
    if (!got->context.empty()) std::cout << "context: " << encode_token(got->context) << "\n";
    return fail(kv::errc::not_found, missing);
  }
  if (raw) {
    if (got->siblings.size() != 1)
      return fail(kv::errc::invalid_argument,
                  std::to_string(got->siblings.size()) + " siblings; --raw needs exactly one");
    std::cout << got->siblings[0].value << std::flush;
    return ok;
  }
  print_get_text(*got);
  return ok;
}

std::string duration_text(int64_t ms) {
  auto s = ms / 1000;
  std::ostringstream out;
  if (s >= 86400) out << s / 86400 << "d";
  if (s >= 3600) out << (s / 3600) % 24 << "h";
  if (s >= 60) out << (s / 60) % 60 << "m";
  out << s % 60 << "s";
  return out.str();
}

const char* state_word(kv::msg::MemberState s) {
  switch (s) {
    case kv::msg::MEMBER_UP:
      return "up";
    case kv::msg::MEMBER_DOWN:
      return "down";
    case kv::msg::MEMBER_JOINING:
      return "joining";
    case kv::msg::MEMBER_LEAVING:
      return "leaving";
    case kv::msg::MEMBER_REMOVED:
      return "removed";
    default:
      return "unknown";
  }
}

// "up", "down", or "up?" for a member not declared down that this node cannot reach now.
std::string state_text(const kv::msg::Member& m) {
  std::string result = state_word(m.state());
  if (!m.reachable() && m.state() != kv::msg::MEMBER_DOWN && m.state() != kv::msg::MEMBER_REMOVED)
    result += "?";
  return result;
}

// How long ago a member was last heard: "self", "0.2s ago", "never".
std::string heard_text(const kv::msg::Member& m, const std::string& self) {
  if (m.id() == self) return "self";
  if (m.last_heard_ms() < 0) return "never";
  if (m.last_heard_ms() < 60000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs ago", m.last_heard_ms() / 1000.0);
    return buf;
  }
  return duration_text(m.last_heard_ms()) + " ago";
}

const char* readiness_word(kv::msg::Readiness r) {
  switch (r) {
    case kv::msg::READINESS_STARTING:
      return "starting";
    case kv::msg::READINESS_SERVING:
      return "serving";
    case kv::msg::READINESS_LEAVING:
      return "leaving";
    default:
      return "unknown";
  }
}

void print_status_text(const kv::msg::StatusReply& s) {
  std::printf("node %s at %s, %s, ringkv %s, up %s, version-vector actor %s\n", s.node_id().c_str(),
              s.address().c_str(), readiness_word(s.readiness()), s.version().c_str(),
              duration_text(s.uptime_ms()).c_str(), s.epoch().c_str());
  std::printf("listeners: clients %s, peers %s, operators %s\n", s.address().c_str(),
              s.peer_address().c_str(), s.admin_address().c_str());
  std::printf("%-12s %-22s %-8s %-10s %-8s %-6s %-8s %s\n", "ID", "PEER ADDRESS", "STATE", "RACK",
              "DC", "WEIGHT", "REPLICAS", "HEARD");
  for (auto& m : s.members())
    std::printf("%-12s %-22s %-8s %-10s %-8s %-6u %-8u %s\n", m.id().c_str(), m.address().c_str(),
                state_text(m).c_str(), m.rack().c_str(), m.datacenter().c_str(), m.weight(),
                m.replicas(), heard_text(m, s.node_id()).c_str());
  std::string namespaces;
  for (auto& ns : s.namespaces()) namespaces += (namespaces.empty() ? "" : ", ") + ns;
  std::printf("partitions %u, sync %s, namespaces: %s\n", s.partitions(),
              s.sync() ? "always" : "none (unsynced writes are lost on power loss)",
              namespaces.c_str());
  auto& st = s.storage();
  auto per_sync = st.wal_syncs() > 0 ? static_cast<double>(st.writes()) / st.wal_syncs() : 0.0;
  std::printf(
      "storage: %llu writes in %llu commits, %llu fsyncs (%.1f writes per fsync), ~%llu keys, "
      "%.1f MiB live, %.1f MiB cached\n",
      static_cast<unsigned long long>(st.writes()), static_cast<unsigned long long>(st.commits()),
      static_cast<unsigned long long>(st.wal_syncs()), per_sync,
      static_cast<unsigned long long>(st.estimated_keys()), st.live_data_bytes() / 1048576.0,
      st.block_cache_bytes() / 1048576.0);
  std::string actors;
  uint64_t restarts = 0;
  for (auto& a : s.actors()) {
    restarts += a.restarts();
    if (a.restarts() > 0 || !a.running())
      actors += " " + a.role() + (a.running() ? "" : " (down)") + " restarted " +
                std::to_string(a.restarts()) + "x;";
  }
  std::printf("actors: %d, %llu restarts%s\n", s.actors_size(),
              static_cast<unsigned long long>(restarts),
              actors.empty() ? "" : (":" + actors).c_str());
}

void print_status_json(const kv::msg::StatusReply& s) {
  std::cout << "{\"node_id\":" << json_string(s.node_id())
            << ",\"address\":" << json_string(s.address())
            << ",\"version\":" << json_string(s.version()) << ",\"uptime_ms\":" << s.uptime_ms()
            << ",\"epoch\":" << json_string(s.epoch()) << ",\"partitions\":" << s.partitions()
            << ",\"sync\":" << (s.sync() ? "true" : "false") << ",\"readiness\":\""
            << readiness_word(s.readiness()) << "\",\"members\":[";
  for (int i = 0; i < s.members_size(); ++i) {
    auto& m = s.members(i);
    std::cout << (i ? "," : "") << "{\"id\":" << json_string(m.id())
              << ",\"address\":" << json_string(m.address()) << ",\"state\":\""
              << state_word(m.state()) << "\",\"rack\":" << json_string(m.rack())
              << ",\"datacenter\":" << json_string(m.datacenter()) << ",\"weight\":" << m.weight()
              << ",\"replicas\":" << m.replicas() << ",\"last_heard_ms\":" << m.last_heard_ms()
              << ",\"reachable\":" << (m.reachable() ? "true" : "false") << "}";
  }
  auto& st = s.storage();
  std::cout << "],\"storage\":{\"writes\":" << st.writes() << ",\"commits\":" << st.commits()
            << ",\"synced_commits\":" << st.synced_commits() << ",\"wal_syncs\":" << st.wal_syncs()
            << ",\"bytes_written\":" << st.bytes_written()
            << ",\"estimated_keys\":" << st.estimated_keys()
            << ",\"live_data_bytes\":" << st.live_data_bytes()
            << ",\"block_cache_bytes\":" << st.block_cache_bytes() << "},\"actors\":[";
  for (int i = 0; i < s.actors_size(); ++i) {
    auto& a = s.actors(i);
    std::cout << (i ? "," : "") << "{\"role\":" << json_string(a.role())
              << ",\"restarts\":" << a.restarts()
              << ",\"running\":" << (a.running() ? "true" : "false") << "}";
  }
  std::cout << "]}\n";
}

int cmd_status(const common& g) {
  blocking_client db{config_of(g)};
  auto s = db.status();
  if (!s) return fail(s.error());
  if (g.json)
    print_status_json(*s);
  else
    print_status_text(*s);
  return ok;
}

// For health checks and scripts: 0 once the node serves requests, else UNAVAILABLE (3) saying
// why. A node answers `status` while it still learns its members; it serves only after that.
int cmd_ready(const common& g) {
  blocking_client db{config_of(g)};
  auto s = db.status();
  if (!s) return fail(s.error());
  switch (s->readiness()) {
    case kv::msg::READINESS_SERVING:
      std::printf("%s serving\n", s->node_id().c_str());
      return ok;
    case kv::msg::READINESS_LEAVING:
      return fail(kv::errc::unavailable,
                  s->node_id() + " is leaving: it hands its data off and stops");
    case kv::msg::READINESS_STARTING:
      return fail(kv::errc::unavailable,
                  s->node_id() + " is starting: it still learns its cluster's members (seeds)");
    default:
      return fail(kv::errc::unavailable, s->node_id() + " does not say whether it serves");
  }
}

int cmd_ring(const common& g, const std::string& ns) {
  blocking_client db{config_of(g)};
  auto r = db.ring(ns);
  if (!r) return fail(r.error());
  uint64_t total = 0;
  for (auto& s : r->shares()) total += s.replicas();
  if (g.json) {
    std::cout << "{\"partitions\":" << r->partitions() << ",\"n\":" << r->n()
              << ",\"tokens_per_weight\":" << r->tokens_per_weight()
              << ",\"max_over_mean\":" << r->max_over_mean() << ",\"members\":[";
    for (int i = 0; i < r->shares_size(); ++i) {
      auto& s = r->shares(i);
      auto& m = s.member();
      std::cout << (i ? "," : "") << "{\"id\":" << json_string(m.id())
                << ",\"address\":" << json_string(m.address()) << ",\"state\":\""
                << state_word(m.state()) << "\",\"rack\":" << json_string(m.rack())
                << ",\"datacenter\":" << json_string(m.datacenter()) << ",\"weight\":" << m.weight()
                << ",\"primaries\":" << s.primaries() << ",\"replicas\":" << s.replicas() << "}";
    }
    std::cout << "]}\n";
    return ok;
  }
  std::printf("ring: %u partitions, %d members, replicas counted with n=%u, %u tokens per weight\n",
              r->partitions(), r->shares_size(), r->n(), r->tokens_per_weight());
  std::printf("%-12s %-22s %-6s %-10s %-8s %-6s %-8s %-8s %s\n", "ID", "ADDRESS", "STATE", "RACK",
              "DC", "WEIGHT", "PRIMARY", "REPLICAS", "SHARE");
  for (auto& s : r->shares()) {
    auto& m = s.member();
    std::printf("%-12s %-22s %-6s %-10s %-8s %-6u %-8u %-8u %.1f%%\n", m.id().c_str(),
                m.address().c_str(), state_word(m.state()), m.rack().c_str(),
                m.datacenter().c_str(), m.weight(), s.primaries(), s.replicas(),
                total ? 100.0 * s.replicas() / total : 0.0);
  }
  std::printf("balance: the most loaded member holds %.2fx the mean number of replicas\n",
              r->max_over_mean());
  return ok;
}

std::string version_text(const kv::msg::Dot& d) {
  return d.actor() + ":" + std::to_string(d.counter());
}

void print_replica_text(const kv::msg::ReplicaView& v) {
  auto& m = v.member();
  std::printf("%-12s %-22s %-5s ", (m.id() + (v.preferred() ? "" : " (not in list)")).c_str(),
              m.address().c_str(), state_word(m.state()));
  if (!v.reachable()) {
    std::printf("not read: %s\n", v.error().c_str());
    return;
  }
  if (!v.has_object() || v.object().siblings_size() == 0) {
    std::printf("(nothing stored)\n");
    return;
  }
  auto& obj = v.object();
  for (int i = 0; i < obj.siblings_size(); ++i) {
    auto& s = obj.siblings(i);
    std::printf("%s%s  [%s]\n", i ? std::string(42, ' ').c_str() : "",
                s.deleted() ? "(deleted)" : printable(s.value()).c_str(),
                version_text(s.dot()).c_str());
  }
  std::string vv;
  for (auto& e : obj.context().entries())
    vv += (vv.empty() ? "" : ", ") + e.actor() + ":" + std::to_string(e.counter());
  std::printf("%42scontext {%s}\n", "", vv.c_str());
}

void print_replica_json(const kv::msg::ReplicaView& v) {
  auto& m = v.member();
  std::cout << "{\"id\":" << json_string(m.id()) << ",\"address\":" << json_string(m.address())
            << ",\"state\":\"" << state_word(m.state())
            << "\",\"reachable\":" << (v.reachable() ? "true" : "false")
            << ",\"preferred\":" << (v.preferred() ? "true" : "false");
  if (!v.error().empty()) std::cout << ",\"error\":" << json_string(v.error());
  std::cout << ",\"siblings\":[";
  if (v.has_object()) {
    auto& obj = v.object();
    for (int i = 0; i < obj.siblings_size(); ++i) {
      auto& s = obj.siblings(i);
      std::cout << (i ? "," : "") << "{" << json_value(s.value())
                << ",\"deleted\":" << (s.deleted() ? "true" : "false")
                << ",\"timestamp_ms\":" << s.timestamp_ms()
                << ",\"version\":" << json_string(version_text(s.dot())) << "}";
    }
  }
  std::cout << "],\"version_vector\":{";
  if (v.has_object()) {
    auto& entries = v.object().context().entries();
    for (int i = 0; i < entries.size(); ++i)
      std::cout << (i ? "," : "") << json_string(entries[i].actor()) << ":" << entries[i].counter();
  }
  std::cout << "}}";
}

int cmd_explain(const common& g, const consistency& c, const std::string& key, bool everywhere) {
  blocking_client db{config_of(g)};
  auto r = db.explain(key, options_of(g, c, false), everywhere);
  if (!r) return fail(r.error());
  if (g.json) {
    std::cout << "{\"ns\":" << json_string(r->ns()) << ",\"key\":" << json_string(r->key())
              << ",\"partition\":" << r->partition() << ",\"n\":" << r->n() << ",\"replicas\":[";
    for (int i = 0; i < r->replicas_size(); ++i) {
      std::cout << (i ? "," : "");
      print_replica_json(r->replicas(i));
    }
    std::cout << "]}\n";
    return ok;
  }
  std::printf("key '%s' in namespace '%s': partition %u, n=%u\n", printable(key).c_str(),
              r->ns().c_str(), r->partition(), r->n());
  for (auto& v : r->replicas()) print_replica_text(v);
  return ok;
}

int cmd_fail_actor(const common& g, const std::string& role, const std::string& reason) {
  blocking_client db{config_of(g)};
  auto r = db.fail_actor(role, reason);
  if (!r) return fail(r.error());
  if (g.json)
    std::cout << "{\"ok\":true,\"role\":" << json_string(*r) << "}\n";
  else
    std::cout << *r << " failed on purpose; its supervisor restarts it\n";
  return ok;
}

int cmd_leave(const common& g) {
  blocking_client db{config_of(g)};
  auto r = db.leave();
  if (!r) return fail(r.error());
  if (g.json)
    std::cout << "{\"ok\":true,\"id\":" << json_string(r->id()) << ",\"state\":\""
              << state_word(r->state()) << "\"}\n";
  else
    std::cout << r->id() << " is leaving: it hands its partitions to their new holders, then "
              << "stops (follow with: kvctl transfers --watch)\n";
  return ok;
}

// "[#########-----------] 45%".
std::string progress_bar(double fraction, int width = 30) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int full = static_cast<int>(fraction * width + 0.5);
  return "[" + std::string(full, '#') + std::string(width - full, '-') + "] " +
         std::to_string(static_cast<int>(fraction * 100 + 0.5)) + "%";
}

void print_transfers_text(const kv::msg::TransfersReply& t) {
  auto pending = static_cast<uint32_t>(t.transfers_size());
  double fraction = t.planned() == 0 ? 1.0 : static_cast<double>(t.done()) / t.planned();
  std::string eta = "-";
  if (pending > 0 && t.keys_per_second() > 0 && t.done() > 0) {
    double keys_left = static_cast<double>(t.keys_sent()) / t.done() * pending;
    eta = duration_text(static_cast<int64_t>(keys_left / t.keys_per_second() * 1000));
  }
  std::printf(
      "%s %u of %u transfers done, %u pending, %u partitions to drop; %llu keys "
      "(%.1f MiB) sent, %.0f keys/s, ETA %s; %llu keys dropped\n",
      progress_bar(fraction).c_str(), t.done(), t.planned(), pending, t.drops_pending(),
      static_cast<unsigned long long>(t.keys_sent()), t.bytes_sent() / 1048576.0,
      t.keys_per_second(), eta.c_str(), static_cast<unsigned long long>(t.keys_dropped()));
  int shown = 0;
  for (auto& x : t.transfers()) {
    if (++shown > 5) {
      std::printf("  ... %d more\n", t.transfers_size() - 5);
      break;
    }
    std::printf("  partition %u -> %s, pass %u%s, %llu keys sent\n", x.partition(),
                x.target().c_str(), x.pass(), x.active() ? " (sending)" : "",
                static_cast<unsigned long long>(x.keys_sent()));
  }
}

void print_transfers_json(const kv::msg::TransfersReply& t) {
  std::cout << "{\"planned\":" << t.planned() << ",\"done\":" << t.done()
            << ",\"pending\":" << t.transfers_size() << ",\"drops_pending\":" << t.drops_pending()
            << ",\"keys_sent\":" << t.keys_sent() << ",\"bytes_sent\":" << t.bytes_sent()
            << ",\"keys_dropped\":" << t.keys_dropped()
            << ",\"keys_per_second\":" << t.keys_per_second() << ",\"transfers\":[";
  for (int i = 0; i < t.transfers_size(); ++i) {
    auto& x = t.transfers(i);
    std::cout << (i ? "," : "") << "{\"partition\":" << x.partition()
              << ",\"target\":" << json_string(x.target()) << ",\"pass\":" << x.pass()
              << ",\"active\":" << (x.active() ? "true" : "false")
              << ",\"keys_sent\":" << x.keys_sent() << "}";
  }
  std::cout << "]}\n";
}

int cmd_transfers(const common& g, bool watch) {
  blocking_client db{config_of(g)};
  for (;;) {
    auto r = db.transfers();
    if (!r) return fail(r.error());
    if (g.json)
      print_transfers_json(*r);
    else
      print_transfers_text(*r);
    std::cout.flush();
    if (!watch || (r->transfers_size() == 0 && r->drops_pending() == 0)) return ok;
    std::this_thread::sleep_for(std::chrono::seconds{1});
  }
}

int cmd_remove(const common& g, const std::string& id, bool force) {
  blocking_client db{config_of(g)};
  auto r = db.remove_member(id, force);
  if (!r) return fail(r.error());
  if (g.json)
    std::cout << "{\"ok\":true,\"id\":" << json_string(r->id()) << ",\"state\":\""
              << state_word(r->state()) << "\"}\n";
  else
    std::cout << r->id() << " removed: its replicas move to the next members of each preference "
              << "list; gossip spreads the word\n";
  return ok;
}

// One reply as JSON, with every field (zeros included) under its proto name.
void print_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  static_cast<void>(google::protobuf::util::MessageToJsonString(m, &out, options));
  std::cout << out << "\n";
}

std::string ago(int64_t when_ms) {
  if (when_ms == 0) return "never";
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return duration_text(std::max<int64_t>(0, now - when_ms)) + " ago";
}

int cmd_repair_status(const common& g, bool all) {
  blocking_client db{config_of(g)};
  auto r = db.repair_status();
  if (!r) return fail(r.error());
  if (g.json) {
    print_json(*r);
    return ok;
  }
  std::string per_sweep;
  for (auto n : r->repaired_per_sweep()) per_sweep += " " + std::to_string(n);
  std::printf(
      "anti-entropy: %d partitions held, %u waiting to go first (%u for dropped hints); %llu "
      "exchanges, %llu keys "
      "differed, %llu repaired; %llu hashes and %llu key digests compared\n"
      "sweep: every partition once per %s; %llu sweeps done; keys repaired per sweep:%s\n",
      r->partitions_size(), r->urgent(), r->marked(),
      static_cast<unsigned long long>(r->exchanges()),
      static_cast<unsigned long long>(r->differences()),
      static_cast<unsigned long long>(r->repaired()),
      static_cast<unsigned long long>(r->hashes_compared()),
      static_cast<unsigned long long>(r->keys_listed()), duration_text(r->sweep_ms()).c_str(),
      static_cast<unsigned long long>(r->sweeps()), per_sweep.empty() ? " -" : per_sweep.c_str());
  std::printf("%-9s  %-14s  %9s  %11s  %8s  %s\n", "PARTITION", "LAST EXCHANGE", "EXCHANGES",
              "DIFFERENCES", "REPAIRED", "NOTE");
  int hidden = 0;
  for (auto& p : r->partitions()) {
    bool notable = p.differences() > 0 || p.urgent() || !p.last_error().empty();
    if (!all && !notable) {
      ++hidden;
      continue;
    }
    std::string note = p.urgent() ? "goes first" : "";
    if (!p.last_error().empty()) note += (note.empty() ? "" : "; ") + p.last_error();
    std::printf("%-9u  %-14s  %9llu  %11llu  %8llu  %s\n", p.partition(),
                ago(p.last_exchange_ms()).c_str(), static_cast<unsigned long long>(p.exchanges()),
                static_cast<unsigned long long>(p.differences()),
                static_cast<unsigned long long>(p.repaired()), note.c_str());
  }
  if (hidden > 0) std::printf("(%d partitions in sync and not shown; --all shows them)\n", hidden);
  return ok;
}

int cmd_hints(const common& g) {
  blocking_client db{config_of(g)};
  auto r = db.hints();
  if (!r) return fail(r.error());
  if (g.json) {
    print_json(*r);
    return ok;
  }
  std::printf(
      "hints: %llu held (%.2f MiB) for %d members; %llu replayed; dropped: %llu too old, %llu "
      "over the size bound; bounds %.0f MiB and %s\n",
      static_cast<unsigned long long>(r->hints()), r->bytes() / 1048576.0, r->owners_size(),
      static_cast<unsigned long long>(r->replayed()),
      static_cast<unsigned long long>(r->dropped_age()),
      static_cast<unsigned long long>(r->dropped_size()), r->max_bytes() / 1048576.0,
      duration_text(static_cast<int64_t>(r->max_age_ms())).c_str());
  if (r->owners_size() == 0) return ok;
  std::printf("%-16s  %8s  %10s  %-14s  %s\n", "FOR", "HINTS", "BYTES", "OLDEST", "REACHABLE");
  for (auto& o : r->owners())
    std::printf("%-16s  %8llu  %10llu  %-14s  %s\n", o.owner().c_str(),
                static_cast<unsigned long long>(o.hints()),
                static_cast<unsigned long long>(o.bytes()), ago(o.oldest_ms()).c_str(),
                o.reachable() ? "yes (replaying)" : "no (waiting)");
  return ok;
}

int cmd_compaction(const common& g) {
  blocking_client db{config_of(g)};
  auto r = db.compaction();
  if (!r) return fail(r.error());
  if (g.json) {
    print_json(*r);
    return ok;
  }
  std::printf(
      "garbage collection: %llu passes, the last %s; %llu keys scanned; %llu tombstones purged, "
      "%llu past grace waiting for every replica to hold them; %llu expired by TTL; grace %s\n"
      "RocksDB: %llu range compactions asked; %.2f MiB in tables, %.2f MiB pending compaction, "
      "%llu compactions running\n",
      static_cast<unsigned long long>(r->passes()), ago(r->last_pass_ms()).c_str(),
      static_cast<unsigned long long>(r->keys_scanned()),
      static_cast<unsigned long long>(r->tombstones_purged()),
      static_cast<unsigned long long>(r->tombstones_waiting()),
      static_cast<unsigned long long>(r->expired()),
      duration_text(static_cast<int64_t>(r->grace_ms())).c_str(),
      static_cast<unsigned long long>(r->compactions()), r->sst_bytes() / 1048576.0,
      r->pending_compaction_bytes() / 1048576.0,
      static_cast<unsigned long long>(r->running_compactions()));
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kvctl: talk to a ringkv node.\n"
      "Exit codes: 0 ok, 1 not found, 2 bad input, 3 unavailable, 4 timeout (a write\n"
      "may or may not have been applied), 5 other error, 6 unauthenticated or\n"
      "permission denied. Errors go to stderr as one line starting with the error\n"
      "code name."};
  app.require_subcommand(1);
  app.fallthrough();
  common g;
  const char* env_node = std::getenv("KV_NODE");
  g.node = env_node != nullptr && *env_node != '\0' ? env_node : "127.0.0.1:7101";
  app.add_option("--node", g.node,
                 "HOST:PORT of a node's client listener (default $KV_NODE or 127.0.0.1:7101)");
  const char* env_admin = std::getenv("KV_ADMIN");
  if (env_admin != nullptr) g.admin = env_admin;
  app.add_option("--admin", g.admin,
                 "HOST:PORT of a node's admin listener, for the operator verbs (fail-actor,\n"
                 "explain, leave, remove, transfers, hints, compaction, repair-status); default\n"
                 "$KV_ADMIN, else --node's host with its port + 200 (kvnode's default)");
  app.add_option("--cert", g.cert,
                 "client certificate (PEM, scripts/certs.sh --clients NAME): who you are to a\n"
                 "node with TLS; default $RINGKV_CERT, else client.pem in ~/.ringkv")
      ->type_name("FILE");
  app.add_option("--key", g.key, "key of --cert; default $RINGKV_KEY, else ~/.ringkv/client.key")
      ->type_name("FILE");
  app.add_option("--ca", g.ca,
                 "the cluster CA (PEM): connect with TLS and trust only it; default\n"
                 "$RINGKV_CA, else ~/.ringkv/ca.pem")
      ->type_name("FILE");
  app.add_option("--token", g.token,
                 "bearer token from the node's ACL, instead of a certificate; default\n"
                 "$RINGKV_TOKEN (prefer the variable: arguments show in ps)");
  app.add_flag("--json", g.json, "machine-readable output");
  app.add_option("--timeout", g.timeout_ms, "request deadline in milliseconds (default 5000)")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));

  consistency put_c, get_c, del_c;
  std::string key, file, role, reason;
  std::optional<std::string> value;
  bool raw = false;

  auto* put = app.add_subcommand(
      "put", "store a value; with --context it supersedes what that get returned");
  put->add_option("KEY", key, "key")->required();
  put->add_option("VALUE", value, "value, or - to read it from stdin");
  put->add_option("--file", file, "read the value from a file");
  add_consistency(put, put_c, "--w", "acknowledgements to wait for (default: quorum)");
  put->add_option("--context", put_c.context, "context token from a get: resolves its siblings");

  auto* get = app.add_subcommand("get", "print every sibling of a key and its context token");
  get->add_option("KEY", key, "key")->required();
  add_consistency(get, get_c, "--r", "replies to wait for (default: quorum)");
  get->add_flag("--raw", raw, "write the value's exact bytes (one sibling only)");

  auto* del =
      app.add_subcommand("del", "delete a key (a tombstone, with the same context rules as put)");
  del->add_option("KEY", key, "key")->required();
  add_consistency(del, del_c, "--w", "acknowledgements to wait for (default: quorum)");
  del->add_option("--context", del_c.context, "context token from a get");

  auto* status = app.add_subcommand("status", "describe the node and the members it knows");
  auto* ready = app.add_subcommand(
      "ready", "exit 0 once the node serves requests, else 3 (for health checks and scripts)");

  std::string ring_ns;
  auto* ring = app.add_subcommand("ring", "each member's share of the data, and the balance");
  ring->add_option("--ns", ring_ns, "count replicas with this namespace's n (default: default)");

  consistency explain_c;
  auto* explain = app.add_subcommand("explain", "what each replica of a key holds, asked directly");
  explain->add_option("KEY", key, "key")->required();
  explain->add_option("--ns", explain_c.ns, "namespace (default: default)");
  bool everywhere = false;
  explain->add_flag("--all", everywhere,
                    "ask every member, not only the preference list (copies left elsewhere)");

  auto* fail_actor =
      app.add_subcommand("fail-actor", "make a named actor fail on purpose (chaos, tests)");
  fail_actor->add_option("ROLE", role, "registry name: coordinator, replica.0, ...")->required();
  fail_actor->add_option("--reason", reason, "why, for the node's log");

  auto* leave = app.add_subcommand(
      "leave", "the node asked hands its partitions to their new holders, then stops");
  bool watch = false;
  auto* transfers = app.add_subcommand(
      "transfers", "partitions the node is sending to new holders: progress, keys, rate, ETA");
  transfers->add_flag("--watch", watch, "print again every second until all are done");

  bool repair_all = false;
  auto* repair_status = app.add_subcommand(
      "repair-status",
      "anti-entropy per partition: last exchange, keys that differed, keys repaired");
  repair_status->add_flag("--all", repair_all, "also list the partitions that were in sync");
  auto* hints = app.add_subcommand(
      "hints", "writes this node holds for members that were down (sloppy quorum), and replay");
  auto* compaction = app.add_subcommand(
      "compaction", "tombstone and TTL garbage collection, and RocksDB compaction statistics");

  std::string remove_id;
  bool remove_force = false;
  auto* remove = app.add_subcommand(
      "remove",
      "take a member out of the cluster for good (it must be down; its id can never rejoin)");
  remove->add_option("NODE", remove_id, "id of the member to remove")->required();
  remove->add_flag("--force", remove_force, "remove it even if it is not down");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "INVALID_ARGUMENT " << e.what() << " (see kvctl --help)" << std::endl;
    return usage;
  }
  if (*put) return cmd_put(g, put_c, key, value, file);
  if (*get) return cmd_get(g, get_c, key, raw);
  if (*del) return cmd_del(g, del_c, key);
  if (*status) return cmd_status(g);
  if (*ready) return cmd_ready(g);
  if (*ring) return cmd_ring(g, ring_ns);
  if (*explain) return cmd_explain(g, explain_c, key, everywhere);
  if (*fail_actor) return cmd_fail_actor(g, role, reason);
  if (*remove) return cmd_remove(g, remove_id, remove_force);
  if (*leave) return cmd_leave(g);
  if (*transfers) return cmd_transfers(g, watch);
  if (*repair_status) return cmd_repair_status(g, repair_all);
  if (*hints) return cmd_hints(g);
  if (*compaction) return cmd_compaction(g);
  return usage;
}
