// cluster/level.hpp
// Named consistency levels. Plain C++ (no CAF), shared by the coordinator's rules
// (consistency.hpp) and the client API (client/options.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kv::cluster {

enum class level : uint8_t { unset, one, quorum, all, local_quorum };

// "one", "quorum", "all", "local_quorum"; nullopt for anything else.
inline std::optional<level> parse_level(std::string_view name) {
  if (name == "one") return level::one;
  if (name == "quorum") return level::quorum;
  if (name == "all") return level::all;
  if (name == "local_quorum") return level::local_quorum;
  return std::nullopt;
}

inline std::string_view to_string(level lvl) {
  switch (lvl) {
    case level::one:
      return "one";
    case level::quorum:
      return "quorum";
    case level::all:
      return "all";
    case level::local_quorum:
      return "local_quorum";
    case level::unset:
      break;
  }
  return "unset";
}

}  // namespace kv::cluster
