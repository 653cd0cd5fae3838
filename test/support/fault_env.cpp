#include "test/support/fault_env.hpp"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace kv::test {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

// One file as the disk sees it: `size` bytes reached the OS, the first `synced` are durable.
struct file_state {
  uint64_t size = 0;
  uint64_t synced = 0;
};

// The durable state of every file written through the environment, and the faults to inject.
// Shared by the file system and its open files, which RocksDB uses from several threads.
class disk {
 public:
  // Whether a create, rename or delete may happen.
  IOStatus admit_change() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return crashed_ ? crashed_error() : IOStatus::OK();
  }

  // Whether an append or sync may happen; counts it towards an armed failure.
  IOStatus admit_write() {
    std::lock_guard<std::mutex> guard{mutex_};
    if (crashed_) return crashed_error();
    if (writes_until_failure_ > 0 && --writes_until_failure_ == 0) {
      ++failures_;
      return IOStatus::IOError("injected fault: this write fails");
    }
    if (full_) {
      ++no_space_failures_;
      return IOStatus::NoSpace("injected fault: No space left on device");
    }
    return IOStatus::OK();
  }

  std::shared_ptr<file_state> track(const std::string& path, uint64_t durable_size) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto& state = files_[path];
    if (!state) state = std::make_shared<file_state>(file_state{durable_size, durable_size});
    return state;
  }

  std::shared_ptr<file_state> track_new(const std::string& path) {
    std::lock_guard<std::mutex> guard{mutex_};
    return files_[path] = std::make_shared<file_state>();
  }

  void appended(file_state& file, uint64_t bytes) {
    std::lock_guard<std::mutex> guard{mutex_};
    file.size += bytes;
  }

  uint64_t size_of(const file_state& file) const {
    std::lock_guard<std::mutex> guard{mutex_};
    return file.size;
  }

  // A sync succeeded that began when the file had `size` bytes.
  void synced(file_state& file, uint64_t size) {
    std::lock_guard<std::mutex> guard{mutex_};
    file.synced = std::max(file.synced, size);
  }

  void renamed(const std::string& from, const std::string& to) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto node = files_.extract(from);
    files_.erase(to);
    if (node) {
      node.key() = to;
      files_.insert(std::move(node));
    }
  }

  void deleted(const std::string& path) {
    std::lock_guard<std::mutex> guard{mutex_};
    files_.erase(path);
  }

  void crash() {
    std::lock_guard<std::mutex> guard{mutex_};
    crashed_ = true;
  }

  void drop_unsynced_data() {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& [path, file] : files_) {
      if (file->size > file->synced) std::filesystem::resize_file(path, file->synced);
      file->size = file->synced;
    }
    crashed_ = false;
  }

  void fail_after_writes(uint64_t n) {
    std::lock_guard<std::mutex> guard{mutex_};
    writes_until_failure_ = n;
  }

  uint64_t failures() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return failures_;
  }

  void set_full(bool full) {
    std::lock_guard<std::mutex> guard{mutex_};
    full_ = full;
  }

  uint64_t no_space_failures() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return no_space_failures_;
  }

 private:
  static IOStatus crashed_error() {
    return IOStatus::IOError("simulated crash: the process is dead");
  }

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<file_state>> files_;  // by current path
  bool crashed_ = false;
  uint64_t writes_until_failure_ = 0;  // 0: disarmed
  uint64_t failures_ = 0;
  bool full_ = false;
  uint64_t no_space_failures_ = 0;
};

// A writable file whose appends and syncs pass through `disk`. A sync makes durable what was
// appended before it began, so it may run concurrently with appends.
class tracked_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  tracked_file(std::unique_ptr<rocksdb::FSWritableFile> file, disk& d,
               std::shared_ptr<file_state> state)
      : FSWritableFileOwnerWrapper(std::move(file)), disk_(d), state_(std::move(state)) {}

  IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                  IODebugContext* dbg) override {
    return append(data.size(), [&] { return target()->Append(data, options, dbg); });
  }
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    return append(data.size(), [&] { return target()->Append(data, options, info, dbg); });
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    return sync([&] { return target()->Sync(options, dbg); });
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return sync([&] { return target()->Fsync(options, dbg); });
  }

 private:
  template <class Write>
  IOStatus append(uint64_t bytes, Write write) {
    auto status = disk_.admit_write();
    if (status.ok()) status = write();
    if (status.ok()) disk_.appended(*state_, bytes);
    return status;
  }

  template <class Sync>
  IOStatus sync(Sync do_sync) {
    auto size = disk_.size_of(*state_);
    auto status = disk_.admit_write();
    if (status.ok()) status = do_sync();
    if (status.ok()) disk_.synced(*state_, size);
    return status;
  }

  disk& disk_;
  std::shared_ptr<file_state> state_;
};

}  // namespace

class fault_env::file_system final : public rocksdb::FileSystemWrapper {
 public:
  file_system() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  const char* Name() const override { return "kv_fault_env"; }

  IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                           IODebugContext* dbg) override {
    auto status = disk_.admit_change();
    if (status.ok()) status = target()->NewWritableFile(path, options, result, dbg);
    if (status.ok())
      *result = std::make_unique<tracked_file>(std::move(*result), disk_, disk_.track_new(path));
    return status;
  }

  // The bytes a reopened file already has are taken as durable: they were written before.
  IOStatus ReopenWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                              IODebugContext* dbg) override {
    uint64_t size = 0;
    auto status = disk_.admit_change();
    if (status.ok()) status = target()->GetFileSize(path, IOOptions{}, &size, dbg);
    if (status.ok()) status = target()->ReopenWritableFile(path, options, result, dbg);
    if (status.ok())
      *result = std::make_unique<tracked_file>(std::move(*result), disk_, disk_.track(path, size));
    return status;
  }

  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions& options,
                      IODebugContext* dbg) override {
    auto status = disk_.admit_change();
    if (status.ok()) status = target()->RenameFile(from, to, options, dbg);
    if (status.ok()) disk_.renamed(from, to);
    return status;
  }

  IOStatus DeleteFile(const std::string& path, const IOOptions& options,
                      IODebugContext* dbg) override {
    auto status = disk_.admit_change();
    if (status.ok()) status = target()->DeleteFile(path, options, dbg);
    if (status.ok()) disk_.deleted(path);
    return status;
  }

  disk& faults() { return disk_; }

 private:
  disk disk_;
};

fault_env::fault_env()
    : fs_(std::make_shared<file_system>()), env_(rocksdb::NewCompositeEnv(fs_)) {}

fault_env::~fault_env() = default;

rocksdb::Env* fault_env::env() const {
  return env_.get();
}

void fault_env::crash() {
  fs_->faults().crash();
}

void fault_env::drop_unsynced_data() {
  fs_->faults().drop_unsynced_data();
}

void fault_env::fail_after_writes(uint64_t n) {
  fs_->faults().fail_after_writes(n);
}

uint64_t fault_env::injected_failures() const {
  return fs_->faults().failures();
}

void fault_env::fill_disk() {
  fs_->faults().set_full(true);
}

void fault_env::free_space() {
  fs_->faults().set_full(false);
}

uint64_t fault_env::no_space_failures() const {
  return fs_->faults().no_space_failures();
}

}  // namespace kv::test
