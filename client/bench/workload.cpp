#include "client/bench/workload.hpp"

namespace kv::bench {

// Keys and values draw from separate streams, so the key sequence of a seed does not depend
// on the value size.
op_stream::op_stream(const bench_config& cfg)
    : ops_(cfg.seed),
      values_(cfg.seed ^ 0x5DEECE66DULL),
      chooser_(make_chooser(cfg.dist, cfg.records)),
      reads_(read_fraction(cfg.wl)),
      value_size_(cfg.value_size) {}

op op_stream::next() {
  auto record = chooser_->next(ops_);
  auto kind = reads_ >= 1.0 || ops_.next_double() < reads_ ? op_kind::read : op_kind::update;
  return {kind, record};
}

const std::string& op_stream::next_value() {
  fill_value(value_, value_size_, values_);
  return value_;
}

}  // namespace kv::bench
