// actors/node/config.hpp
// The one configuration of a node, read from a TOML file and flags through the settings table
// (actors/node/settings.hpp) and copied by value into every actor at spawn; nothing reads
// configuration globally. Every timeout and interval lives here so tests can shrink them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/net/host_port.hpp"
#include "caf/error.hpp"
#include "cluster/consistency.hpp"

namespace kv::actors {

using std::chrono::milliseconds;

// Wall-clock milliseconds since the Unix epoch; injectable so tests can move time.
using wall_clock = std::function<int64_t()>;
int64_t system_wall_clock_ms();

// The default replica count: this machine's cores rounded up to a power of two, at least 2.
// Replicas run on threads of their own and block in RocksDB; more of them than cores only adds
// thread wake-ups (docs/configuration.md has the figures).
uint32_t default_replica_actors();

struct node_config {
  // Identity and network.
  std::string node_id = "n1";
  // The three doors (docs/protocol.md, docs/configuration.md). configure() derives the peer
  // and admin listeners from --listen when they are not given (apply_listener_defaults).
  host_port listen{"127.0.0.1", 7101};        // clients: the client protocol
  host_port peer_listen{"127.0.0.1", 7201};   // other nodes: BASP; seeds and member rows name it
  host_port admin_listen{"127.0.0.1", 7301};  // operator verbs
  std::string data_dir;
  std::vector<host_port> seeds;
  std::string rack = "rack1";
  std::string datacenter = "dc1";
  uint32_t weight = 1;
  std::string http;  // "host:port" for /metrics and /health; empty = off

  // Security (docs/security.md). With the three TLS files, every listener speaks TLS and asks
  // for a certificate of the cluster CA; with an ACL, callers need credentials and rights.
  // Without both, a node listens on loopback addresses only, unless it is `insecure`.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  std::string acl;             // the ACL file; reloaded on SIGHUP
  bool insecure = false;       // listen beyond loopback without TLS and an ACL (warned at start)
  bool chaos = false;          // the admin listener serves fail-actor
  std::string audit_log;       // JSON lines; "" = <data_dir>/audit.log, "off" = none
  bool audit_data = false;     // data operations are audited too
  std::string encryption_key;  // key file: RocksDB's files encrypted with AES-256-CTR

  // Data.
  bool sync = true;           // fsync the WAL before acknowledging a write
  uint32_t partitions = 256;  // Q, fixed for the life of the data
  // Replicas (vnodes) per node, each owning Q/replica_actors partitions on its own thread.
  uint32_t replica_actors = default_replica_actors();
  uint32_t tokens_per_weight = 1024;  // ring tokens of a weight-1 node (cluster/ring.hpp)
  size_t block_cache_bytes = size_t{128} << 20;
  size_t max_context_entries = 64;  // version-vector entries kept per key
  std::map<std::string, cluster::namespace_config> namespaces;

  // Limits, enforced by the coordinator.
  size_t max_key_bytes = 1024;
  size_t max_value_bytes = size_t{1} << 20;
  // Writes are refused once the data directory's filesystem has less than this free; reads go
  // on, and writes resume by themselves once space is freed. 0: no reserve.
  uint64_t disk_reserve_bytes = uint64_t{256} << 20;
  // The largest single message between nodes; an object travelling in pieces (actors/
  // batching.hpp) is put together up to this size. At least 4 x the largest max_object_bytes.
  uint64_t max_peer_message_bytes = uint64_t{256} << 20;

  // Time.
  milliseconds default_timeout{5000};    // a request without timeout_ms gets this
  milliseconds max_timeout{60000};       // a request asking for more is rejected
  milliseconds deadline_tick{10};        // resolution of request deadlines
  milliseconds fallback_after{1000};     // a write's replica silent this long gets a fallback
  milliseconds reconnect_interval{500};  // how often unreachable peers are retried

  // Gossip and failure detection (actors/gossip.hpp, cluster/failure_detector.hpp).
  milliseconds gossip_interval{200};  // a round: heartbeat, then the table to a few peers
  uint32_t gossip_fanout = 2;         // peers each round goes to (plus one that is down)
  milliseconds suspect_after{2000};   // silence before a member is suspected
  double phi_threshold = 8.0;         // phi-accrual score that alone declares a member down

  // Handoff (actors/handoff.hpp): partitions streamed to new holders when placement changes.
  uint32_t handoff_batch_keys = 64;   // keys in flight per transfer
  milliseconds handoff_settle{2000};  // before the second sweep, and before dropping

  // Hinted handoff (actors/hint_store.hpp): writes a fallback holds for a down replica.
  uint64_t hint_max_bytes = uint64_t{256} << 20;  // beyond this, the oldest are dropped
  milliseconds hint_max_age{3 * 3600 * 1000};     // older hints are dropped
  uint32_t hint_batch_keys = 64;                  // hints in flight per owner
  milliseconds hint_replay_interval{1000};        // how often owners are checked

  // Anti-entropy (actors/anti_entropy.hpp) and garbage collection (actors/compaction.hpp).
  bool anti_entropy = true;                      // off: replicas converge by reads and hints only
  milliseconds anti_entropy_sweep{300000};       // every held partition is exchanged once per sweep
  uint32_t anti_entropy_keys_per_second = 2000;  // repairs are paced to this
  uint32_t merkle_leaves = 256;                  // buckets per partition's Merkle tree
  milliseconds tombstone_grace{86400000};        // a tombstone lives at least this long
  milliseconds compaction_interval{600000};      // between garbage-collection passes

  // Supervision: more than max_restarts within restart_window ends the process non-zero.
  uint32_t max_restarts = 20;
  milliseconds restart_window{10000};

  // The node's port (actors/net/guarded_port.hpp). The guard's timeouts stay below the
  // middleman's connection timeout, so the guard is the one that closes (and logs) a stuck
  // connection.
  milliseconds handshake_timeout{3000};      // a connection must finish its handshake in time
  milliseconds frame_timeout{3000};          // a frame, once started, must arrive whole in time
  size_t max_frame_bytes = size_t{4} << 20;  // must exceed the key and value limits (+64 KiB)
  uint32_t max_connections = 1024;           // more are refused, so a flood cannot take every fd
  // The client and admin doors (actors/net/client_port.hpp).
  milliseconds client_idle_timeout{300000};  // a connection silent this long is closed
  uint32_t max_in_flight = 1024;             // unanswered requests per connection; then no reads
  milliseconds heartbeat_interval{500};      // middleman heartbeats between processes
  milliseconds connection_timeout{5000};     // a peer silent this long is disconnected

  // Runtime. CAF's work-sharing scheduler wakes an idle thread at once, where work stealing
  // sleeps with back-off: on loopback a request's round trip fell from ~310 to ~90 us with it.
  // Deserializing in the multiplexer thread (no middleman workers) saves a thread hop more.
  uint32_t scheduler_threads = 2;
  bool work_stealing = false;
  uint32_t middleman_workers = 0;
  std::string log_level = "info";
  // Replicas (when syncing; actors/replica.hpp), their syncers and compaction on threads of
  // their own. Actor tests: no, to run deterministically.
  bool detached_replicas = true;
  wall_clock now_ms = system_wall_clock_ms;
};

// The settings of namespace `name` as stored data sees them: one no longer configured (its data
// outlived its definition) reads as causal, with no TTL.
const cluster::namespace_config& namespace_settings(const node_config& cfg,
                                                    const std::string& name);

// The longest preference list of any namespace (at least 1): a partition holds every
// namespace's keys, so this is how many members hold a partition.
uint32_t max_replicas(const node_config& cfg);

// True when the seeds name a node other than this one.
bool clustered(const node_config& cfg);

// Gives peer_listen and admin_listen their derived addresses where they have a port of 0:
// --listen's host with its port + 100 for peers, loopback with its port + 200 for operators.
void apply_listener_defaults(node_config& cfg);

// Adds the "default" namespace if missing, and gives every namespace whose n was not set the
// cluster's default: 1 on a node alone (no seeds but itself), else 3.
void apply_namespace_defaults(node_config& cfg);

// True when the node speaks TLS and checks credentials against an ACL.
bool secured(const node_config& cfg);

// "127.x.y.z", "::1" or "localhost".
bool is_loopback(const std::string& host);

// Checks the whole configuration: every setting against its rule in the settings table
// (actors/node/settings.hpp), then the rules that tie settings together. The error names the
// offending setting.
[[nodiscard]] caf::error validate(const node_config& cfg);

// Reading configuration (actors/node/settings.cpp, through the settings table). Every error is
// INVALID_ARGUMENT and names the key or flag, and what it expects.

// Reads a TOML configuration file over `cfg`. Keys absent from the file keep their value; an
// unknown key, or a value of the wrong type or out of range, is an error.
[[nodiscard]] caf::error load_toml(const std::string& path, node_config& cfg);

// Parses a namespace given on the command line: "NAME" or "NAME:n=3,r=2,w=2,lww=true".
[[nodiscard]] caf::expected<cluster::namespace_config> parse_namespace(const std::string& text);

// A flag as given on the command line: "--weight", "3".
struct given_flag {
  std::string flag;
  std::string text;
};

// A node's configuration: the defaults, then the config file (when one is given), then the
// flags, then the namespace defaults (apply_namespace_defaults); validated.
[[nodiscard]] caf::expected<node_config> configure(const std::optional<std::string>& file,
                                                   const std::vector<given_flag>& flags);

}  // namespace kv::actors
