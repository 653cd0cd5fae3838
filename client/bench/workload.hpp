// client/bench/workload.hpp
// The operations of a run: which record comes next (keys.hpp's chooser) and whether it is read
// or updated (the workload's mix), plus the value bytes of each write. Deterministic from the
// seed. Used by one driver thread at a time; no CAF, no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "client/bench/config.hpp"
#include "client/bench/keys.hpp"

namespace kv::bench {

enum class op_kind : uint8_t { read = 0, update = 1 };

struct op {
  op_kind kind;
  uint64_t record;
};

class op_stream {
 public:
  explicit op_stream(const bench_config& cfg);

  op next();

  // Fresh bytes for the next write; valid until the next call.
  const std::string& next_value();

 private:
  rng ops_;
  rng values_;
  std::unique_ptr<key_chooser> chooser_;
  double reads_;
  size_t value_size_;
  std::string value_;
};

}  // namespace kv::bench
