// client/options.hpp
// Plain C++ types of the ringkv client API, shared by the client actor (client.hpp) and the
// blocking facade (blocking_client.hpp). No CAF here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/level.hpp"
#include "messages/errc.hpp"

#ifndef KV_CLIENT_VERSION
#define KV_CLIENT_VERSION "0.1"
#endif

namespace kv::client {

struct client_config {
  // Client listeners (kvnode --listen), HOST:PORT; the first that answers serves everything
  // but the operator verbs.
  std::vector<std::string> nodes = {"127.0.0.1:7101"};
  // Admin listeners (kvnode --admin-listen) for the operator verbs (fail-actor, explain, leave,
  // remove, transfers, hints, compaction, repair-status). Empty: each node's with the port +
  // 200, which is kvnode's default admin listener for a client port (on its loopback).
  std::vector<std::string> admin_nodes;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds default_timeout{5000};  // for requests that set none
  // How long past a request's own deadline the client waits for the node's answer before it
  // gives up itself (a frozen or unreachable node never answers).
  std::chrono::milliseconds grace{1000};
  // Largest request sent; bigger ones fail TOO_LARGE here rather than being cut off by the
  // node's listener (whose frame limit, 4 MiB by default and announced in its hello, leaves
  // 64 KiB above this for framing).
  size_t max_request_bytes = (size_t{4} << 20) - (size_t{64} << 10);
  // TLS (docs/security.md): with `ca`, connections speak TLS and trust only that CA, and the
  // node's certificate must name the host connected to. `cert` and `key`: this client's
  // certificate (scripts/certs.sh --clients NAME), which names its principal.
  std::string cert;
  std::string key;
  std::string ca;
  // A bearer token (the ACL's tokens), sent in the hello: who the client is without a
  // certificate. At most 1024 bytes.
  std::string token;
  std::string name = "ringkv-cpp/" KV_CLIENT_VERSION;  // sent in the hello, for the node's log
  uint32_t scheduler_threads = 2;                      // blocking_client's own actor system
};

// Where a client's credentials come from when no flag gives them (docs/security.md): the
// environment variables RINGKV_CERT, RINGKV_KEY, RINGKV_CA and RINGKV_TOKEN, else the files
// ca.pem, client.pem and client.key in $RINGKV_CREDENTIALS or ~/.ringkv (where
// scripts/quickstart.sh leaves the admin's). Fills only the fields that are empty.
void apply_credential_defaults(client_config& cfg);

// Named consistency levels, instead of r/w numbers.
using cluster::level;
using cluster::parse_level;

// Per-request options. Zeros mean "the namespace default".
struct request_options {
  std::string ns;  // namespace; empty = "default"
  uint32_t n = 0;  // replicas to involve
  uint32_t r = 0;  // replies a read waits for
  uint32_t w = 0;  // acknowledgements a write waits for
  level lvl = level::unset;
  std::chrono::milliseconds timeout{0};
};

struct sibling {
  std::string value;
  bool deleted = false;  // a tombstone: a delete concurrent with the other siblings
  int64_t timestamp_ms = 0;
  std::string version;  // the version's dot, "n1.kq3x9a1:7"
};

struct get_result {
  std::vector<sibling> siblings;  // every concurrent version, tombstones included
  std::string context;            // pass back on the next put/del to resolve them

  // At least one sibling is a value.
  bool found() const {
    for (auto& s : siblings)
      if (!s.deleted) return true;
    return false;
  }
};

struct error_info {
  errc code = errc::none;
  std::string message;

  // "UNAVAILABLE w=2 needs 2 replicas, 1 reachable"
  std::string describe() const;
};

// A value or a typed error.
template <class T>
class result {
 public:
  result(T value) : value_(std::move(value)) {}
  result(error_info err) : err_(std::move(err)) {}

  explicit operator bool() const { return value_.has_value(); }
  const T& value() const { return *value_; }
  T& value() { return *value_; }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return &*value_; }
  const error_info& error() const { return err_; }

 private:
  std::optional<T> value_;
  error_info err_;
};

}  // namespace kv::client
