#include "client/bench/redis_driver.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>

#include "client/bench/redis_call.hpp"
#include "client/bench/resp.hpp"
#include "client/bench/workload.hpp"

namespace kv::bench {

namespace {

using namespace std::chrono_literals;

constexpr int max_redirects = 5;

// The first word of an error reply: "ERR", "CLUSTERDOWN", "READONLY", ...
std::string code_of(const std::string& error_text) {
  auto code = error_text.substr(0, error_text.find(' '));
  return code.empty() ? std::string{"ERR"} : code;
}

enum class role : uint8_t { asking, command, wait };

struct expectation {
  uint32_t client;
  role what;
};

// One TCP connection of one virtual client to one server. Replies come in request order, so
// `expected` says what each next reply answers.
struct connection {
  int fd = -1;
  endpoint peer;
  std::string out;
  size_t sent = 0;
  std::string in;
  size_t parsed = 0;
  std::deque<expectation> expected;
  bool writing = false;  // EPOLLOUT armed
  bool broken = false;   // to be dropped at the next safe point
  std::string why;
  steady::time_point retry_at;  // no new connection attempt before this
};

struct virtual_client {
  bool busy = false;
  op current{op_kind::read, 0};
  steady::time_point issued;
  uint32_t awaiting = 0;  // replies of the current attempt still to come
  std::string error;      // the attempt's first error code
  std::optional<resp::redirect> redirect;
  int redirects = 0;
  connection* active = nullptr;    // where the current attempt went
  std::vector<connection*> links;  // per master, created on first use
};

class redis_driver {
 public:
  redis_driver(const bench_config& cfg, recorder& rec)
      : cfg_(cfg),
        rec_(rec),
        ops_(cfg),
        cluster_(cfg.tgt == target::redis_cluster),
        wait_text_(std::to_string(cfg.redis_wait)),
        clients_(std::max(cfg.concurrency, cfg.loads() ? cfg.load_in_flight() : 0u)) {}

  ~redis_driver() {
    for (auto& c : conns_)
      if (c->fd >= 0) ::close(c->fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  run_outcome run();

 private:
  bool discover(std::string& err);
  bool load_slots(const resp::value& reply, const endpoint& via);
  void refresh_slots();
  size_t master_of(const endpoint& ep);
  size_t route(const std::string& key) const;

  void start(uint32_t count);
  void start_next(uint32_t c);
  void issue(uint32_t c, std::optional<size_t> ask_master);
  connection* link(uint32_t c, size_t master);
  void flush(connection& conn);
  void break_off(connection& conn, std::string why);
  void on_readable(connection& conn);
  void on_reply(uint32_t c, role what, const resp::value& v);
  void end_attempt(uint32_t c);
  void complete(uint32_t c);
  void drop(connection& conn);
  void defer(uint32_t c, steady::time_point at) { deferred_.emplace_back(at, c); }
  void run_deferred(steady::time_point now);
  void check_timeouts(steady::time_point now);
  void pump(std::optional<steady::time_point> give_up);
  void set_events(connection& conn, bool writing);

  bench_config cfg_;
  recorder& rec_;
  op_stream ops_;
  bool cluster_;
  std::string wait_text_;
  std::vector<virtual_client> clients_;
  int epoll_fd_ = -1;
  bool loading_ = false;
  uint64_t next_load_ = 0;
  uint32_t busy_ = 0;
  std::vector<endpoint> masters_;
  std::vector<uint16_t> slot_owner_ = std::vector<uint16_t>(resp::slot_count, 0);
  steady::time_point last_refresh_;
  std::vector<std::unique_ptr<connection>> conns_;
  std::vector<connection*> broken_;
  std::vector<std::pair<steady::time_point, uint32_t>> deferred_;
  std::string last_error_;
};

bool redis_driver::discover(std::string& err) {
  if (!cluster_) {
    auto ep = *parse_endpoint(cfg_.nodes.front());
    auto pong = call(ep, {"PING"}, err);
    if (!pong) return false;
    if (pong->kind == resp::type::error) {
      err = ep.text() + " refused PING: " + pong->text;
      return false;
    }
    masters_.push_back(ep);
    return true;
  }
  for (auto& node : cfg_.nodes) {
    auto ep = *parse_endpoint(node);
    auto reply = call(ep, {"CLUSTER", "SLOTS"}, err);
    if (!reply) continue;
    if (reply->kind == resp::type::error) {
      err = ep.text() + " refused CLUSTER SLOTS: " + reply->text;
      continue;
    }
    if (load_slots(*reply, ep)) return true;
    err = ep.text() + " returned no usable slot map";
  }
  return false;
}

// Slots no range covers keep their previous owner; the server answers them with an error.
bool redis_driver::load_slots(const resp::value& reply, const endpoint& via) {
  auto ranges = resp::parse_cluster_slots(reply);
  if (!ranges || ranges->empty()) return false;
  for (auto& r : *ranges) {
    auto m = master_of({r.host.empty() ? via.host : r.host, r.port});
    std::fill(slot_owner_.begin() + r.first, slot_owner_.begin() + r.last + 1,
              static_cast<uint16_t>(m));
  }
  return true;
}

// At most every 100 ms: a resharding answers many requests with MOVED at once.
void redis_driver::refresh_slots() {
  auto now = steady::now();
  if (now - last_refresh_ < 100ms) return;
  last_refresh_ = now;
  for (size_t m = 0; m < masters_.size(); ++m) {
    std::string err;
    auto ep = masters_[m];
    if (auto reply = call(ep, {"CLUSTER", "SLOTS"}, err); reply && load_slots(*reply, ep)) return;
  }
}

size_t redis_driver::master_of(const endpoint& ep) {
  for (size_t m = 0; m < masters_.size(); ++m)
    if (masters_[m].host == ep.host && masters_[m].port == ep.port) return m;
  masters_.push_back(ep);
  return masters_.size() - 1;
}

size_t redis_driver::route(const std::string& key) const {
  return cluster_ ? slot_owner_[resp::key_slot(key)] : 0;
}

void redis_driver::set_events(connection& conn, bool writing) {
  if (conn.writing == writing) return;
  conn.writing = writing;
  epoll_event ev{};
  ev.events = EPOLLIN | (writing ? EPOLLOUT : 0u);
  ev.data.ptr = &conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd, &ev);
}

// The connection of client `c` to master `m`, connecting first if needed; nullptr (and
// last_error_) when that fails. A failed address is not tried again for 100 ms.
connection* redis_driver::link(uint32_t c, size_t m) {
  auto& links = clients_[c].links;
  if (links.size() <= m) links.resize(masters_.size(), nullptr);
  auto* conn = links[m];
  if (!conn) {
    conns_.push_back(std::make_unique<connection>());
    conn = links[m] = conns_.back().get();
    conn->peer = masters_[m];
  }
  if (conn->fd >= 0) return conn;
  auto now = steady::now();
  if (now < conn->retry_at) return nullptr;
  int fd = dial(conn->peer, last_error_);
  if (fd < 0) {
    conn->retry_at = now + 100ms;
    return nullptr;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  conn->fd = fd;
  conn->writing = false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  return conn;
}

void redis_driver::break_off(connection& conn, std::string why) {
  if (conn.broken) return;
  conn.broken = true;
  conn.why = std::move(why);
  broken_.push_back(&conn);
}

void redis_driver::flush(connection& conn) {
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

// Fails every attempt waiting on `conn` (CONNECTION, unless the attempt already has an error,
// such as TIMEOUT) and closes it; the next operation of each client connects again.
void redis_driver::drop(connection& conn) {
  if (conn.fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fd, nullptr);
    ::close(conn.fd);
  }
  conn.fd = -1;
  conn.broken = false;
  conn.writing = false;
  conn.out.clear();
  conn.sent = 0;
  conn.in.clear();
  conn.parsed = 0;
  last_error_ = conn.peer.text() + ": " + conn.why;
  auto expected = std::move(conn.expected);
  conn.expected.clear();
  auto now = steady::now();
  for (auto& e : expected) {
    auto& vc = clients_[e.client];
    if (vc.error.empty()) vc.error = "CONNECTION";
    vc.redirect.reset();
    vc.active = nullptr;
    if (--vc.awaiting == 0) defer(e.client, now);
  }
}

void redis_driver::on_readable(connection& conn) {
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
  // Replies that arrived before a close still count.
  resp::value v;
  for (;;) {
    auto r = resp::parse(std::string_view{conn.in}.substr(conn.parsed), v);
    if (r.state == resp::status::incomplete) break;
    if (r.state == resp::status::malformed || conn.expected.empty()) {
      break_off(conn, r.state == resp::status::malformed ? "malformed reply" : "unexpected reply");
      break;
    }
    conn.parsed += r.consumed;
    auto e = conn.expected.front();
    conn.expected.pop_front();
    on_reply(e.client, e.what, v);
  }
  if (conn.parsed == conn.in.size()) {
    conn.in.clear();
    conn.parsed = 0;
  } else if (conn.parsed > 65536) {
    conn.in.erase(0, conn.parsed);
    conn.parsed = 0;
  }
}

void redis_driver::on_reply(uint32_t c, role what, const resp::value& v) {
  auto& vc = clients_[c];
  --vc.awaiting;
  auto note = [&vc](std::string code) {
    if (vc.error.empty()) vc.error = std::move(code);
  };
  if (v.kind == resp::type::error) {
    auto redirect = what == role::command && cluster_ ? resp::parse_redirect(v.text) : std::nullopt;
    if (redirect)
      vc.redirect = std::move(redirect);
    else
      note(code_of(v.text));
  } else if (what == role::command && vc.current.kind == op_kind::read) {
    if (v.kind == resp::type::null)
      note("NOT_FOUND");
    else if (v.kind != resp::type::bulk && v.kind != resp::type::null)
      note("PROTOCOL");
  } else if (what == role::command) {
    if (v.kind != resp::type::simple) note("PROTOCOL");
  } else if (what == role::wait) {
    if (v.kind != resp::type::integer)
      note("PROTOCOL");
    else if (v.integer < static_cast<int64_t>(cfg_.redis_wait))
      note("WAIT_SHORT");
  }
  if (vc.awaiting == 0) end_attempt(c);
}

// A redirect retries the operation (its latency still counts from the first attempt); the
// WAIT reply of a redirected write says nothing about it and is ignored.
void redis_driver::end_attempt(uint32_t c) {
  auto& vc = clients_[c];
  vc.active = nullptr;
  if (!vc.redirect) return complete(c);
  auto r = std::move(*vc.redirect);
  vc.redirect.reset();
  rec_.count(r.ask ? "redis_ask_redirects" : "redis_moved_redirects");
  if (++vc.redirects > max_redirects) {
    vc.error = "TOO_MANY_REDIRECTS";
    return complete(c);
  }
  auto m = master_of({r.host.empty() ? masters_.front().host : r.host, r.port});
  if (!r.ask) {
    slot_owner_[r.slot] = static_cast<uint16_t>(m);
    refresh_slots();
  }
  issue(c, r.ask ? std::optional<size_t>{m} : std::nullopt);
}

void redis_driver::complete(uint32_t c) {
  auto& vc = clients_[c];
  auto now = steady::now();
  if (vc.error.empty())
    rec_.record(vc.current.kind, vc.issued, now);
  else
    rec_.record_error(vc.current.kind, vc.error, now);
  start_next(c);
}

void redis_driver::start_next(uint32_t c) {
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
  vc.redirects = 0;
  issue(c, std::nullopt);
}

void redis_driver::issue(uint32_t c, std::optional<size_t> ask_master) {
  auto& vc = clients_[c];
  vc.error.clear();
  vc.redirect.reset();
  auto key = key_of(vc.current.record, cfg_.key_size, cfg_.key_prefix);
  auto* conn = link(c, ask_master ? *ask_master : route(key));
  if (!conn) {
    // Completed later, so a server that is down does not make the loop spin.
    vc.error = "CONNECTION";
    vc.awaiting = 0;
    return defer(c, steady::now() + 10ms);
  }
  vc.awaiting = 0;
  auto expect = [&](role what) {
    conn->expected.push_back({c, what});
    ++vc.awaiting;
  };
  if (ask_master) {
    resp::encode(conn->out, {"ASKING"});
    expect(role::asking);
  }
  if (vc.current.kind == op_kind::read) {
    resp::encode(conn->out, {"GET", key});
    expect(role::command);
  } else {
    resp::encode(conn->out, {"SET", key, ops_.next_value()});
    expect(role::command);
    if (cfg_.redis_wait > 0) {
      resp::encode(conn->out, {"WAIT", wait_text_, "0"});
      expect(role::wait);
    }
  }
  vc.active = conn;
  flush(*conn);
}

void redis_driver::run_deferred(steady::time_point now) {
  if (deferred_.empty()) return;
  std::vector<std::pair<steady::time_point, uint32_t>> due;
  auto split = std::stable_partition(deferred_.begin(), deferred_.end(),
                                     [now](auto& d) { return d.first > now; });
  due.assign(split, deferred_.end());
  deferred_.erase(split, deferred_.end());
  for (auto& [at, c] : due) end_attempt(c);
}

// An operation older than --timeout-ms fails TIMEOUT. Its connection goes too: a reply that
// still comes would answer the wrong request.
void redis_driver::check_timeouts(steady::time_point now) {
  auto limit = std::chrono::milliseconds{cfg_.timeout_ms};
  for (auto& vc : clients_) {
    if (!vc.busy || !vc.active || now - vc.issued < limit) continue;
    if (vc.error.empty()) vc.error = "TIMEOUT";
    break_off(*vc.active, "no reply within --timeout-ms");
  }
}

void redis_driver::pump(std::optional<steady::time_point> give_up) {
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
    while (!broken_.empty()) {
      auto* conn = broken_.back();
      broken_.pop_back();
      drop(*conn);
    }
    now = steady::now();
    run_deferred(now);
    check_timeouts(now);
  }
}

void redis_driver::start(uint32_t count) {
  for (uint32_t c = 0; c < count; ++c) {
    clients_[c].busy = true;
    ++busy_;
    start_next(c);
  }
}

run_outcome redis_driver::run() {
  run_outcome out;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  std::string err;
  if (!discover(err)) return {false, err, {}};
  // Every client connects to every master up front; none at all means nothing can be done.
  size_t connected = 0;
  for (uint32_t c = 0; c < clients_.size(); ++c)
    for (size_t m = 0; m < masters_.size(); ++m) connected += link(c, m) != nullptr;
  if (connected == 0) return {false, last_error_, {}};
  out.notes.push_back(std::to_string(masters_.size()) + (cluster_ ? " masters, " : " server, ") +
                      std::to_string(connected) + " connections");
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
  return out;
}

}  // namespace

run_outcome run_redis(const bench_config& cfg, recorder& rec) {
  redis_driver driver{cfg, rec};
  return driver.run();
}

}  // namespace kv::bench
