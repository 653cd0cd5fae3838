// actors/node/audit.hpp
// The node's audit log: one JSON object per line, in a file only its owner may read (mode
// 0600), rotated by size. The listeners record TLS refusals, failed authentications and
// denials; the node records admin verbs and membership changes, each with its principal. Data
// operations are recorded only when data_ops() says so; the caller checks. Owns its file and
// the rotated copies path.1 .. path.<keep>. Pure: no actors; safe to share between threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "caf/expected.hpp"

namespace kv::actors {

class audit_log {
 public:
  // Values (and keys) longer than this are cut, at a character boundary, and end in "…":
  // a hostile client must not be able to write huge lines.
  static constexpr size_t max_value_bytes = 1024;

  // Appends to `path`, creating it, and sets its mode to 0600 whatever the umask or the mode
  // it had. A line that would take the file past `max_bytes` first rotates it: path.<keep-1>
  // becomes path.<keep> (the oldest is lost), ..., path becomes path.1, and a new path is
  // created. Fails INVALID_ARGUMENT when max_bytes or keep is 0 or path is not a regular file,
  // UNAVAILABLE when the system refuses to open it; the message names the path.
  [[nodiscard]] static caf::expected<std::shared_ptr<audit_log>> open(
      const std::string& path, uint64_t max_bytes = uint64_t{64} << 20, uint32_t keep = 5,
      bool data_ops = false);

  ~audit_log();
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  // Appends `{"ts":"2026-12-07T20:38:06.123Z","event":"<event>","<key>":"<value>",...}` in
  // one write(2) under a mutex, so lines never interleave (only a short write, from a full
  // disk or a file size limit, is continued with a second). Any bytes are accepted:
  // they are escaped, and those that are not UTF-8 become U+FFFD, so every line is valid JSON.
  // Keys must not be "ts" or "event". Never throws: a failed write is counted, a failed
  // rotation is counted and the current file keeps growing.
  void record(std::string_view event,
              std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

  // Whether get, put and delete are to be recorded too.
  bool data_ops() const { return data_ops_; }

  // Records lost, whole or in part, since open.
  uint64_t failed_writes() const { return failed_writes_.load(std::memory_order_relaxed); }

  // Rotations that could not be completed since open.
  uint64_t failed_rotations() const { return failed_rotations_.load(std::memory_order_relaxed); }

 private:
  audit_log(std::string path, int fd, uint64_t size, uint64_t max_bytes, uint32_t keep,
            bool data_ops);

  void rotate();
  void append(const std::string& line);

  const std::string path_;
  const uint64_t max_bytes_;
  const uint32_t keep_;
  const bool data_ops_;
  std::atomic<uint64_t> failed_writes_{0};
  std::atomic<uint64_t> failed_rotations_{0};

  std::mutex mutex_;  // guards everything below
  int fd_;
  uint64_t size_;          // bytes in the current file
  uint64_t rotate_at_;     // size that triggers the next rotation attempt
  bool mid_line_ = false;  // a failed write may have left part of a line
};

}  // namespace kv::actors
