// storage/engine.hpp
// The RocksDB engine of one node, and the only file that includes <rocksdb/...> (besides the
// fault-injecting test environment). Column families: "data" (objects, keyed as keys.hpp
// says), "hints" (writes held for a down replica), "meta" (node identity and counters).
// The WAL is the commit log; bloom filters, a block cache and LZ4/ZSTD compression are
// configured here and documented in docs/storage.md.
// Thread-safe: any thread may read; each replica commits its own write_batch. RocksDB itself
// merges concurrent synced commits into one WAL sync (its write-group leader).
//
// A full disk is a state, not a failure (docs/storage.md, "Full disk"):
//
//   ok ──(free < reserve)──────────────► short ──(free >= reserve)──────────────► ok
//   ok ──(RocksDB answers NoSpace)─────► short, RocksDB stopped ──(free >= reserve,
//                                                                   DB::Resume() ok)──► ok
//
// While short, batches that put data or hints are refused UNAVAILABLE before they reach
// RocksDB; erases and the node's own bookkeeping (meta) pass, paid for by the reserve, until
// RocksDB itself stops; then every write is refused until it resumes. Reads always go on.
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

// A change of the disk's state, for the node's log.
struct disk_event {
  bool short_of_space = false;  // entering the short state; false: leaving it
  std::string cause;            // entering: "reserve", or RocksDB's error
  uint64_t free_bytes = 0;
  uint64_t reserve_bytes = 0;
};

struct engine_options {
  std::string path;  // data directory; created if missing, made mode 0700
  size_t block_cache_bytes = size_t{128} << 20;
  int bloom_bits_per_key = 10;  // ~1% false positives for point reads
  size_t write_buffer_bytes = size_t{64} << 20;
  bool compression = true;      // LZ4 upper levels, ZSTD bottommost
  rocksdb::Env* env = nullptr;  // tests inject faults here; null = default
  // Encrypts every file RocksDB writes with AES-256-CTR under the key in this file (64 hex
  // digits, mode 0600). Empty: no encryption. Data is encrypted from its first write or never:
  // the marker file ENCRYPTION in `path` names the key's fingerprint.
  std::string encryption_key_file;

  // Free space kept in reserve on the data directory's filesystem; 0: none (RocksDB running
  // out of space is still survived). The free space is probed at most every
  // disk_check_interval_ms (or after an eighth of the reserve, at most 8 MiB, was written),
  // and at every write while short.
  uint64_t disk_reserve_bytes = 0;
  int64_t disk_check_interval_ms = 100;
  std::function<uint64_t()> free_bytes;  // null: statvfs of `path`; tests inject a probe
  std::function<int64_t()> clock_ms;     // monotonic; null: steady_clock
  // Called (on the writing thread) when the disk becomes short and when it recovers.
  std::function<void(const disk_event&)> on_disk_change;
};

// The disk as the reserve sees it.
struct disk_state {
  uint64_t free_bytes = 0;  // at the last probe
  uint64_t reserve_bytes = 0;
  bool short_of_space = false;   // below the reserve, or RocksDB stopped for want of space
  bool rocksdb_stopped = false;  // RocksDB ran out of space and has not resumed yet
  uint64_t refused_writes = 0;   // operations refused for want of space since open
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
  // True when the batch puts into `data` or `hints`: what a short disk refuses.
  bool grows() const;
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
  // While the disk is short, a batch that puts data or hints is refused UNAVAILABLE without
  // reaching RocksDB (any batch once RocksDB stopped). When RocksDB itself runs out of space,
  // the write fails UNAVAILABLE too (the batch may or may not be in the WAL, as with any
  // UNAVAILABLE write) and the engine resumes RocksDB once space is back.
  // Any other failed write or sync_wal() stops the engine: the failed batch may or may not be
  // in the WAL, and every later write and sync_wal() fails INTERNAL until the engine is
  // reopened, which recovers from what the WAL holds. Reads keep working.
  [[nodiscard]] caf::error write(write_batch& batch, bool sync);

  // UNAVAILABLE, naming the free space and the reserve, while the disk is short; none
  // otherwise. For a caller about to stage `ops` operations that grow the store, so that it
  // refuses them before anything is staged; refusals are counted. Cheap: the probe is cached.
  [[nodiscard]] caf::error check_space(uint64_t ops = 1);

  // The disk's state, probed again if the cached probe is due (and RocksDB resumed if it can).
  disk_state disk();

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

  // False once a write or sync failed for a reason other than space: the engine refuses
  // writes until it is reopened.
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
