#include "storage/engine.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "messages/errc.hpp"
#include "storage/keys.hpp"
#include "test/support/fault_env.hpp"
#include "test/support/temp_dir.hpp"

namespace kv::storage {
namespace {

using kv::test::fault_env;
using kv::test::temp_dir;

std::unique_ptr<engine> open_engine(const std::string& path, rocksdb::Env* env = nullptr) {
  engine_options options;
  options.path = path;
  options.block_cache_bytes = size_t{8} << 20;
  options.env = env;
  auto db = engine::open(options);
  if (!db) FAIL(describe(db.error()));
  return std::move(*db);
}

caf::error put(engine& db, column cf, std::string_view key, std::string_view value,
               bool sync = false) {
  write_batch batch;
  batch.put(cf, key, value);
  return db.write(batch, sync);
}

std::optional<std::string> get(const engine& db, column cf, std::string_view key) {
  auto value = db.get(cf, key);
  if (!value) FAIL(describe(value.error()));
  return *value;
}

std::vector<std::string> scan(const engine& db, const key_range& range) {
  std::vector<std::string> keys;
  auto err = db.scan(column::data, range.first, range.last, [&keys](auto key, auto) {
    keys.emplace_back(key);
    return true;
  });
  if (err) FAIL(describe(err));
  return keys;
}

// Another process holding the directory's LOCK the way RocksDB takes it (fcntl F_SETLK), for
// as long as this object lives.
class foreign_lock {
 public:
  explicit foreign_lock(const std::string& dir) {
    REQUIRE(pipe(ready_) == 0);
    REQUIRE(pipe(done_) == 0);
    child_ = fork();
    REQUIRE(child_ >= 0);
    if (child_ == 0) hold((dir + "/LOCK").c_str());
    char byte = 0;
    REQUIRE(read(ready_[0], &byte, 1) == 1);
    REQUIRE(byte == 'y');
  }
  ~foreign_lock() {
    static_cast<void>(write(done_[1], "x", 1));  // ignored: the child also exits on EOF
    for (int fd : {ready_[0], ready_[1], done_[0], done_[1]}) close(fd);
    waitpid(child_, nullptr, 0);
  }

 private:
  // Runs in the child: only async-signal-safe calls, then _exit.
  [[noreturn]] void hold(const char* lock_path) {
    close(ready_[0]);
    close(done_[1]);  // so that the parent's exit alone ends the wait below
    int fd = open(lock_path, O_RDWR | O_CREAT, 0644);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    bool locked = fd >= 0 && fcntl(fd, F_SETLK, &lock) == 0;
    static_cast<void>(write(ready_[1], locked ? "y" : "n", 1));  // ignored: parent checks
    char byte;
    static_cast<void>(read(done_[0], &byte, 1));  // ignored: any outcome means "done"
    _exit(0);
  }

  int ready_[2] = {-1, -1};
  int done_[2] = {-1, -1};
  pid_t child_ = -1;
};

}  // namespace

TEST_CASE("the data directory is made private, whatever mode it had", "[engine]") {
  namespace fs = std::filesystem;
  temp_dir dir;
  auto path = dir.str() + "/data";
  fs::create_directories(path);
  fs::permissions(path, fs::perms::all, fs::perm_options::replace);
  auto db = open_engine(path);
  CHECK(fs::status(path).permissions() == fs::perms::owner_all);
}

TEST_CASE("the three column families hold independent keys", "[engine]") {
  temp_dir dir;
  auto db = open_engine(dir.str());
  for (auto cf : {column::data, column::hints, column::meta})
    REQUIRE_FALSE(put(*db, cf, "k", "value in " + std::to_string(static_cast<int>(cf))));
  CHECK(get(*db, column::data, "k") == "value in 0");
  CHECK(get(*db, column::hints, "k") == "value in 1");
  CHECK(get(*db, column::meta, "k") == "value in 2");

  write_batch batch;
  batch.erase(column::hints, "k");
  REQUIRE_FALSE(db->write(batch, false));
  CHECK(get(*db, column::hints, "k") == std::nullopt);
  CHECK(get(*db, column::data, "k") == "value in 0");
  CHECK(get(*db, column::meta, "absent") == std::nullopt);
}

TEST_CASE("a batch commits all its operations at once", "[engine]") {
  temp_dir dir;
  auto db = open_engine(dir.str());
  REQUIRE_FALSE(put(*db, column::data, "old", "x"));
  write_batch batch;
  batch.put(column::data, "a", std::string("\0binary\xff", 8));
  batch.put(column::meta, "b", "");
  batch.erase(column::data, "old");
  batch.put(column::data, "a", "second put of a wins");
  CHECK(batch.count() == 4);
  CHECK(batch.bytes() == 1 + 8 + 1 + 0 + 3 + 1 + 20);
  REQUIRE_FALSE(db->write(batch, true));
  CHECK(get(*db, column::data, "a") == "second put of a wins");
  CHECK(get(*db, column::meta, "b") == "");
  CHECK(get(*db, column::data, "old") == std::nullopt);
  CHECK(batch.count() == 4);  // left as it was
  batch.clear();
  CHECK(batch.empty());
  CHECK(batch.bytes() == 0);
}

TEST_CASE("a scan returns a partition's keys in order and nothing else", "[engine]") {
  temp_dir dir;
  auto db = open_engine(dir.str());
  std::vector<std::string> keys;
  for (uint32_t p : {4u, 5u, 6u, max_partitions - 1})
    for (const auto& ns : std::vector<std::string>{"", "ns", std::string(255, '\xff')})
      for (const auto& key :
           std::vector<std::string>{"", "a", "b", std::string(3, '\0'), std::string(300, '\xff')})
        keys.push_back(data_key(p, ns, key));
  auto shuffled = keys;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937{3});
  write_batch batch;
  for (const auto& key : shuffled) batch.put(column::data, key, "v");
  REQUIRE_FALSE(db->write(batch, false));
  REQUIRE_FALSE(put(*db, column::hints, data_key(5, "ns", "a hint"), "v"));

  auto of_partition = [&keys](uint32_t p) {
    std::vector<std::string> result;
    for (const auto& key : keys)
      if (parse_data_key(key)->partition == p) result.push_back(key);
    std::sort(result.begin(), result.end());
    return result;
  };
  CHECK(scan(*db, partition_range(5)) == of_partition(5));
  CHECK(scan(*db, partition_range(max_partitions - 1)) == of_partition(max_partitions - 1));
  CHECK(scan(*db, partition_range(7)).empty());

  SECTION("until the visitor says stop") {
    size_t visited = 0;
    auto range = partition_range(4);
    REQUIRE_FALSE(db->scan(column::data, range.first, range.last,
                           [&visited](auto, auto) { return ++visited < 3; }));
    CHECK(visited == 3);
  }
}

TEST_CASE("stats count operations, commits, syncs and bytes", "[engine]") {
  temp_dir dir;
  auto db = open_engine(dir.str());
  write_batch batch;
  batch.put(column::data, "key", "value");
  batch.erase(column::hints, "gone");
  REQUIRE_FALSE(db->write(batch, true));
  REQUIRE_FALSE(db->write(batch, false));
  auto stats = db->stats();
  CHECK(stats.writes == 4);
  CHECK(stats.commits == 2);
  CHECK(stats.synced_commits == 1);
  CHECK(stats.wal_syncs == 1);
  CHECK(stats.bytes_written == 2 * (3 + 5 + 4));
  CHECK(db->path() == dir.str());
}

TEST_CASE("a reopened engine finds everything committed before a clean shutdown", "[engine]") {
  temp_dir dir;
  {
    auto db = open_engine(dir.sub("nested/db"));
    write_batch batch;
    for (int i = 0; i < 1000; ++i)
      batch.put(column::data, "key" + std::to_string(i), std::string(100, 'x'));
    REQUIRE_FALSE(db->write(batch, false));  // unsynced: the shutdown syncs it
    REQUIRE_FALSE(db->sync_wal());
  }
  auto db = open_engine(dir.sub("nested/db"));
  CHECK(get(*db, column::data, "key0") == std::string(100, 'x'));
  CHECK(get(*db, column::data, "key999") == std::string(100, 'x'));
  CHECK(db->estimated_keys(column::data) == 1000);
  CHECK(db->live_data_bytes() > 0);    // recovery wrote the WAL into a table file
  CHECK(db->block_cache_usage() > 0);  // whose blocks the reads went through
}

TEST_CASE("a directory in use cannot be opened again", "[engine]") {
  temp_dir dir;
  engine_options options;
  options.path = dir.str();

  SECTION("by this process") {
    auto first = open_engine(dir.str());
    auto second = engine::open(options);
    REQUIRE_FALSE(second);
    CHECK(describe(second.error()) ==
          "INTERNAL data directory " + dir.str() + " is in use by another engine in this process");
  }
  SECTION("by another process") {
    foreign_lock lock{dir.str()};
    auto second = engine::open(options);
    REQUIRE_FALSE(second);
    CHECK(describe(second.error()) ==
          "INTERNAL data directory " + dir.str() + " is in use by another process");
  }
}

TEST_CASE("a path that cannot be a data directory is an error naming it", "[engine]") {
  temp_dir dir;
  std::ofstream{dir.sub("file")} << "not a directory";
  engine_options options;
  options.path = dir.sub("file");
  auto db = engine::open(options);
  REQUIRE_FALSE(db);
  CHECK(code_of(db.error()) == errc::internal);
  CHECK_THAT(message_of(db.error()), Catch::Contains(dir.sub("file")));
}

TEST_CASE("after power loss, synced batches survive and later unsynced ones are lost", "[engine]") {
  temp_dir dir;
  fault_env faults;
  auto db = open_engine(dir.str(), faults.env());
  REQUIRE_FALSE(put(*db, column::data, "unsynced before", "a"));
  REQUIRE_FALSE(put(*db, column::data, "synced", "b", true));  // syncs the one before too
  REQUIRE_FALSE(put(*db, column::data, "unsynced after", "c"));
  REQUIRE(get(*db, column::data, "unsynced after") == "c");  // acknowledged, readable

  faults.crash();
  db.reset();  // the shutdown's WAL sync no longer reaches the disk

  SECTION("a process crash alone loses nothing: the OS holds every commit") {
    db = open_engine(dir.str());
    CHECK(get(*db, column::data, "unsynced before") == "a");
    CHECK(get(*db, column::data, "synced") == "b");
    CHECK(get(*db, column::data, "unsynced after") == "c");
  }
  SECTION("power loss loses the commits after the last sync") {
    faults.drop_unsynced_data();
    db = open_engine(dir.str(), faults.env());
    CHECK(get(*db, column::data, "unsynced before") == "a");
    CHECK(get(*db, column::data, "synced") == "b");
    CHECK(get(*db, column::data, "unsynced after") == std::nullopt);
  }
}

TEST_CASE("an explicit WAL sync makes the unsynced batches before it survive power loss",
          "[engine]") {
  temp_dir dir;
  fault_env faults;
  auto db = open_engine(dir.str(), faults.env());
  REQUIRE_FALSE(put(*db, column::hints, "unsynced", "a"));
  REQUIRE_FALSE(db->sync_wal());
  faults.crash();
  db.reset();
  faults.drop_unsynced_data();
  db = open_engine(dir.str(), faults.env());
  CHECK(get(*db, column::hints, "unsynced") == "a");
}

TEST_CASE("a failed disk write is an error, never an acknowledged batch", "[engine]") {
  temp_dir dir;
  fault_env faults;
  auto db = open_engine(dir.str(), faults.env());
  REQUIRE_FALSE(put(*db, column::data, "before", "kept", true));
  auto before = db->stats();

  auto nth = GENERATE(1, 2);  // the WAL append, then the WAL sync
  INFO("failing write " << nth);
  faults.fail_after_writes(nth);
  auto err = put(*db, column::data, "failed", "x", true);
  REQUIRE(err);
  CHECK(code_of(err) == errc::internal);
  CHECK_THAT(message_of(err), Catch::Contains("injected fault"));
  CHECK(faults.injected_failures() == 1);
  CHECK(db->stats().commits == before.commits);
  CHECK(db->stats().writes == before.writes);

  SECTION("and the engine stops until it is reopened") {
    auto again = put(*db, column::data, "after", "x", true);
    CHECK_THAT(message_of(again), Catch::Contains("an earlier write failed"));
    CHECK(db->sync_wal());
    CHECK(get(*db, column::data, "before") == "kept");  // reads go on
    CHECK(faults.injected_failures() == 1);

    db.reset();
    db = open_engine(dir.str(), faults.env());
    CHECK(get(*db, column::data, "before") == "kept");
    CHECK_FALSE(put(*db, column::data, "after", "x", true));
  }
}

}  // namespace kv::storage

namespace kv::storage {
namespace {

constexpr uint64_t mib = uint64_t{1} << 20;

// An engine whose free space is what the test says, probed at every look.
struct short_disk {
  explicit short_disk(uint64_t reserve, rocksdb::Env* env = nullptr) {
    engine_options options;
    options.path = dir.str();
    options.block_cache_bytes = size_t{8} << 20;
    options.env = env;
    options.disk_reserve_bytes = reserve;
    options.disk_check_interval_ms = 0;
    options.free_bytes = [this] { return free->load(); };
    options.on_disk_change = [this](const disk_event& e) { events->push_back(e); };
    auto opened = engine::open(options);
    if (!opened) FAIL(describe(opened.error()));
    db = std::move(*opened);
  }

  temp_dir dir;
  std::shared_ptr<std::atomic<uint64_t>> free =
      std::make_shared<std::atomic<uint64_t>>(uint64_t{1} << 40);
  std::shared_ptr<std::vector<disk_event>> events = std::make_shared<std::vector<disk_event>>();
  std::unique_ptr<engine> db;
};

}  // namespace

TEST_CASE("below the reserve, writes of data and hints are refused UNAVAILABLE and reads go on",
          "[engine][disk]") {
  short_disk disk{16 * mib};
  auto& db = *disk.db;
  REQUIRE_FALSE(put(db, column::data, "kept", "v", true));
  REQUIRE_FALSE(db.check_space());

  *disk.free = 10 * mib;
  auto err = put(db, column::data, "refused", "v", true);
  REQUIRE(err);
  CHECK(code_of(err) == errc::unavailable);
  CHECK_THAT(message_of(err), Catch::Contains("10.00 MiB free, reserve 16.00 MiB"));
  CHECK(code_of(put(db, column::hints, "hint", "v", true)) == errc::unavailable);
  CHECK(code_of(db.check_space(3)) == errc::unavailable);
  CHECK(get(db, column::data, "kept") == "v");
  CHECK_FALSE(get(db, column::data, "refused"));
  CHECK(db.healthy());

  SECTION("erases and the node's bookkeeping pass: they are how space comes back") {
    write_batch erase;
    erase.erase(column::data, "kept");
    CHECK_FALSE(db.write(erase, true));
    CHECK_FALSE(put(db, column::meta, "epoch", "2", true));
    CHECK_FALSE(get(db, column::data, "kept"));
  }

  auto state = db.disk();
  CHECK(state.short_of_space);
  CHECK_FALSE(state.rocksdb_stopped);
  CHECK(state.free_bytes == 10 * mib);
  CHECK(state.reserve_bytes == 16 * mib);
  CHECK(state.refused_writes == 5);  // one data put, one hint put, three checked

  *disk.free = 17 * mib;  // space freed: no reopen, no restart
  CHECK_FALSE(put(db, column::data, "refused", "v", true));
  CHECK(get(db, column::data, "refused") == "v");
  CHECK_FALSE(db.disk().short_of_space);
  REQUIRE(disk.events->size() == 2);
  CHECK((*disk.events)[0].short_of_space);
  CHECK((*disk.events)[0].cause == "reserve");
  CHECK((*disk.events)[0].free_bytes == 10 * mib);
  CHECK_FALSE((*disk.events)[1].short_of_space);
  CHECK((*disk.events)[1].free_bytes == 17 * mib);
}

TEST_CASE("without a reserve, a nearly full disk takes writes", "[engine][disk]") {
  short_disk disk{0};
  *disk.free = 1;
  CHECK_FALSE(put(*disk.db, column::data, "k", "v", true));
  CHECK_FALSE(disk.db->check_space());
}

TEST_CASE("when RocksDB runs out of space, writes fail UNAVAILABLE and resume once space is back",
          "[engine][disk]") {
  fault_env faults;
  short_disk disk{16 * mib, faults.env()};
  auto& db = *disk.db;
  REQUIRE_FALSE(put(db, column::data, "before", "kept", true));

  faults.fill_disk();  // the reserve did not see it coming: another process filled the disk
  auto err = put(db, column::data, "failed", "x", true);
  REQUIRE(err);
  CHECK(code_of(err) == errc::unavailable);
  CHECK_THAT(message_of(err), Catch::Contains("RocksDB ran out of space"));
  CHECK(faults.no_space_failures() >= 1);
  CHECK(db.healthy());  // not a failed disk: nothing for a restart to recover
  CHECK(db.disk().rocksdb_stopped);
  CHECK(get(db, column::data, "before") == "kept");  // reads go on

  // Still full: every write is refused, erases too (RocksDB takes none), and nothing crashes.
  write_batch erase;
  erase.erase(column::data, "before");
  CHECK(code_of(db.write(erase, true)) == errc::unavailable);
  CHECK(code_of(put(db, column::data, "again", "x", true)) == errc::unavailable);
  CHECK(code_of(db.sync_wal()) == errc::unavailable);

  faults.free_space();
  CHECK_FALSE(put(db, column::data, "after", "x", true));
  CHECK_FALSE(db.disk().short_of_space);
  CHECK(get(db, column::data, "after") == "x");
  CHECK_FALSE(db.sync_wal());
  REQUIRE(disk.events->size() == 2);
  CHECK((*disk.events)[0].short_of_space);
  CHECK_THAT((*disk.events)[0].cause, Catch::Contains("No space left"));
  CHECK_FALSE((*disk.events)[1].short_of_space);

  SECTION("and what was acknowledged survives a reopen") {
    disk.db.reset();
    auto reopened = open_engine(disk.dir.str(), faults.env());
    CHECK(get(*reopened, column::data, "before") == "kept");
    CHECK(get(*reopened, column::data, "after") == "x");
    CHECK_FALSE(get(*reopened, column::data, "failed"));
  }
}

}  // namespace kv::storage

namespace kv::storage {
namespace {

// Every byte of every file under `dir`.
std::string all_bytes(const std::string& dir) {
  std::string out;
  for (auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in{entry.path(), std::ios::binary};
    out.append(std::istreambuf_iterator<char>{in}, {});
  }
  return out;
}

std::string write_key(const std::string& path, const std::string& hex, mode_t mode = 0600) {
  std::ofstream{path} << hex << "\n";
  ::chmod(path.c_str(), mode);
  return path;
}

caf::expected<std::unique_ptr<engine>> open_with_key(const std::string& path,
                                                     const std::string& key_file) {
  engine_options options;
  options.path = path;
  options.block_cache_bytes = size_t{8} << 20;
  options.encryption_key_file = key_file;
  return engine::open(options);
}

}  // namespace

TEST_CASE("with a key, no file holds a value in clear, and only that key opens the data",
          "[engine][encryption]") {
  temp_dir dir;
  auto path = dir.str() + "/data";
  auto key = write_key(dir.str() + "/key", std::string(64, 'a'));
  const std::string secret = "the-secret-value-0123456789";
  {
    auto db = open_with_key(path, key);
    REQUIRE(db);
    for (int i = 0; i < 200; ++i)
      REQUIRE_FALSE(put(**db, column::data, "k" + std::to_string(i), secret, true));
    REQUIRE_FALSE((*db)->compact_range(column::data, "", ""));  // into an SST, beside the WAL
  }
  CHECK(all_bytes(path).find(secret) == std::string::npos);
  CHECK(all_bytes(path).find("k199") == std::string::npos);
  {
    auto db = open_with_key(path, key);
    REQUIRE(db);
    CHECK(get(**db, column::data, "k7") == secret);
  }
  auto none = open_with_key(path, "");
  REQUIRE_FALSE(none);
  CHECK_THAT(message_of(none.error()), Catch::Contains("is encrypted: give its key file"));
  auto other = open_with_key(path, write_key(dir.str() + "/other", std::string(64, 'b')));
  REQUIRE_FALSE(other);
  CHECK_THAT(message_of(other.error()), Catch::Contains("is not the key of the data"));
}

TEST_CASE("a key for plain data, or a bad key file, is refused naming why",
          "[engine][encryption]") {
  temp_dir dir;
  auto path = dir.str() + "/data";
  { auto db = open_engine(path); }
  auto key = write_key(dir.str() + "/key", std::string(64, 'c'));
  auto plain = open_with_key(path, key);
  REQUIRE_FALSE(plain);
  CHECK_THAT(message_of(plain.error()), Catch::Contains("is not encrypted"));
  auto fresh = dir.str() + "/fresh";
  auto shared = open_with_key(fresh, write_key(dir.str() + "/shared", std::string(64, 'c'), 0644));
  REQUIRE_FALSE(shared);
  CHECK_THAT(message_of(shared.error()), Catch::Contains("readable by others"));
  auto short_key = open_with_key(fresh, write_key(dir.str() + "/short", "abcd"));
  REQUIRE_FALSE(short_key);
  CHECK_THAT(message_of(short_key.error()), Catch::Contains("64 hex digits"));
  auto missing = open_with_key(fresh, dir.str() + "/nope");
  REQUIRE_FALSE(missing);
  CHECK_THAT(message_of(missing.error()), Catch::Contains("/nope"));
}

}  // namespace kv::storage
