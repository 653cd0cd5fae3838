// test/support/process.hpp
// Real processes for integration tests: start a program, read its stdout line by line with a
// deadline, signal it, wait for its exit with a deadline. A process object owns its child: the
// destructor kills it by PID (SIGKILL) and reaps it, so a failing or throwing test leaves no
// stray process and no zombie. Children also get SIGKILL if the test binary itself dies
// (PR_SET_PDEATHSIG), which ties them to the thread that started them: start processes from
// the test's main thread.
//
// On top: `node` (a kvnode on a loopback port with its own data dir, restartable on the same
// dir and port), `cluster` (N nodes that know each other through the same --seeds) and
// `run_kvctl` (one kvctl invocation, killed if it overruns; `run_program` for any other).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/options.hpp"

namespace kv::test {

using std::chrono::milliseconds;

// Paths of the programs under test (KV_BIN_DIR is the build's bin/ directory).
std::string kvnode_path();
std::string kvctl_path();

// A loopback port that was free a moment ago: bound to 127.0.0.1:0, read back, closed.
// kvnode's default peer and admin listeners sit at its client port + 100 and + 200.
constexpr uint16_t node_port_offset_peer = 100;
constexpr uint16_t node_port_offset_admin = 200;

// A free loopback port P whose P + 100 and P + 200 are free too, so that a kvnode on P gets its
// default peer and admin listeners.
uint16_t free_port();

// A TCP connection to 127.0.0.1:port, or -1 if nothing accepts it. The caller closes it.
int connect_loopback(uint16_t port);

// The body of GET `path` from an HTTP endpoint on 127.0.0.1:port (Connection: close), or "" if
// nothing answers within 3 s.
std::string http_get(uint16_t port, const std::string& path);

// The value of the metric line `name` (labels included, e.g.
// `ringkv_listener_refused_total{listener="client"}`) in GET /metrics on `port`, or -1.
double metric(uint16_t port, const std::string& name);

// The same in the text of a /metrics page already read (tls_stream.hpp reads it from a node
// whose HTTP API speaks TLS).
double metric_in(const std::string& metrics, const std::string& name);

// The whole content of a file, or "" if it cannot be read.
std::string read_file(const std::string& path);

class process {
 public:
  // Starts `program` with `args` (argv[0] is added). stdin is /dev/null, stdout is a pipe read
  // by wait_for_line, stderr is appended to `stderr_path` (or /dev/null when empty). Throws
  // std::runtime_error if the process cannot be created.
  process(std::string program, std::vector<std::string> args, std::string stderr_path = {});
  ~process();

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }

  // The next stdout line starting with `prefix`, reading until it comes, stdout closes, or
  // `timeout` passes (then nullopt). Lines examined by earlier calls are not looked at again.
  std::optional<std::string> wait_for_line(std::string_view prefix, milliseconds timeout);

  // Every stdout line read so far.
  const std::vector<std::string>& lines() const { return lines_; }

  // Sends `sig`; false once the process has been reaped.
  bool signal(int sig);

  // SIGSTOP, then waits (up to `timeout`) until every thread of the process has stopped: the
  // signal is delivered asynchronously, and a thread still running on another core may answer
  // one more request. True once all are stopped.
  bool freeze(milliseconds timeout = milliseconds{2000});

  // The exit status once the process ends within `timeout`: its exit code, or 128 + the signal
  // number when a signal ended it (the shell's convention). nullopt if it is still running.
  std::optional<int> wait_exit(milliseconds timeout);

  // True while the process has not been reaped and has not exited.
  bool running();

  // SIGKILL and reap (bounded). Safe to call more than once.
  void kill_now();

 private:
  void read_available(int wait_ms);

  std::string program_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  int stdout_fd_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
  size_t next_line_ = 0;  // lines before this one were already examined by wait_for_line
};

// How a node's start ends: once it printed its ready line, or at once. A node with seeds is
// ready only once it has heard from every seed, so the nodes of a cluster are all launched
// before any of them is awaited.
enum class start_mode { await_ready, launch_only };

// One kvnode: `--id ID --listen 127.0.0.1:PORT --data-dir DIR` plus extra flags, stderr
// appended to DIR/../<id>.log. Starts in the constructor and (unless launch_only) waits for its
// `ready` line; every failure to get ready throws std::runtime_error carrying the node's log.
class node {
 public:
  // `dir` is the test's own directory; the node's data dir is `dir/<id>`. Picks a free port.
  node(const std::string& dir, std::vector<std::string> extra_flags = {}, std::string id = "n1");

  // The same on a port chosen by the caller.
  node(const std::string& dir, std::string id, uint16_t port, std::vector<std::string> extra_flags,
       start_mode mode);

  // Starts the node again on the same data dir, port and flags. Precondition: it has stopped
  // (exited, or killed with kill_now).
  void restart(start_mode mode = start_mode::await_ready);

  // Waits up to `timeout` for the ready line of the current process; throws with the log
  // otherwise. The constructor and restart() call it with 10 s.
  void await_ready(milliseconds timeout = milliseconds{10000});

  const std::string& id() const { return id_; }
  uint16_t port() const { return port_; }
  std::string address() const;        // "127.0.0.1:PORT", the client listener
  std::string peer_address() const;   // the peer listener: PORT + 100 (what --seeds name)
  std::string admin_address() const;  // the admin listener: PORT + 200
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& ready_line() const { return ready_line_; }

  // The kvnode argv (without argv[0]) this node runs with; handy to start a rival process.
  std::vector<std::string> args() const;

  // Everything the node (in all its incarnations) wrote to stderr.
  std::string log() const { return read_file(log_path_); }

  // True once a log line containing `text` appears, polling until `timeout`.
  bool wait_for_log(std::string_view text, milliseconds timeout) const;

  process& proc() { return *proc_; }

 private:
  void start(start_mode mode);

  std::string id_;
  std::string data_dir_;
  std::string log_path_;
  std::vector<std::string> extra_;
  uint16_t port_;
  std::string ready_line_;
  std::optional<process> proc_;
};

// `size` kvnodes n1..nN on free loopback ports of one machine, each started with the same
// `--seeds` (every node's address, its own included) and `extra_flags`, in which "{id}" stands
// for the node's id (its certificate: "--tls-cert", "DIR/{id}.pem"). The constructor
// returns once every node printed its ready line (they agreed on the members); the nodes are
// killed by PID when the cluster goes, like any node.
class cluster {
 public:
  cluster(const std::string& dir, size_t size, std::vector<std::string> extra_flags = {});

  size_t size() const { return nodes_.size(); }
  node& operator[](size_t i) { return *nodes_.at(i); }
  const node& operator[](size_t i) const { return *nodes_.at(i); }

  // The node with id `id`; throws std::out_of_range for an unknown id.
  node& at(const std::string& id);

  // Every node's client address, n1 first.
  std::vector<std::string> addresses() const;
  // "HOST:PORT,..." of the peer listeners, for --seeds; of the client listeners, for --nodes.
  std::string seeds() const;
  std::string client_addresses() const;

  // SIGKILL and reap.
  void kill(const std::string& id);

  // Starts stopped nodes again (same dir, port and flags), all of them before awaiting any:
  // nodes that restart together may wait for each other.
  void restart(const std::vector<std::string>& ids);

 private:
  std::vector<std::unique_ptr<node>> nodes_;
};

struct cli_result {
  int exit_code = -1;  // as process::wait_exit; -1 when it was killed for overrunning
  std::string out;
  std::string err;
  milliseconds elapsed{0};
  bool timed_out = false;

  // The first line of stderr.
  std::string first_err_line() const;
};

// A client configuration for talking to `n` from a test: its address, a 2 s connect timeout,
// a 3 s default deadline, one scheduler thread.
kv::client::client_config client_config_for(const node& n);

// Runs kvctl with `args`, capturing stdout and stderr; SIGKILLs it once `timeout` passes.
// `stdin_data`, when given, is written to its stdin (else stdin is /dev/null).
cli_result run_kvctl(const std::vector<std::string>& args,
                     milliseconds timeout = milliseconds{10000},
                     std::optional<std::string> stdin_data = std::nullopt);

// The same for any program (an absolute path: it is not looked up in PATH).
cli_result run_program(const std::string& program, const std::vector<std::string>& args,
                       milliseconds timeout = milliseconds{10000},
                       std::optional<std::string> stdin_data = std::nullopt);

}  // namespace kv::test
