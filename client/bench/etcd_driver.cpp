#include "client/bench/etcd_driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "client/bench/etcd_json.hpp"
#include "client/bench/http1.hpp"
#include "client/bench/redis_call.hpp"
#include "client/bench/workload.hpp"

namespace kv::bench {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view json_type = "application/json";

// One keep-alive connection of one virtual client to one member. It carries at most one
// request at a time (closed loop, no pipelining), so a response always answers its owner's
// current operation.
struct connection {
  uint32_t owner = 0;
  endpoint peer;
  std::string host;  // the Host header: peer.text()
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  size_t parsed = 0;
  bool writing = false;           // EPOLLOUT armed
  bool broken = false;            // to be dropped at the next safe point
  bool connected_before = false;  // the next connection is a reconnect
  uint64_t drops = 0;             // tells a reader that its connection was replaced
  std::string why;
  steady::time_point retry_at;  // no new connection attempt before this
};

struct virtual_client {
  bool busy = false;
  bool waiting = false;  // its request is out, the response not yet in
  op current{op_kind::read, 0};
  steady::time_point issued;
  std::string error;  // the operation's error code
  connection conn;
};

// One request on a connection of its own with a bounded wait (3 s) for the response; used
// at start only. nullopt and `err` when there is none.
std::optional<http1::response> exchange(const endpoint& ep, std::string_view path,
                                        std::string_view body, std::string& err) {
  int fd = dial(ep, err);
  if (fd < 0) return std::nullopt;
  std::string out;
  http1::encode_request(out, "POST", ep.text(), path, json_type, body);
  std::optional<http1::response> result;
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    err = "cannot send to " + ep.text() + ": " + std::strerror(errno);
    ::close(fd);
    return result;
  }
  auto deadline = steady::now() + 3s;
  std::string in;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      err = "no response from " + ep.text() + " within 3 s";
      break;
    }
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      err = ep.text() + " closed the connection";
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    http1::response res;
    auto r = http1::parse(in, res);
    if (r.state == http1::status::incomplete) continue;
    if (r.state == http1::status::malformed)
      err = ep.text() + " does not speak HTTP/1.1 as expected: " + r.error;
    else
      result = std::move(res);
    break;
  }
  ::close(fd);
  return result;
}

std::string string_field(std::string_view json, std::string_view name) {
  auto raw = etcd::field(json, name);
  auto text = raw ? etcd::string_value(*raw) : std::nullopt;
  return text ? *text : std::string{};
}

// What a member says about itself at start (POST /v3/maintenance/status).
struct member_status {
  std::string version, member_id, leader;
};

std::optional<member_status> status_of(const endpoint& ep, std::string& err) {
  auto reply = exchange(ep, "/v3/maintenance/status", "{}", err);
  if (!reply) return std::nullopt;
  if (auto v = etcd::judge(reply->status, reply->body, false); !v.code.empty()) {
    err = ep.text() + " answered /v3/maintenance/status with " + v.code + ": " + v.message;
    return std::nullopt;
  }
  member_status s;
  s.version = string_field(reply->body, "version");
  s.leader = string_field(reply->body, "leader");
  if (auto header = etcd::field(reply->body, "header"))
    s.member_id = string_field(*header, "member_id");
  return s;
}

class etcd_driver {
 public:
  etcd_driver(const bench_config& cfg, recorder& rec)
      : cfg_(cfg),
        rec_(rec),
        ops_(cfg),
        clients_(std::max(cfg.concurrency, cfg.loads() ? cfg.load_in_flight() : 0u)) {
    for (uint32_t c = 0; c < clients_.size(); ++c) {
      auto& conn = clients_[c].conn;
      conn.owner = c;
      conn.peer = *parse_endpoint(cfg.nodes[c % cfg.nodes.size()]);
      conn.host = conn.peer.text();
    }
  }

  ~etcd_driver() {
    for (auto& vc : clients_)
      if (vc.conn.fd >= 0) ::close(vc.conn.fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  run_outcome run();

 private:
  bool probe(run_outcome& out);
  bool connect(connection& conn);
  void start(uint32_t count);
  void start_next(uint32_t c);
  void issue(uint32_t c);
  void flush(connection& conn);
  void break_off(connection& conn, std::string why);
  void drop(connection& conn);
  void on_readable(connection& conn);
  void on_response(uint32_t c, const http1::response& res);
  void complete(uint32_t c);
  void remember(const std::string& code, const std::string& message);
  void defer(uint32_t c, steady::time_point at) { deferred_.emplace_back(at, c); }
  void run_deferred(steady::time_point now);
  void check_timeouts(steady::time_point now);
  void pump(std::optional<steady::time_point> give_up);
  void set_events(connection& conn, bool writing);

  bench_config cfg_;
  recorder& rec_;
  op_stream ops_;
  std::vector<virtual_client> clients_;  // never resized: epoll holds pointers to connections
  int epoll_fd_ = -1;
  bool loading_ = false;
  uint64_t next_load_ = 0;
  uint32_t busy_ = 0;
  std::vector<connection*> broken_;
  std::vector<std::pair<steady::time_point, uint32_t>> deferred_;
  std::map<std::string, std::string> first_message_;  // error code -> its first message
};

// Every member is asked for its status: none answering means nothing can be done; one that
// does not answer is reported and stays in the rotation (its operations fail and are counted).
bool etcd_driver::probe(run_outcome& out) {
  std::string members, first_error;
  size_t failed = 0;
  std::string version;
  for (auto& node : cfg_.nodes) {
    auto ep = *parse_endpoint(node);
    std::string err;
    auto s = status_of(ep, err);
    if (!s) {
      if (first_error.empty()) first_error = err;
      ++failed;
      continue;
    }
    version = s->version;
    members += (members.empty() ? "" : ", ") + node;
    if (!s->member_id.empty() && s->member_id == s->leader) members += " (leader)";
  }
  if (failed == cfg_.nodes.size()) {
    out = {false, first_error, {}};
    return false;
  }
  out.notes.push_back("etcd v3 JSON gateway over HTTP/1.1 (kvbench's own client)");
  out.notes.push_back("etcd " + version + ", members " + members + "; " +
                      std::to_string(clients_.size()) +
                      " keep-alive connections, virtual client i to member i mod " +
                      std::to_string(cfg_.nodes.size()));
  if (failed > 0)
    out.notes.push_back(std::to_string(failed) + " of " + std::to_string(cfg_.nodes.size()) +
                        " members did not answer at start: " + first_error);
  return true;
}

void etcd_driver::set_events(connection& conn, bool writing) {
  if (conn.writing == writing) return;
  conn.writing = writing;
  epoll_event ev{};
  ev.events = EPOLLIN | (writing ? EPOLLOUT : 0u);
  ev.data.ptr = &conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd, &ev);
}

// Connects `conn` unless it is connected; false (and conn.why) when that fails. A failed
// address is not tried again for 100 ms.
bool etcd_driver::connect(connection& conn) {
  if (conn.fd >= 0) return true;
  auto now = steady::now();
  if (now < conn.retry_at) return false;
  int fd = dial(conn.peer, conn.why);
  if (fd < 0) {
    conn.retry_at = now + 100ms;
    return false;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  conn.fd = fd;
  conn.writing = false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  if (conn.connected_before) rec_.count("etcd_reconnects");
  conn.connected_before = true;
  return true;
}

void etcd_driver::break_off(connection& conn, std::string why) {
  if (conn.broken) return;
  conn.broken = true;
  conn.why = std::move(why);
  broken_.push_back(&conn);
}

void etcd_driver::flush(connection& conn) {
  while (conn.sent < conn.out.size()) {
    auto n =
        ::send(conn.fd, conn.out.data() + conn.sent, conn.out.size() - conn.sent, MSG_NOSIGNAL);
    if (n > 0) {
      conn.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return set_events(conn, true);
    } else {
      return break_off(conn, std::string{"send: "} + std::strerror(errno));
    }
  }
  conn.out.clear();
  conn.sent = 0;
  set_events(conn, false);
}

// Closes `conn`; the operation waiting on it fails (CONNECTION, unless it already has an
// error such as TIMEOUT). The owner's next operation connects again.
void etcd_driver::drop(connection& conn) {
  if (conn.fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fd, nullptr);
    ::close(conn.fd);
  }
  conn.fd = -1;
  ++conn.drops;
  conn.broken = false;
  conn.writing = false;
  conn.out.clear();
  conn.sent = 0;
  conn.in.clear();
  conn.parsed = 0;
  auto& vc = clients_[conn.owner];
  if (!vc.waiting) return;
  vc.waiting = false;
  if (vc.error.empty()) {
    vc.error = "CONNECTION";
    remember(vc.error, conn.host + ": " + conn.why);
  }
  defer(conn.owner, steady::now());
}

void etcd_driver::on_readable(connection& conn) {
  char buf[65536];
  for (;;) {
    auto n = ::recv(conn.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      conn.in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
    } else if (n == 0) {
      break_off(conn, "closed by the server");
      break;
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        break_off(conn, std::string{"recv: "} + std::strerror(errno));
      break;
    }
  }
  // A response that arrived before a close still counts. Completing it issues the owner's
  // next operation, which replaces a broken connection first: stop reading this one then.
  http1::response res;
  while (conn.parsed < conn.in.size()) {
    auto r = http1::parse(std::string_view{conn.in}.substr(conn.parsed), res);
    if (r.state == http1::status::incomplete) break;
    auto& vc = clients_[conn.owner];
    if (r.state == http1::status::malformed || !vc.waiting) {
      auto why = r.state == http1::status::malformed ? "malformed response: " + r.error
                                                     : std::string{"response without a request"};
      if (vc.waiting && vc.error.empty()) {
        vc.error = "PROTOCOL";
        remember(vc.error, conn.host + ": " + why);
      }
      break_off(conn, why);
      break;
    }
    conn.parsed += r.consumed;
    vc.waiting = false;
    if (!res.keep_alive) break_off(conn, "the server closes the connection after a response");
    auto drops = conn.drops;
    on_response(conn.owner, res);
    if (conn.drops != drops) return;
  }
  if (conn.parsed == conn.in.size()) {
    conn.in.clear();
    conn.parsed = 0;
  } else if (conn.parsed > 65536) {
    conn.in.erase(0, conn.parsed);
    conn.parsed = 0;
  }
}

// An operation that already failed (TIMEOUT) keeps its error when its response comes late.
void etcd_driver::on_response(uint32_t c, const http1::response& res) {
  auto& vc = clients_[c];
  auto v = etcd::judge(res.status, res.body, vc.current.kind == op_kind::read);
  if (vc.error.empty() && !v.code.empty()) {
    vc.error = v.code;
    if (!v.message.empty()) remember(v.code, v.message);
  }
  complete(c);
}

void etcd_driver::remember(const std::string& code, const std::string& message) {
  first_message_.emplace(code, message);
}

void etcd_driver::complete(uint32_t c) {
  auto& vc = clients_[c];
  auto now = steady::now();
  if (vc.error.empty())
    rec_.record(vc.current.kind, vc.issued, now);
  else
    rec_.record_error(vc.current.kind, vc.error, now);
  start_next(c);
}

void etcd_driver::start_next(uint32_t c) {
  auto& vc = clients_[c];
  auto now = steady::now();
  if (loading_ && next_load_ < cfg_.records) {
    vc.current = {op_kind::update, next_load_++};
  } else if (!loading_ && rec_.running(now)) {
    vc.current = ops_.next();
  } else {
    vc.busy = false;
    --busy_;
    return;
  }
  vc.issued = now;
  issue(c);
}

void etcd_driver::issue(uint32_t c) {
  auto& vc = clients_[c];
  auto& conn = vc.conn;
  vc.error.clear();
  if (conn.broken) drop(conn);
  if (!connect(conn)) {
    // Completed later, so a member that is down does not make the loop spin.
    vc.error = "CONNECTION";
    remember(vc.error, conn.host + ": " + conn.why);
    return defer(c, steady::now() + 10ms);
  }
  auto key = key_of(vc.current.record, cfg_.key_size, cfg_.key_prefix);
  if (vc.current.kind == op_kind::read)
    http1::encode_request(conn.out, "POST", conn.host, "/v3/kv/range", json_type,
                          etcd::range_body(key));
  else
    http1::encode_request(conn.out, "POST", conn.host, "/v3/kv/put", json_type,
                          etcd::put_body(key, ops_.next_value()));
  vc.waiting = true;
  flush(conn);
}

void etcd_driver::run_deferred(steady::time_point now) {
  if (deferred_.empty()) return;
  std::vector<std::pair<steady::time_point, uint32_t>> due;
  auto split = std::stable_partition(deferred_.begin(), deferred_.end(),
                                     [now](auto& d) { return d.first > now; });
  due.assign(split, deferred_.end());
  deferred_.erase(split, deferred_.end());
  for (auto& [at, c] : due) complete(c);
}

// An operation older than --timeout-ms fails TIMEOUT. Its connection goes too: the response
// that may still come would otherwise answer the next request.
void etcd_driver::check_timeouts(steady::time_point now) {
  auto limit = std::chrono::milliseconds{cfg_.timeout_ms};
  for (auto& vc : clients_) {
    if (!vc.busy || !vc.waiting || vc.conn.broken || now - vc.issued < limit) continue;
    if (vc.error.empty()) {
      vc.error = "TIMEOUT";
      remember(vc.error, vc.conn.host + ": no response within --timeout-ms");
    }
    break_off(vc.conn, "no response within --timeout-ms");
  }
}

void etcd_driver::pump(std::optional<steady::time_point> give_up) {
  epoll_event events[64];
  while (busy_ > 0) {
    auto now = steady::now();
    if (give_up && now >= *give_up) break;
    int wait_ms = 10;
    for (auto& [at, c] : deferred_)
      wait_ms = std::min<int>(
          wait_ms,
          std::max<int>(
              0, static_cast<int>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(at - now).count())));
    int n = ::epoll_wait(epoll_fd_, events, 64, wait_ms);
    for (int i = 0; i < n; ++i) {
      auto* conn = static_cast<connection*>(events[i].data.ptr);
      if (conn->fd < 0) continue;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(*conn);
      if ((events[i].events & EPOLLOUT) && conn->fd >= 0 && !conn->broken) flush(*conn);
    }
    // A connection broken and already replaced by its owner's next operation is not broken
    // any more.
    while (!broken_.empty()) {
      auto* conn = broken_.back();
      broken_.pop_back();
      if (conn->broken) drop(*conn);
    }
    now = steady::now();
    run_deferred(now);
    check_timeouts(now);
  }
}

void etcd_driver::start(uint32_t count) {
  for (uint32_t c = 0; c < count; ++c) {
    clients_[c].busy = true;
    ++busy_;
    start_next(c);
  }
}

run_outcome etcd_driver::run() {
  run_outcome out;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (!probe(out)) return out;
  if (cfg_.loads()) {
    loading_ = true;
    rec_.begin_load(steady::now());
    start(cfg_.load_in_flight());
    pump(std::nullopt);
    rec_.end_load(steady::now());
    loading_ = false;
  }
  if (!cfg_.load_only) {
    rec_.begin_run(steady::now(), cfg_.warmup, cfg_.duration);
    start(cfg_.concurrency);
    pump(rec_.run_end() + std::chrono::milliseconds{cfg_.timeout_ms} + 1s);
    if (busy_ > 0) rec_.count("unfinished_at_end", busy_);
  }
  for (auto& [code, message] : first_message_)
    out.notes.push_back("first " + code + ": " + message);
  return out;
}

}  // namespace

run_outcome run_etcd(const bench_config& cfg, recorder& rec) {
  etcd_driver driver{cfg, rec};
  return driver.run();
}

}  // namespace kv::bench
