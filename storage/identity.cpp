#include "storage/identity.hpp"

#include <algorithm>
#include <charconv>

#include "messages/errc.hpp"
#include "storage/engine.hpp"

namespace kv::storage {
namespace {

// Keys of the meta column family. Numbers are stored as decimal text, so that `ldb` shows
// them as they are.
constexpr std::string_view node_id_key = "node_id";
constexpr std::string_view partitions_key = "partitions";
constexpr std::string_view format_key = "format";
constexpr std::string_view epoch_key = "epoch";

// The layout of this directory (keys.hpp, codec.hpp, the keys above). A build refuses a
// directory of another format rather than misread it.
constexpr uint64_t format_version = 1;

caf::error corrupt_meta(const engine& db, std::string_view key, std::string_view problem) {
  std::string message = "data directory ";
  message.append(db.path()).append(": meta key ").append(key).append(" ").append(problem);
  return make_error(errc::internal, std::move(message));
}

caf::expected<uint64_t> read_number(const engine& db, std::string_view key) {
  auto value = db.get(column::meta, key);
  if (!value) return value.error();
  if (!*value) return corrupt_meta(db, key, "is missing");
  const auto& text = **value;
  uint64_t result = 0;
  auto [end, failed] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (failed != std::errc{} || end != text.data() + text.size() || text.empty())
    return corrupt_meta(db, key, "holds '" + text + "', not a number");
  return result;
}

// Checks that the directory whose meta names `stored_id` may serve this node.
caf::error check_owner(const engine& db, const std::string& stored_id, std::string_view node_id,
                       uint32_t partitions) {
  auto mismatch = [&db](const std::string& what) {
    return make_error(errc::invalid_argument, "data directory " + db.path() + " " + what);
  };
  if (stored_id != node_id)
    return mismatch("belongs to node " + stored_id + ", not " + std::string{node_id});
  auto format = read_number(db, format_key);
  if (!format) return format.error();
  if (*format != format_version)
    return mismatch("has storage format " + std::to_string(*format) + "; this build reads format " +
                    std::to_string(format_version));
  auto stored_partitions = read_number(db, partitions_key);
  if (!stored_partitions) return stored_partitions.error();
  if (*stored_partitions != partitions)
    return mismatch("was created with " + std::to_string(*stored_partitions) +
                    " partitions; this node is configured with " + std::to_string(partitions));
  return caf::none;
}

// What the directory says about the incarnation before this one.
struct history {
  bool created = false;  // there was none: the directory is new
  uint64_t epoch = 0;
};

caf::expected<history> load_history(const engine& db, std::string_view node_id,
                                    uint32_t partitions) {
  auto stored_id = db.get(column::meta, node_id_key);
  if (!stored_id) return stored_id.error();
  if (!stored_id->has_value()) return history{true, 0};
  if (auto err = check_owner(db, **stored_id, node_id, partitions)) return err;
  auto epoch = read_number(db, epoch_key);
  if (!epoch) return epoch.error();
  return history{false, *epoch};
}

// The epoch after `previous`: strictly greater, and at least the wall clock.
uint64_t next_epoch(uint64_t previous, int64_t now_ms) {
  auto clock = static_cast<uint64_t>(std::max(now_ms, int64_t{0}));
  return std::max(previous + 1, clock);
}

}  // namespace

caf::expected<identity> start_incarnation(engine& db, std::string_view node_id, uint32_t partitions,
                                          int64_t now_ms) {
  auto previous = load_history(db, node_id, partitions);
  if (!previous) return previous.error();
  identity result;
  result.node_id = node_id;
  result.partitions = partitions;
  result.created = previous->created;
  result.epoch = next_epoch(previous->epoch, now_ms);
  result.actor = result.node_id + '.' + base36(result.epoch);

  write_batch batch;
  batch.put(column::meta, node_id_key, node_id);
  batch.put(column::meta, partitions_key, std::to_string(partitions));
  batch.put(column::meta, format_key, std::to_string(format_version));
  batch.put(column::meta, epoch_key, std::to_string(result.epoch));
  if (auto err = db.write(batch, true)) return err;
  return result;
}

caf::error renew_incarnation(engine& db, identity& current, int64_t now_ms) {
  auto epoch = next_epoch(current.epoch, now_ms);
  write_batch batch;
  batch.put(column::meta, epoch_key, std::to_string(epoch));
  if (auto err = db.write(batch, true)) return err;
  current.epoch = epoch;
  current.actor = current.node_id + '.' + base36(epoch);
  return caf::none;
}

std::string base36(uint64_t value) {
  constexpr std::string_view digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string result;
  do {
    result.push_back(digits[value % 36]);
    value /= 36;
  } while (value != 0);
  std::reverse(result.begin(), result.end());
  return result;
}

}  // namespace kv::storage
