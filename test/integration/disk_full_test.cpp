// A full disk is survivable (issue 13): before, a node whose disk filled up failed its write,
// stopped, and restarted into the same full disk. Here a node runs on a small tmpfs with a
// free-space reserve; a filler file leaves little room, writes fill the rest until they are
// refused UNAVAILABLE (kvctl exit 3), reads go on, and once the filler is deleted writes
// succeed again within seconds, from the same process.
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

}  // namespace

TEST_CASE(
    "a node on a full disk refuses writes UNAVAILABLE, serves reads, and takes writes "
    "again once space is freed, without a restart",
    "[integration][disk]") {
  kv::test::temp_dir dir;
  small_filesystem fs{dir.sub("small"), 64};
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a 64 MiB tmpfs (" << fs.error() << "); needs root");
    return;
  }
  // The node's data directory and log live on the small filesystem; the value file does not.
  kv::test::node n{dir.sub("small"), {"--disk-reserve-mb", "16"}};
  auto pid = n.proc().pid();
  auto value = dir.sub("value");
  write_file(value, 256 << 10);
  REQUIRE(kvctl(n, {"put", "before", "kept"}).exit_code == 0);

  // Leave 6 MiB above the 16 MiB reserve: about two dozen 256 KiB puts.
  auto filler = dir.sub("small") + "/filler";
  write_file(filler, fs.free_bytes() - 22 * mib);

  kv::test::cli_result refused;
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    auto put = kvctl(n, {"--timeout", "3000", "put", "fill-" + std::to_string(i), "--file", value});
    if (put.exit_code != 0) {
      refused = put;
      break;
    }
    ++accepted;
  }
  INFO(describe(refused) << "; accepted " << accepted << "; free " << fs.free_bytes());
  REQUIRE(refused.exit_code == 3);  // UNAVAILABLE
  CHECK(refused.first_err_line().rfind("UNAVAILABLE", 0) == 0);
  CHECK(refused.err.find("disk short") != std::string::npos);
  CHECK(refused.err.find("reserve 16.00 MiB") != std::string::npos);
  CHECK(accepted > 0);
  CHECK(fs.free_bytes() > 8 * mib);  // the reserve held: RocksDB never met a full disk

  auto get = kvctl(n, {"get", "before"});
  CHECK(get.exit_code == 0);
  CHECK(get.out.find("kept") != std::string::npos);
  CHECK(kvctl(n, {"get", "fill-0"}).exit_code == 0);
  CHECK(kvctl(n, {"del", "before"}).exit_code == 3);  // a tombstone takes space too
  CHECK(n.wait_for_log("DiskShort", 2s));

  std::filesystem::remove(filler);
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
