// test/support/fault_env.hpp
// A RocksDB environment over the real file system that injects the faults crash tests need:
// a process crash, the power loss that follows it, a failing disk write, and a full disk. It models
// file contents only: a file's directory entry counts as durable once created (renames and deletes
// included), and only buffered I/O is supported (RocksDB's default).
//
// A power-loss test: open the engine with env(), write, crash(), destroy the engine (its
// shutdown sync then fails harmlessly), drop_unsynced_data(), reopen with env() or without.
#pragma once

#include <cstdint>
#include <memory>

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace kv::test {

class fault_env {
 public:
  fault_env();
  ~fault_env();
  fault_env(const fault_env&) = delete;
  fault_env& operator=(const fault_env&) = delete;

  // For engine_options::env. Every engine using it must be closed before this object dies.
  rocksdb::Env* env() const;

  // The process dies: from now on no write, sync, create, rename or delete through env()
  // reaches the disk; each fails with an IO error.
  void crash();

  // The power fails: every file written through env() loses what was appended after its last
  // successful Sync or Fsync (RangeSync promises nothing and does not count). Ends a crash,
  // so the directory can be reopened. Precondition: no engine using env() is open.
  void drop_unsynced_data();

  // The n-th file append or sync from now (n >= 1; 1 is the next one) fails with an IO error
  // without touching the file; the operations around it succeed. n == 0 disarms.
  void fail_after_writes(uint64_t n);

  // How many operations failed because of fail_after_writes.
  uint64_t injected_failures() const;

  // The disk fills up: from now on every file append and sync fails with RocksDB's NoSpace
  // error (what ENOSPC becomes) without touching the file, until free_space().
  void fill_disk();
  void free_space();

  // How many appends and syncs failed because the disk was full.
  uint64_t no_space_failures() const;

 private:
  class file_system;
  std::shared_ptr<file_system> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace kv::test
