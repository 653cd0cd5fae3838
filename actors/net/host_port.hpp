// actors/net/host_port.hpp
// A listen or connect address as flags, config files and seeds write it: "127.0.0.1:7101",
// "[::1]:7101", "node-3:7101". The node's config and the client both parse it here.
#pragma once

#include <cstdint>
#include <string>

#include "caf/expected.hpp"

namespace kv::actors {

struct host_port {
  std::string host;
  uint16_t port = 0;
};

// "127.0.0.1:7101", "[::1]:7101", "node-3:7101".
[[nodiscard]] caf::expected<host_port> parse_host_port(const std::string& text);
std::string to_string(const host_port& hp);

}  // namespace kv::actors
