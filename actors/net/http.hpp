// actors/net/http.hpp
// The node's HTTP endpoint (kvnode --http HOST:PORT): GET /health answers 200 "ok" while the
// node serves; GET /metrics answers the Prometheus text that `render` produces. Runs in its
// own two threads; stops when destroyed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "actors/node/config.hpp"
#include "caf/expected.hpp"

namespace kv::actors {

class http_endpoint {
 public:
  using renderer = std::function<std::string()>;

  [[nodiscard]] static caf::expected<std::unique_ptr<http_endpoint>> start(const host_port& at,
                                                                           renderer render);
  ~http_endpoint();

  struct impl;

 private:
  explicit http_endpoint(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace kv::actors
