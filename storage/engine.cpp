#include "storage/engine.hpp"

#include <openssl/evp.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env_encryption.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <vector>

#include "messages/errc.hpp"
#include "storage/disk_reserve.hpp"

namespace kv::storage {
namespace {

// Indexed by `column`.
const std::array<std::string, 3> column_names = {"data", "hints", "meta"};

rocksdb::Slice to_slice(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view to_view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The one translation of rocksdb::Status into kv errors. RocksDB reports a held LOCK file as
// a plain IO error, so only its text tells it apart: "While lock file: DIR/LOCK: Resource
// temporarily unavailable" when another process holds it, "lock hold by current process"
// when another engine of this process does.
caf::error to_error(const rocksdb::Status& status, const std::string& path, std::string_view what) {
  if (status.ok()) return caf::none;
  auto text = status.ToString();
  if (status.IsIOError() && contains(text, "lock hold by current process"))
    return make_error(errc::internal,
                      "data directory " + path + " is in use by another engine in this process");
  if (status.IsIOError() && contains(text, "While lock file"))
    return make_error(errc::internal, "data directory " + path + " is in use by another process");
  std::string message = "storage ";
  message.append(what).append(" failed in ").append(path).append(": ").append(text);
  return make_error(errc::internal, std::move(message));
}

// RocksDB's own recovery from a full disk polls every 5 s on a thread of its own, and while it
// is pending DB::Resume() answers Busy. The engine resumes RocksDB itself, as soon as its own
// probe sees the reserve free again, so RocksDB's is turned off.
class manual_recovery final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status error,
                            bool* auto_recovery) override {
    error.PermitUncheckedError();
    *auto_recovery = false;
  }
};

// Whether a failed write is the disk running out of space. An IO error that does not say so is
// taken as one when the free space, probed right after, is below the reserve or nil: the
// error text of every layer between the disk and RocksDB is not ours to trust.
bool out_of_space(const rocksdb::Status& status, uint64_t free_bytes, uint64_t reserve) {
  if (status.IsNoSpace()) return true;
  if (!status.IsIOError()) return false;
  return contains(status.ToString(), "No space left") || free_bytes == 0 || free_bytes < reserve;
}

// RocksDB's info log, in the data directory's LOG file as RocksDB's own (the previous run's is
// kept as LOG.old), but written with plain stdio. RocksDB's own logger asserts on the first line
// after a write of its file failed, and Debian's build keeps assertions: on a full disk, the
// next flush's log line aborted the process. Here a line that does not fit is lost.
class info_log final : public rocksdb::Logger {
 public:
  explicit info_log(const std::string& dir) : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {
    auto path = dir + "/LOG";
    std::error_code ignored;
    std::filesystem::rename(path, path + ".old", ignored);  // ignored: a first start has none
    file_ = std::fopen(path.c_str(), "w");
  }
  ~info_log() override {
    if (file_ != nullptr) static_cast<void>(std::fclose(file_));  // ignored: nothing to do
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (file_ == nullptr) return;
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(now);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
    std::tm local{};
    localtime_r(&seconds, &local);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d-%H:%M:%S", &local);
    std::lock_guard<std::mutex> lock{mutex_};
    std::fprintf(file_, "%s.%06lld ", stamp, static_cast<long long>(micros.count() % 1000000));
    std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);  // errors (ENOSPC) stay in the FILE and are ignored
  }

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

uint64_t statvfs_free_bytes(const std::string& path) {
  struct statvfs fs {};
  // A filesystem that cannot tell its free space is never taken as short.
  if (statvfs(path.c_str(), &fs) != 0) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A RocksDB built without `wanted` would refuse to open; running uncompressed is better.
rocksdb::CompressionType supported_or_none(rocksdb::CompressionType wanted) {
  static const auto supported = rocksdb::GetSupportedCompressions();
  bool ok = std::find(supported.begin(), supported.end(), wanted) != supported.end();
  return ok ? wanted : rocksdb::kNoCompression;
}

// The reasons behind these choices are in docs/storage.md.
rocksdb::ColumnFamilyOptions column_options(const engine_options& options,
                                            const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(options.bloom_bits_per_key));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;

  rocksdb::ColumnFamilyOptions result;
  result.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  result.write_buffer_size = options.write_buffer_bytes;
  result.compression = rocksdb::kNoCompression;
  if (options.compression) {
    result.compression = supported_or_none(rocksdb::kLZ4Compression);
    result.bottommost_compression = supported_or_none(rocksdb::kZSTD);
  }
  return result;
}

// -- encryption at rest -------------------------------------------------------------------------
// RocksDB 7.8 ships the CTR encryption provider but only a ROT13 cipher. This is AES-256 of one
// 16-byte block, which the provider runs in counter mode over every file: each file gets a
// random IV in a 4 KiB plaintext prefix. CTR is not authenticated (docs/security.md).

constexpr size_t key_bytes = 32;
constexpr const char* marker_name = "ENCRYPTION";  // in the data directory, beside CURRENT

class aes256_block final : public rocksdb::BlockCipher {
 public:
  explicit aes256_block(const std::array<unsigned char, key_bytes>& key)
      : encrypt_(EVP_CIPHER_CTX_new()), decrypt_(EVP_CIPHER_CTX_new()) {
    EVP_EncryptInit_ex(encrypt_, EVP_aes_256_ecb(), nullptr, key.data(), nullptr);
    EVP_DecryptInit_ex(decrypt_, EVP_aes_256_ecb(), nullptr, key.data(), nullptr);
    EVP_CIPHER_CTX_set_padding(encrypt_, 0);
    EVP_CIPHER_CTX_set_padding(decrypt_, 0);
  }
  ~aes256_block() override {
    EVP_CIPHER_CTX_free(encrypt_);
    EVP_CIPHER_CTX_free(decrypt_);
  }
  const char* Name() const override { return "ringkv-aes256"; }
  size_t BlockSize() override { return 16; }
  rocksdb::Status Encrypt(char* data) override { return run(encrypt_, data); }
  rocksdb::Status Decrypt(char* data) override { return run(decrypt_, data); }

 private:
  // One block in place. RocksDB calls this from every thread that reads or writes a file; an
  // EVP context is not for concurrent use, hence the lock.
  rocksdb::Status run(EVP_CIPHER_CTX* ctx, char* data) {
    unsigned char out[32];
    int len = 0;
    std::lock_guard<std::mutex> lock{mutex_};
    if (EVP_CipherUpdate(ctx, out, &len, reinterpret_cast<unsigned char*>(data), 16) != 1 ||
        len != 16)
      return rocksdb::Status::IOError("AES-256 failed");
    std::memcpy(data, out, 16);
    return rocksdb::Status::OK();
  }

  std::mutex mutex_;
  EVP_CIPHER_CTX* encrypt_;
  EVP_CIPHER_CTX* decrypt_;
};

// The key in `path`: 64 hex digits (and optionally a newline), in a regular file that only its
// owner may read.
caf::expected<std::array<unsigned char, key_bytes>> read_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error(errc::invalid_argument,
                      "cannot read the encryption key " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_size > 256)
    return make_error(errc::invalid_argument,
                      "the encryption key " + path + " is not a small regular file");
  if ((st.st_mode & 077) != 0)
    return make_error(errc::invalid_argument,
                      "the encryption key " + path + " is readable by others: chmod 600 it");
  std::ifstream in{path};
  std::string text;
  std::getline(in, text);
  std::array<unsigned char, key_bytes> key{};
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool ok = text.size() == 2 * key_bytes;
  for (size_t i = 0; ok && i < key_bytes; ++i) {
    int hi = hex(text[2 * i]), lo = hex(text[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    key[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  if (!ok)
    return make_error(
        errc::invalid_argument,
        "the encryption key " + path + " must hold 64 hex digits (openssl rand -hex 32 makes one)");
  return key;
}

// What the marker file says of a key: its SHA-256, the first 16 hex digits. Tells a wrong key
// from corrupt data without revealing anything usable about the key.
std::string fingerprint(const std::array<unsigned char, key_bytes>& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(key.data(), key.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 15];
  }
  return out;
}

// The encrypted environment for the data in `dir`, or null when the data is not encrypted.
// Refuses a key for plain data, no key for encrypted data, and the wrong key.
caf::expected<std::unique_ptr<rocksdb::Env>> encryption_for(const engine_options& options) {
  namespace fs = std::filesystem;
  auto marker = fs::path{options.path} / marker_name;
  std::error_code failed;
  bool encrypted = fs::exists(marker, failed);
  if (options.encryption_key_file.empty()) {
    if (encrypted)
      return make_error(
          errc::invalid_argument,
          "the data in " + options.path + " is encrypted: give its key file (--encryption-key)");
    return std::unique_ptr<rocksdb::Env>{};
  }
  auto key = read_key(options.encryption_key_file);
  if (!key) return key.error();
  auto line = "aes-256-ctr key-sha256:" + fingerprint(*key);
  if (encrypted) {
    std::ifstream in{marker};
    std::string stored;
    std::getline(in, stored);
    if (stored != line)
      return make_error(errc::invalid_argument, "the key " + options.encryption_key_file +
                                                    " is not the key of the data in " +
                                                    options.path + " (" + marker.string() +
                                                    " says \"" + stored + "\")");
  } else {
    if (fs::exists(fs::path{options.path} / "CURRENT", failed))
      return make_error(errc::invalid_argument,
                        "the data in " + options.path +
                            " is not encrypted, and cannot be encrypted in place: start an "
                            "empty node with the key and let handoff fill it (docs/security.md)");
    std::ofstream out{marker};
    out << line << "\n";
    out.close();
    if (!out) return make_error(errc::internal, "cannot write " + marker.string());
  }
  auto provider = rocksdb::EncryptionProvider::NewCTRProvider(std::make_shared<aes256_block>(*key));
  auto* base = options.env != nullptr ? options.env : rocksdb::Env::Default();
  return std::unique_ptr<rocksdb::Env>{rocksdb::NewEncryptedEnv(base, provider)};
}

rocksdb::DBOptions db_options(const engine_options& options,
                              std::shared_ptr<rocksdb::Statistics> statistics) {
  rocksdb::DBOptions result;
  // Tickers only (no histograms or timers): cheap, and they count the WAL fsyncs RocksDB
  // really did, which is how group commit shows.
  result.statistics = std::move(statistics);
  result.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  result.create_if_missing = true;
  result.create_missing_column_families = true;
  // A column family written rarely (meta) pins every WAL file since its last flush; bounding
  // the total WAL size forces that flush, which bounds disk use and crash-recovery time.
  result.max_total_wal_size = 4 * options.write_buffer_bytes;
  result.info_log = std::make_shared<info_log>(options.path);
  if (options.env != nullptr) result.env = options.env;
  result.listeners.push_back(std::make_shared<manual_recovery>());
  return result;
}

}  // namespace

// -- write_batch ----------------------------------------------------------------------------

// Operations are recorded with their column and turned into a rocksdb::WriteBatch by
// engine::write, the only place that knows the column family handles. Keys and values share
// one buffer, so a batch reused after clear() does not allocate.
struct write_batch::impl {
  struct op {
    column cf;
    bool erase;
    size_t key_size;
    size_t value_size;
  };
  std::vector<op> ops;
  std::string payload;  // the key and value of each op, back to back
};

write_batch::write_batch() : impl_(std::make_unique<impl>()) {}
write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

void write_batch::put(column cf, std::string_view key, std::string_view value) {
  impl_->ops.push_back({cf, false, key.size(), value.size()});
  impl_->payload.append(key).append(value);
}

void write_batch::erase(column cf, std::string_view key) {
  impl_->ops.push_back({cf, true, key.size(), 0});
  impl_->payload.append(key);
}

size_t write_batch::count() const {
  return impl_->ops.size();
}
bool write_batch::grows() const {
  return std::any_of(impl_->ops.begin(), impl_->ops.end(),
                     [](const impl::op& op) { return !op.erase && op.cf != column::meta; });
}

size_t write_batch::bytes() const {
  return impl_->payload.size();
}

void write_batch::clear() {
  impl_->ops.clear();
  impl_->payload.clear();
}

// -- engine ---------------------------------------------------------------------------------

struct engine::impl {
  explicit impl(const engine_options& opts)
      : options(opts),
        cache(rocksdb::NewLRUCache(opts.block_cache_bytes)),
        statistics(rocksdb::CreateDBStatistics()),
        reserve({opts.disk_reserve_bytes, opts.disk_check_interval_ms, 0}) {}

  // A shutdown cannot report errors. A caller that needs to know whether the last unsynced
  // writes reached the disk calls engine::sync_wal() first. A WAL whose write failed for want
  // of space is not synced: Debian's RocksDB asserts on a sync after a failed append.
  ~impl() {
    if (!db) return;
    if (!stopped && !rocksdb_stopped) static_cast<void>(db->SyncWAL());  // ignored: see above
    for (auto* handle : handles)
      static_cast<void>(db->DestroyColumnFamilyHandle(handle));  // ignored: fails only for null
    static_cast<void>(db->Close());  // ignored: the WAL already holds every committed batch
  }

  rocksdb::ColumnFamilyHandle* handle(column cf) const {
    return handles[1 + static_cast<size_t>(cf)];
  }

  caf::error check(const rocksdb::Status& status, std::string_view what) const {
    return to_error(status, options.path, what);
  }

  caf::error refuse(std::string_view what) const {
    std::string message = "storage ";
    message.append(what).append(" refused in ").append(options.path);
    message.append(": an earlier write failed; reopen the engine to recover from the WAL");
    return make_error(errc::internal, std::move(message));
  }

  // Builds the rocksdb::WriteBatch of `batch` into `out`, which starts empty.
  caf::error translate(const write_batch::impl& batch, rocksdb::WriteBatch& out) const {
    std::string_view payload = batch.payload;
    for (const auto& op : batch.ops) {
      auto key = to_slice(payload.substr(0, op.key_size));
      auto value = to_slice(payload.substr(op.key_size, op.value_size));
      payload.remove_prefix(op.key_size + op.value_size);
      auto status = op.erase ? out.Delete(handle(op.cf), key) : out.Put(handle(op.cf), key, value);
      if (auto err = check(status, "write")) return err;
    }
    return caf::none;
  }

  // -- space: the engine's state diagram is in engine.hpp ------------------------------------

  int64_t now_ms() const { return options.clock_ms ? options.clock_ms() : steady_ms(); }

  uint64_t probe_free() const {
    return options.free_bytes ? options.free_bytes() : statvfs_free_bytes(options.path);
  }

  bool short_locked() const { return rocksdb_stopped || reserve.short_of_space(); }

  // Probes again when the cached probe is due, and resumes a stopped RocksDB once the reserve
  // is free (at most once per interval: a resume flushes every memtable).
  void refresh_locked() {
    auto now = now_ms();
    if (reserve.due(now)) reserve.record(probe_free(), now);
    if (rocksdb_stopped && !reserve.short_of_space() && now >= next_resume_ms) {
      next_resume_ms = now + options.disk_check_interval_ms;
      // A resume that fails (a flush finds the disk full again) is tried at the next interval.
      if (db->Resume().ok()) rocksdb_stopped = false;
    }
    report_locked();
  }

  // Tells on_disk_change when the short state was entered or left since the last report.
  void report_locked() {
    bool now_short = short_locked();
    if (now_short == reported_short) return;
    reported_short = now_short;
    if (!options.on_disk_change) return;
    disk_event event{now_short, rocksdb_stopped ? stop_cause : "reserve", reserve.free_bytes(),
                     reserve.reserve_bytes()};
    options.on_disk_change(event);
  }

  caf::error refuse_short_locked(uint64_t ops) {
    refused += ops;
    std::string message = "disk short in " + options.path + ": " +
                          format_bytes(reserve.free_bytes()) + " free, reserve " +
                          format_bytes(reserve.reserve_bytes());
    if (rocksdb_stopped) message += "; RocksDB ran out of space (" + stop_cause + ")";
    message += "; writes resume by themselves once space is freed";
    return make_error(errc::unavailable, std::move(message));
  }

  // A write that RocksDB failed: out of space, the engine waits for space; otherwise it stops.
  caf::error failed(const rocksdb::Status& status, std::string_view what, uint64_t ops) {
    std::lock_guard<std::mutex> lock{space_mutex};
    auto now = now_ms();
    reserve.record(probe_free(), now);
    if (!out_of_space(status, reserve.free_bytes(), reserve.reserve_bytes())) {
      stopped = true;
      return check(status, what);
    }
    rocksdb_stopped = true;
    stop_cause = status.ToString();
    next_resume_ms = now + options.disk_check_interval_ms;
    report_locked();
    return refuse_short_locked(ops);
  }

  engine_options options;
  std::unique_ptr<rocksdb::Env> encrypted_env;  // outlives `db`, declared below
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::Statistics> statistics;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // "default", then column_names
  // Set by the first failed commit; from then on the engine takes no more writes or syncs.
  // After a failed write or fsync the WAL's state on disk is unknown, and a retried fsync can
  // report success for pages the OS already dropped (PostgreSQL's "fsyncgate"), so the only
  // safe way on is to reopen and recover from what the WAL really holds. It also keeps us
  // clear of RocksDB 7.8's debug assertion (enabled in Debian's build) that aborts the
  // process on a WAL sync after a WAL write error.
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> synced_commits{0};
  std::atomic<uint64_t> bytes_written{0};

  std::mutex space_mutex;  // guards what follows, and serializes DB::Resume()
  disk_reserve reserve;
  // RocksDB failed a write for want of space and refuses writes until DB::Resume(). Atomic for
  // the destructor and sync_wal(), which only read it.
  std::atomic<bool> rocksdb_stopped{false};
  std::string stop_cause;  // RocksDB's error
  int64_t next_resume_ms = 0;
  bool reported_short = false;  // the state on_disk_change last heard of
  std::atomic<uint64_t> refused{0};
};

engine::engine(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
engine::~engine() = default;

caf::expected<std::unique_ptr<engine>> engine::open(const engine_options& options) {
  namespace fs = std::filesystem;
  std::error_code failed;
  fs::create_directories(options.path, failed);
  if (failed)
    return make_error(errc::internal,
                      "cannot create data directory " + options.path + ": " + failed.message());
  // Only the node's own user may enter the data directory, whatever mode it was made with: the
  // files in it hold every value stored.
  fs::permissions(options.path, fs::perms::owner_all, fs::perm_options::replace, failed);
  if (failed)
    return make_error(errc::internal, "cannot make data directory " + options.path +
                                          " private (mode 0700): " + failed.message());
  auto encrypted_env = encryption_for(options);
  if (!encrypted_env) return encrypted_env.error();
  auto state = std::make_unique<impl>(options);
  state->encrypted_env = std::move(*encrypted_env);
  if (state->encrypted_env) state->options.env = state->encrypted_env.get();
  auto family = column_options(state->options, state->cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, family}};
  for (const auto& name : column_names) families.emplace_back(name, family);
  rocksdb::DB* db = nullptr;
  auto status = rocksdb::DB::Open(db_options(state->options, state->statistics), options.path,
                                  families, &state->handles, &db);
  if (auto err = state->check(status, "open")) return err;
  state->db.reset(db);
  return std::unique_ptr<engine>{new engine(std::move(state))};
}

caf::expected<std::optional<std::string>> engine::get(column cf, std::string_view key) const {
  rocksdb::PinnableSlice value;
  auto status = impl_->db->Get(rocksdb::ReadOptions{}, impl_->handle(cf), to_slice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (auto err = impl_->check(status, "read")) return err;
  return std::optional<std::string>{value.ToString()};
}

caf::error engine::write(write_batch& batch, bool sync) {
  // Reserve for RocksDB's batch header (sequence, count) and each op's framing (type, column
  // family, two lengths), so building the batch allocates once.
  constexpr size_t header_bytes = 12, op_overhead_bytes = 16;
  rocksdb::WriteBatch staged{header_bytes + batch.bytes() + batch.count() * op_overhead_bytes};
  if (auto err = impl_->translate(*batch.impl_, staged)) return err;
  if (impl_->stopped) return impl_->refuse("write");
  {
    std::lock_guard<std::mutex> lock{impl_->space_mutex};
    impl_->refresh_locked();
    if (impl_->rocksdb_stopped || (impl_->reserve.short_of_space() && batch.grows()))
      return impl_->refuse_short_locked(batch.count());
    impl_->reserve.wrote(batch.bytes());
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  auto status = impl_->db->Write(options, &staged);
  if (!status.ok()) return impl_->failed(status, "write", batch.count());
  impl_->writes += batch.count();
  impl_->commits += 1;
  impl_->synced_commits += sync ? 1 : 0;
  impl_->bytes_written += batch.bytes();
  return caf::none;
}

caf::error engine::scan(column cf, std::string_view first, std::string_view last,
                        const visitor& visit) const {
  rocksdb::ReadOptions options;
  rocksdb::Slice upper_bound = to_slice(last);
  if (!last.empty()) options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(options, impl_->handle(cf))};
  for (it->Seek(to_slice(first)); it->Valid(); it->Next())
    if (!visit(to_view(it->key()), to_view(it->value()))) break;
  return impl_->check(it->status(), "scan");
}

caf::error engine::sync_wal() {
  if (impl_->stopped) return impl_->refuse("WAL sync");
  if (impl_->rocksdb_stopped) {
    std::lock_guard<std::mutex> lock{impl_->space_mutex};
    return impl_->refuse_short_locked(0);
  }
  auto status = impl_->db->SyncWAL();
  if (!status.ok()) return impl_->failed(status, "WAL sync", 0);
  return caf::none;
}

caf::error engine::check_space(uint64_t ops) {
  std::lock_guard<std::mutex> lock{impl_->space_mutex};
  impl_->refresh_locked();
  return impl_->short_locked() ? impl_->refuse_short_locked(ops) : caf::none;
}

disk_state engine::disk() {
  std::lock_guard<std::mutex> lock{impl_->space_mutex};
  impl_->refresh_locked();
  auto& r = impl_->reserve;
  return {r.free_bytes(), r.reserve_bytes(), impl_->short_locked(), impl_->rocksdb_stopped,
          impl_->refused.load()};
}

bool engine::healthy() const {
  return !impl_->stopped;
}

engine_stats engine::stats() const {
  return {impl_->writes.load(), impl_->commits.load(), impl_->synced_commits.load(),
          impl_->statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED), impl_->bytes_written.load()};
}

uint64_t engine::estimated_keys(column cf) const {
  uint64_t keys = 0;
  auto found = impl_->db->GetIntProperty(impl_->handle(cf),
                                         rocksdb::DB::Properties::kEstimateNumKeys, &keys);
  return found ? keys : 0;
}

uint64_t engine::live_data_bytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < column_names.size(); ++i) {
    uint64_t bytes = 0;
    if (impl_->db->GetIntProperty(impl_->handle(static_cast<column>(i)),
                                  rocksdb::DB::Properties::kEstimateLiveDataSize, &bytes))
      total += bytes;
  }
  return total;
}

caf::error engine::compact_range(column cf, std::string_view first, std::string_view last) {
  rocksdb::CompactRangeOptions options;
  // Rewrite the bottommost level too: that is where the deletes meet the data they delete.
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  auto begin = to_slice(first);
  auto end = to_slice(last);
  return impl_->check(
      impl_->db->CompactRange(options, impl_->handle(cf), &begin, last.empty() ? nullptr : &end),
      "compaction");
}

compaction_stats engine::compaction() const {
  compaction_stats result;
  auto* db = impl_->db.get();
  auto* data = impl_->handle(column::data);
  db->GetIntProperty(data, rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
                     &result.pending_bytes);
  db->GetIntProperty(data, rocksdb::DB::Properties::kNumRunningCompactions, &result.running);
  db->GetIntProperty(data, rocksdb::DB::Properties::kTotalSstFilesSize, &result.sst_bytes);
  return result;
}

uint64_t engine::block_cache_usage() const {
  return impl_->cache->GetUsage();
}

const std::string& engine::path() const {
  return impl_->options.path;
}

}  // namespace kv::storage
