// storage/engine.hpp
// The RocksDB engine of one node, and the only file that includes <rocksdb/...> (besides the
// fault-injecting test environment). Column families: "data" (objects, keyed as keys.hpp
// says), "hints" (writes held for a down replica), "meta" (node identity and counters).
// The WAL is the commit log; bloom filters, a block cache and LZ4/ZSTD compression are
// configured here and documented in docs/storage.md.
// Thread-safe: any thread may read; each replica commits its own write_batch. RocksDB itself
// merges concurrent synced commits into one WAL sync (its write-group leader).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "caf/error.hpp"
#include "caf/expected.hpp"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace kv::storage {

enum class column : uint8_t { data, hints, meta };

struct engine_options {
  std::string path;  // data directory; created if missing
  size_t block_cache_bytes = size_t{128} << 20;
  int bloom_bits_per_key = 10;  // ~1% false positives for point reads
  size_t write_buffer_bytes = size_t{64} << 20;
  bool compression = true;      // LZ4 upper levels, ZSTD bottommost
  rocksdb::Env* env = nullptr;  // tests inject faults here; null = default
};

// Counters since open. A commit is one write() call; a synced commit asked for an fsync.
// RocksDB's write-group leader merges concurrent synced commits into one fsync, so wal_syncs
// (the fsyncs that really happened) is at most synced_commits, and writes / wal_syncs is how
// many writes shared each fsync.
struct engine_stats {
  uint64_t writes = 0;  // operations in committed batches
  uint64_t commits = 0;
  uint64_t synced_commits = 0;
  uint64_t wal_syncs = 0;
  uint64_t bytes_written = 0;  // key + value bytes in committed batches
};

// What RocksDB reports of its compactions, for the data column family.
struct compaction_stats {
  uint64_t pending_bytes = 0;  // estimated bytes compaction still has to rewrite
  uint64_t running = 0;        // compactions running now
  uint64_t sst_bytes = 0;      // size of the table files
};

// Operations committed atomically by engine::write. Move-only; reusable after clear().
class write_batch {
 public:
  write_batch();
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  void put(column cf, std::string_view key, std::string_view value);
  void erase(column cf, std::string_view key);
  size_t count() const;
  size_t bytes() const;
  bool empty() const { return count() == 0; }
  void clear();

 private:
  friend class engine;
  struct impl;
  std::unique_ptr<impl> impl_;
};

class engine {
 public:
  // Opens (creating if needed) the database at options.path. A directory in use by another
  // process, or one RocksDB cannot read, is an error naming the path and the cause.
  [[nodiscard]] static caf::expected<std::unique_ptr<engine>> open(const engine_options& options);

  // Syncs the WAL and closes: a clean shutdown loses nothing even when writes were unsynced.
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // nullopt when the key is absent.
  [[nodiscard]] caf::expected<std::optional<std::string>> get(column cf,
                                                              std::string_view key) const;

  // Commits the batch atomically. With `sync`, the WAL is fsynced before returning, so the
  // batch survives power loss. The batch is left as it was (the caller clears it).
  // A failed write or sync_wal() stops the engine: the failed batch may or may not be in the
  // WAL, and every later write and sync_wal() fails until the engine is reopened, which
  // recovers from what the WAL holds. Reads keep working.
  [[nodiscard]] caf::error write(write_batch& batch, bool sync);

  // Visits the keys of `cf` in [first, last) in order until `visit` returns false. An empty
  // `last` means no upper bound, as in key_range.
  using visitor = std::function<bool(std::string_view key, std::string_view value)>;
  [[nodiscard]] caf::error scan(column cf, std::string_view first, std::string_view last,
                                const visitor& visit) const;

  // Compacts the keys of `cf` in [first, last) (empty `last`: no bound) down to the bottommost
  // level, so that deleted keys stop taking space and time. Blocks until done.
  [[nodiscard]] caf::error compact_range(column cf, std::string_view first, std::string_view last);

  compaction_stats compaction() const;

  // Fsyncs the WAL (used on shutdown and by tests).
  [[nodiscard]] caf::error sync_wal();

  // False once a write or sync failed: the engine refuses writes until it is reopened.
  bool healthy() const;

  engine_stats stats() const;
  uint64_t estimated_keys(column cf) const;
  uint64_t live_data_bytes() const;
  uint64_t block_cache_usage() const;
  const std::string& path() const;

 private:
  struct impl;
  explicit engine(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace kv::storage
