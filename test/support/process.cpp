#include "test/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kv::test {
namespace {

using steady = std::chrono::steady_clock;

// Reaping after SIGKILL takes microseconds; this bound only guards against a child stuck in
// uninterruptible sleep, which must not hang the test binary.
constexpr milliseconds reap_bound{10000};

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

int ms_until(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks and execs `program`; the child's stdin/stdout/stderr become `in`, `out`, `err` and
// every other descriptor of the test binary (sockets of clients, listeners of the tests) is
// closed, so the child holds nothing of ours. Between fork and exec only async-signal-safe
// calls are made: the test binary has threads.
pid_t spawn(const std::string& program, const std::vector<std::string>& args, int in, int out,
            int err) {
  std::vector<std::string> argv_store;
  argv_store.push_back(program);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test binary died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
    ::close_range(3, ~0U, 0);
    ::execv(program.c_str(), argv.data());
    static const char msg[] = "exec failed\n";
    static_cast<void>(::write(2, msg, sizeof(msg) - 1));  // ignored: nothing else to do
    ::_exit(127);
  }
  return pid;
}

int open_dev_null(int flags) {
  int fd = ::open("/dev/null", flags | O_CLOEXEC);
  if (fd < 0) fail_errno("open /dev/null");
  return fd;
}

// Reads what `fd` has without blocking; false at end of file.
bool drain(int fd, std::string& into) {
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? true : false;
  }
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Waits for `pid` to end, polling until `bound`; the raw wait status, or nullopt.
std::optional<int> reap(pid_t pid, milliseconds bound) {
  auto deadline = steady::now() + bound;
  for (;;) {
    int status = 0;
    auto r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;  // not our child (any more)
    if (steady::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds{2});
  }
}

}  // namespace

namespace {

// RINGKV_TEST_TLS=1: every cluster runs with mutual TLS and an ACL (docs/security.md), from one
// set of certificates made for this process, and every client the tests start (kvctl, the
// C++ client) presents the admin's. CTest runs the cluster tests once more this way.
bool tls_mode() {
  const char* v = std::getenv("RINGKV_TEST_TLS");
  return v != nullptr && std::string{v} == "1";
}

// The certificates of a TLS run: n1..n9 and admin, an ACL that lets admin do everything.
struct test_pki {
  test_pki() {
    char tmpl[] = "/tmp/ringkv-pki-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    auto cmd = std::string{"bash "} + KV_SOURCE_DIR + "/scripts/certs.sh " + dir +
               "/certs --nodes n1,n2,n3,n4,n5,n6,n7,n8,n9 --clients admin > /dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("scripts/certs.sh failed");
    std::ofstream{dir + "/acl.toml"} << "[principal.admin]\nadmin = true\n";
  }
  ~test_pki() { std::filesystem::remove_all(dir); }
  std::string file(const std::string& name) const { return dir + "/certs/" + name; }
  std::string dir;
};

const test_pki& pki() {
  static test_pki instance;
  return instance;
}

// The tests say which credentials each client uses: none come from the shell that runs them,
// nor from the admin's that scripts/quickstart.sh leaves in ~/.ringkv; in a TLS run, the admin's.
[[maybe_unused]] const bool credentials_isolated = [] {
  for (auto name : {"RINGKV_CERT", "RINGKV_KEY", "RINGKV_CA", "RINGKV_TOKEN"}) ::unsetenv(name);
  ::setenv("RINGKV_CREDENTIALS", "/nonexistent", 1);
  if (tls_mode()) {
    ::setenv("RINGKV_CA", pki().file("ca.pem").c_str(), 1);
    ::setenv("RINGKV_CERT", pki().file("admin.pem").c_str(), 1);
    ::setenv("RINGKV_KEY", pki().file("admin.key").c_str(), 1);
  }
  return true;
}();

}  // namespace

std::string kvnode_path() {
  return std::string{KV_BIN_DIR} + "/kvnode";
}

std::string kvctl_path() {
  return std::string{KV_BIN_DIR} + "/kvctl";
}

namespace {

// A loopback port nothing listens on now: bound to `port` (0: any) and released.
std::optional<uint16_t> try_port(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof(addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) {
    if (port == 0) fail_errno("bind 127.0.0.1:0");
    return std::nullopt;
  }
  return ntohs(addr.sin_port);
}

}  // namespace

uint16_t free_port() {
  for (;;) {
    auto port = *try_port(0);
    if (port + node_port_offset_admin <= 65535 && try_port(port + node_port_offset_peer) &&
        try_port(port + node_port_offset_admin))
      return port;
  }
}

int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string http_get(uint16_t port, const std::string& path) {
  int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  static_cast<void>(::send(fd, req.data(), req.size(), MSG_NOSIGNAL));  // ignored: read says
  std::string reply;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  for (ssize_t n; ::poll(&p, 1, 3000) == 1 && (n = ::read(fd, buf, sizeof buf)) > 0;)
    reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? std::string{} : reply.substr(body + 4);
}

double metric(uint16_t port, const std::string& name) {
  return metric_in(http_get(port, "/metrics"), name);
}

double metric_in(const std::string& metrics, const std::string& name) {
  auto text = "\n" + metrics;
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), {}};
}

// -- process ----------------------------------------------------------------------------------

process::process(std::string program, std::vector<std::string> args, std::string stderr_path)
    : program_(std::move(program)) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) fail_errno("pipe2");
  int in = -1;
  int err = -1;
  try {
    in = open_dev_null(O_RDONLY);
    err = stderr_path.empty()
              ? open_dev_null(O_WRONLY)
              : ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err < 0) fail_errno("open " + stderr_path);
    pid_ = spawn(program_, args, in, pipe_fds[1], err);
  } catch (...) {
    close_fd(in);
    close_fd(err);
    close_fd(pipe_fds[0]);
    close_fd(pipe_fds[1]);
    throw;
  }
  close_fd(in);
  close_fd(err);
  close_fd(pipe_fds[1]);
  stdout_fd_ = pipe_fds[0];
  set_nonblocking(stdout_fd_);
}

process::~process() {
  kill_now();
  close_fd(stdout_fd_);
}

void process::read_available(int wait_ms) {
  if (stdout_fd_ < 0) {
    std::this_thread::sleep_for(milliseconds{wait_ms < 5 ? wait_ms : 5});
    return;
  }
  pollfd pfd{stdout_fd_, POLLIN, 0};
  if (::poll(&pfd, 1, wait_ms) <= 0) return;
  bool open = drain(stdout_fd_, partial_);
  for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
    lines_.push_back(partial_.substr(0, nl));
    partial_.erase(0, nl + 1);
  }
  if (!open) {
    if (!partial_.empty()) lines_.push_back(std::move(partial_));
    partial_.clear();
    close_fd(stdout_fd_);
  }
}

std::optional<std::string> process::wait_for_line(std::string_view prefix, milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  for (;;) {
    for (; next_line_ < lines_.size(); ++next_line_) {
      auto& line = lines_[next_line_];
      if (line.compare(0, prefix.size(), prefix) == 0) return lines_[next_line_++];
    }
    if (stdout_fd_ < 0 || steady::now() >= deadline) return std::nullopt;
    read_available(ms_until(deadline));
  }
}

bool process::signal(int sig) {
  if (reaped_) return false;
  return ::kill(pid_, sig) == 0;
}

bool process::freeze(milliseconds timeout) {
  if (!signal(SIGSTOP)) return false;
  auto deadline = steady::now() + timeout;
  auto all_stopped = [this] {
    std::error_code ec;
    auto tasks = "/proc/" + std::to_string(pid_) + "/task";
    for (auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      std::ifstream stat{task.path() / "stat"};
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');  // "pid (comm) S ...": the state follows the comm
      if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T')
        return false;
    }
    return !ec;
  };
  while (!all_stopped()) {
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds{1});
  }
  return true;
}

std::optional<int> process::wait_exit(milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  while (!reaped_) {
    int status = 0;
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
      break;
    }
    if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed for " + program_);
    if (steady::now() >= deadline) return std::nullopt;
    read_available(ms_until(deadline) < 5 ? ms_until(deadline) : 5);  // keeps stdout flowing
  }
  return decode_status(status_);
}

bool process::running() {
  return !wait_exit(milliseconds{0}).has_value();
}

void process::kill_now() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  if (auto status = reap(pid_, reap_bound)) status_ = *status;
  reaped_ = true;
}

// -- node -------------------------------------------------------------------------------------

node::node(const std::string& dir, std::vector<std::string> extra_flags, std::string id)
    : id_(std::move(id)),
      data_dir_(dir + "/" + id_),
      log_path_(dir + "/" + id_ + ".log"),
      extra_(std::move(extra_flags)),
      port_(free_port()) {
  start(start_mode::await_ready);
}

node::node(const std::string& dir, std::string id, uint16_t port,
           std::vector<std::string> extra_flags, start_mode mode)
    : id_(std::move(id)),
      data_dir_(dir + "/" + id_),
      log_path_(dir + "/" + id_ + ".log"),
      extra_(std::move(extra_flags)),
      port_(port) {
  start(mode);
}

std::string node::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string node::peer_address() const {
  return "127.0.0.1:" + std::to_string(port_ + node_port_offset_peer);
}

std::string node::admin_address() const {
  return "127.0.0.1:" + std::to_string(port_ + node_port_offset_admin);
}

std::vector<std::string> node::args() const {
  std::vector<std::string> result{"--id", id_, "--listen", address(), "--data-dir", data_dir_};
  result.insert(result.end(), extra_.begin(), extra_.end());
  return result;
}

void node::start(start_mode mode) {
  proc_.reset();
  ready_line_.clear();
  proc_.emplace(kvnode_path(), args(), log_path_);
  if (mode == start_mode::await_ready) await_ready();
}

void node::restart(start_mode mode) {
  if (proc_ && proc_->running())
    throw std::runtime_error("restart of kvnode " + id_ + " while it is still running");
  start(mode);
}

void node::await_ready(milliseconds timeout) {
  if (auto line = proc_->wait_for_line("ready ", timeout)) {
    ready_line_ = *line;
    return;
  }
  auto code = proc_->wait_exit(milliseconds{200});
  std::string state = code ? "exited with " + std::to_string(*code) : "still running";
  proc_->kill_now();
  throw std::runtime_error("kvnode " + id_ + " at " + address() + " printed no ready line within " +
                           std::to_string(timeout.count()) + " ms (" + state + "); its log:\n" +
                           log());
}

bool node::wait_for_log(std::string_view text, milliseconds timeout) const {
  auto deadline = steady::now() + timeout;
  for (;;) {
    if (log().find(text) != std::string::npos) return true;
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds{20});
  }
}

// -- cluster ----------------------------------------------------------------------------------

cluster::cluster(const std::string& dir, size_t size, std::vector<std::string> extra_flags) {
  std::vector<uint16_t> ports;
  while (ports.size() < size) {
    auto port = free_port();
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
  }
  std::string seeds;
  for (auto port : ports)
    seeds +=
        (seeds.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(port + node_port_offset_peer));
  extra_flags.insert(extra_flags.begin(), {"--seeds", seeds});
  if (tls_mode())
    extra_flags.insert(extra_flags.end(),
                       {"--tls-cert", pki().file("{id}.pem"), "--tls-key", pki().file("{id}.key"),
                        "--tls-ca", pki().file("ca.pem"), "--acl", pki().dir + "/acl.toml"});
  for (size_t i = 0; i < size; ++i) {
    auto id = "n" + std::to_string(i + 1);
    auto flags = extra_flags;
    for (auto& f : flags)
      if (auto at = f.find("{id}"); at != std::string::npos) f.replace(at, 4, id);
    nodes_.push_back(std::make_unique<node>(dir, id, ports[i], flags, start_mode::launch_only));
  }
  for (auto& n : nodes_) n->await_ready();
}

node& cluster::at(const std::string& id) {
  for (auto& n : nodes_)
    if (n->id() == id) return *n;
  throw std::out_of_range("no node " + id + " in the cluster");
}

std::vector<std::string> cluster::addresses() const {
  std::vector<std::string> result;
  for (auto& n : nodes_) result.push_back(n->address());
  return result;
}

std::string cluster::seeds() const {
  std::string result;
  for (auto& n : nodes_) result += (result.empty() ? "" : ",") + n->peer_address();
  return result;
}

std::string cluster::client_addresses() const {
  std::string result;
  for (auto& address : addresses()) result += (result.empty() ? "" : ",") + address;
  return result;
}

void cluster::kill(const std::string& id) {
  at(id).proc().kill_now();
}

void cluster::restart(const std::vector<std::string>& ids) {
  for (auto& id : ids) at(id).restart(start_mode::launch_only);
  for (auto& id : ids) at(id).await_ready();
}

// -- kvctl ------------------------------------------------------------------------------------

std::string cli_result::first_err_line() const {
  return err.substr(0, err.find('\n'));
}

cli_result run_kvctl(const std::vector<std::string>& args, milliseconds timeout,
                     std::optional<std::string> stdin_data) {
  return run_program(kvctl_path(), args, timeout, std::move(stdin_data));
}

cli_result run_program(const std::string& program, const std::vector<std::string>& args,
                       milliseconds timeout, std::optional<std::string> stdin_data) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) fail_errno("pipe2");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    fail_errno("pipe2");
  }
  int in = -1;
  if (stdin_data) {
    // A memory file holds the whole input, so no writer has to keep up with the reader.
    in = ::memfd_create("kvctl-stdin", MFD_CLOEXEC);
    if (in < 0) fail_errno("memfd_create");
    if (::write(in, stdin_data->data(), stdin_data->size()) !=
        static_cast<ssize_t>(stdin_data->size()))
      fail_errno("write stdin");
    ::lseek(in, 0, SEEK_SET);
  } else {
    in = open_dev_null(O_RDONLY);
  }
  auto start = steady::now();
  auto deadline = start + timeout;
  pid_t pid = spawn(program, args, in, out_pipe[1], err_pipe[1]);
  ::close(in);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int fds[2] = {out_pipe[0], err_pipe[0]};
  set_nonblocking(fds[0]);
  set_nonblocking(fds[1]);
  cli_result result;
  std::string* sinks[2] = {&result.out, &result.err};
  while ((fds[0] >= 0 || fds[1] >= 0) && steady::now() < deadline) {
    pollfd pfds[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (::poll(pfds, 2, ms_until(deadline)) <= 0) continue;
    for (int i = 0; i < 2; ++i)
      if (fds[i] >= 0 && pfds[i].revents != 0 && !drain(fds[i], *sinks[i])) close_fd(fds[i]);
  }
  close_fd(fds[0]);
  close_fd(fds[1]);
  auto status = reap(pid, milliseconds{ms_until(deadline)});
  if (!status) {
    result.timed_out = true;
    ::kill(pid, SIGKILL);
    static_cast<void>(reap(pid, reap_bound));  // ignored: it was killed for overrunning
  } else {
    result.exit_code = decode_status(*status);
  }
  result.elapsed = std::chrono::duration_cast<milliseconds>(steady::now() - start);
  return result;
}

kv::client::client_config client_config_for(const node& n) {
  kv::client::client_config cfg;
  cfg.nodes = {n.address()};
  cfg.connect_timeout = std::chrono::milliseconds{2000};
  cfg.default_timeout = std::chrono::milliseconds{3000};
  cfg.scheduler_threads = 1;
  if (tls_mode()) {
    cfg.ca = pki().file("ca.pem");
    cfg.cert = pki().file("admin.pem");
    cfg.key = pki().file("admin.key");
  }
  return cfg;
}

}  // namespace kv::test
