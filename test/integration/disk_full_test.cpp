// A full disk is survivable (issue 13): before, a node whose disk filled up failed its write,
// stopped, and restarted into the same full disk. Here a node runs on a small tmpfs; a filler
// file leaves 6 MiB, writes fill them until they are refused UNAVAILABLE (kvctl exit 3), reads
// go on, and once the filler is deleted writes succeed again within seconds, from the same
// process. With a reserve, RocksDB never meets the full disk; without one, it does (ENOSPC on
// its WAL), and the node must survive that too.
//
// Mounting needs root (CAP_SYS_ADMIN); without it the test says so and passes.
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "test/integration/cluster_support.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::cluster_support::describe;
using kv::test::cluster_support::kvctl;
using kv::test::cluster_support::wait_until;

constexpr uint64_t mib = uint64_t{1} << 20;

// A tmpfs of `size_mb` at `dir` for as long as this object lives, if mounting is allowed.
class small_filesystem {
 public:
  small_filesystem(const std::string& dir, int size_mb) : dir_(dir) {
    std::filesystem::create_directories(dir);
    auto options = "size=" + std::to_string(size_mb) + "m";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~small_filesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  small_filesystem(const small_filesystem&) = delete;
  small_filesystem& operator=(const small_filesystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  uint64_t free_bytes() const {
    struct statvfs fs {};
    REQUIRE(::statvfs(dir_.c_str(), &fs) == 0);
    return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

void write_file(const std::string& path, uint64_t bytes) {
  std::ofstream out{path, std::ios::binary};
  std::string chunk(mib, 'f');
  for (uint64_t left = bytes; left > 0; left -= std::min<uint64_t>(left, mib))
    out.write(chunk.data(), static_cast<std::streamsize>(std::min<uint64_t>(left, mib)));
  REQUIRE(out.good());
}

struct outcome {
  kv::test::cli_result refused;  // the first put that failed
  int accepted = 0;
  uint64_t free_when_refused = 0;
};

// Fills the disk under `n` (whose data directory is on `fs`, at `small`) with 256 KiB puts
// until one fails, having left 6 MiB above `reserve_mb` with a filler file.
outcome fill(kv::test::node& n, small_filesystem& fs, const std::string& small,
             const std::string& value, uint64_t reserve_mb) {
  write_file(small + "/filler", fs.free_bytes() - (reserve_mb + 6) * mib);
  outcome result;
  for (int i = 0; i < 200; ++i) {
    auto put = kvctl(n, {"--timeout", "3000", "put", "fill-" + std::to_string(i), "--file", value});
    if (put.exit_code != 0) {
      result.refused = put;
      break;
    }
    ++result.accepted;
  }
  result.free_when_refused = fs.free_bytes();
  return result;
}

// Reads go on while the disk is full; deleting the filler lets writes in again, in the same
// process.
void check_reads_then_recovery(kv::test::node& n, const std::string& small,
                               const std::string& value) {
  auto pid = n.proc().pid();
  auto get = kvctl(n, {"get", "before"});
  CHECK(get.exit_code == 0);
  CHECK(get.out.find("kept") != std::string::npos);
  CHECK(kvctl(n, {"get", "fill-0"}).exit_code == 0);
  CHECK(kvctl(n, {"del", "before"}).exit_code == 3);  // a tombstone takes space too
  CHECK(n.wait_for_log("DiskShort", 2s));

  std::filesystem::remove(small + "/filler");
  auto resumed = wait_until(10s, [&] { return kvctl(n, {"put", "after", "v"}).exit_code == 0; });
  REQUIRE(resumed);
  WARN("writes resumed " << resumed->count() << " ms after the filler was deleted");
  CHECK(*resumed < 5s);
  CHECK(kvctl(n, {"put", "fill-again", "--file", value}).exit_code == 0);
  CHECK(kvctl(n, {"get", "after"}).out.find("v") != std::string::npos);
  CHECK(n.proc().running());
  CHECK(n.proc().pid() == pid);  // the same process all along
  CHECK(n.wait_for_log("DiskRecovered", 2s));
  CHECK(n.log().find("NodeSick") == std::string::npos);
  CHECK(n.log().find("ActorDied") == std::string::npos);
}

}  // namespace

TEST_CASE(
    "a node below its disk reserve refuses writes UNAVAILABLE, serves reads, and takes writes "
    "again once space is freed, without a restart",
    "[integration][disk]") {
  kv::test::temp_dir dir;
  auto small = dir.sub("small");
  small_filesystem fs{small, 64};
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a 64 MiB tmpfs (" << fs.error() << "); needs root");
    return;
  }
  // The node's data directory and log live on the small filesystem; the value file does not.
  kv::test::node n{small, {"--disk-reserve-mb", "16"}};
  auto value = dir.sub("value");
  write_file(value, 256 << 10);
  REQUIRE(kvctl(n, {"put", "before", "kept"}).exit_code == 0);

  auto filled = fill(n, fs, small, value, 16);
  INFO(describe(filled.refused) << "; accepted " << filled.accepted << "; free "
                                << filled.free_when_refused);
  REQUIRE(filled.refused.exit_code == 3);  // UNAVAILABLE
  CHECK(filled.refused.first_err_line().rfind("UNAVAILABLE", 0) == 0);
  CHECK(filled.refused.err.find("disk short") != std::string::npos);
  CHECK(filled.refused.err.find("reserve 16.00 MiB") != std::string::npos);
  CHECK(filled.refused.err.find("RocksDB ran out of space") == std::string::npos);
  CHECK(filled.accepted > 0);
  CHECK(filled.free_when_refused > 8 * mib);  // the reserve held: RocksDB never met ENOSPC
  check_reads_then_recovery(n, small, value);
}

TEST_CASE(
    "a node without a disk reserve survives RocksDB meeting a full disk, and takes writes again "
    "once space is freed, without a restart",
    "[integration][disk]") {
  kv::test::temp_dir dir;
  auto small = dir.sub("small");
  small_filesystem fs{small, 64};
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a 64 MiB tmpfs (" << fs.error() << "); needs root");
    return;
  }
  kv::test::node n{small, {"--disk-reserve-mb", "0"}};
  auto value = dir.sub("value");
  write_file(value, 256 << 10);
  REQUIRE(kvctl(n, {"put", "before", "kept"}).exit_code == 0);

  auto filled = fill(n, fs, small, value, 0);
  INFO(describe(filled.refused) << "; accepted " << filled.accepted << "; free "
                                << filled.free_when_refused);
  REQUIRE(filled.refused.exit_code == 3);  // UNAVAILABLE, not a lost connection
  CHECK(filled.refused.err.find("RocksDB ran out of space") != std::string::npos);
  CHECK(filled.free_when_refused < mib);
  check_reads_then_recovery(n, small, value);
}
