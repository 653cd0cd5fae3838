#include "actors/node/audit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "caf/error.hpp"
#include "messages/errc.hpp"

namespace kv::actors {
namespace {

constexpr std::string_view ellipsis = "\xe2\x80\xa6";  // U+2026, marks a value that was cut

struct opened_file {
  int fd;
  uint64_t size;
};

caf::error invalid(const std::string& path, const std::string& what) {
  return make_error(errc::invalid_argument, "audit log " + path + ": " + what);
}

caf::error refused(const std::string& path, const char* what) {
  return make_error(errc::unavailable,
                    "audit log " + path + ": " + what + ": " + std::strerror(errno));
}

// Opens `path` for appending, creating it, and leaves it regular and mode 0600. O_NONBLOCK
// makes a FIFO at `path` fail (or be refused below) instead of blocking for a reader; it has no
// effect on a regular file.
caf::expected<opened_file> open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
  if (fd < 0) return refused(path, "cannot open it");
  struct stat st;
  caf::error err;
  if (::fstat(fd, &st) != 0)
    err = refused(path, "cannot stat it");
  else if (!S_ISREG(st.st_mode))
    err = invalid(path, "not a regular file");
  else if ((st.st_mode & 07777) != 0600 && ::fchmod(fd, 0600) != 0)
    err = refused(path, "cannot set its mode to 0600");
  if (err) {
    ::close(fd);
    return err;
  }
  return opened_file{fd, static_cast<uint64_t>(st.st_size)};
}

std::string rotated(const std::string& path, uint32_t i) {
  return path + "." + std::to_string(i);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Moves path.<i> to path.<i+1> for every i below the first missing one (path.<keep> is
// overwritten when none is missing), then path to path.1. Files above a gap stay where they
// are, so a rotation that failed halfway, and is tried again, loses no file.
bool shift(const std::string& path, uint32_t keep) {
  uint32_t gap = 1;
  while (gap < keep && exists(rotated(path, gap))) ++gap;
  for (uint32_t i = gap; i > 1; --i)
    if (::rename(rotated(path, i - 1).c_str(), rotated(path, i).c_str()) != 0) return false;
  return ::rename(path.c_str(), rotated(path, 1).c_str()) == 0;
}

// The length of the well-formed UTF-8 sequence (RFC 3629) that `s` starts with, or 0.
size_t sequence_length(std::string_view s) {
  auto at = [&](size_t i) { return i < s.size() ? static_cast<uint8_t>(s[i]) : 0; };
  auto cont = [&](size_t i) { return (at(i) & 0xc0) == 0x80; };
  uint8_t b = at(0);
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    uint8_t lo = b == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
    uint8_t hi = b == 0xed ? 0x9f : 0xbf;  // no surrogates
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    uint8_t lo = b == 0xf0 ? 0x90 : 0x80;
    uint8_t hi = b == 0xf4 ? 0x8f : 0xbf;  // nothing above U+10FFFF
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void append_code_unit(std::string& out, unsigned code) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\u%04x", code);
  out += buf;
}

void append_ascii(std::string& out, char c) {
  constexpr std::string_view plain = "\"\\\n\r\t", escaped = "\"\\nrt";
  if (auto i = plain.find(c); i != std::string_view::npos) {
    out += '\\';
    out += escaped[i];
  } else if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) {
    append_code_unit(out, static_cast<uint8_t>(c));
  } else {
    out += c;
  }
}

// `s` as the inside of a JSON string. Besides what JSON requires, DEL and the C1 controls
// (U+0080..U+009F) are escaped too: people read audit logs in terminals.
void append_escaped(std::string& out, std::string_view s) {
  while (!s.empty()) {
    auto len = sequence_length(s);
    auto second = len == 2 ? static_cast<uint8_t>(s[1]) : 0;
    if (len == 0) {
      out += "\\ufffd";
      len = 1;
    } else if (len == 1) {
      append_ascii(out, s[0]);
    } else if (static_cast<uint8_t>(s[0]) == 0xc2 && second < 0xa0) {
      append_code_unit(out, second);
    } else {
      out.append(s.data(), len);
    }
    s.remove_prefix(len);
  }
}

// `s` as a JSON string of at most max_value_bytes of its bytes, then "…" if it was cut. The
// cut backs up to the first byte of the character it falls in, so no character is split.
void append_bounded(std::string& out, std::string_view s) {
  out += '"';
  if (s.size() <= audit_log::max_value_bytes) {
    append_escaped(out, s);
  } else {
    size_t end = audit_log::max_value_bytes;
    for (int back = 0; back < 3 && (static_cast<uint8_t>(s[end]) & 0xc0) == 0x80; ++back) --end;
    append_escaped(out, s.substr(0, end));
    out += ellipsis;
  }
  out += '"';
}

// The wall-clock time in UTC as 2026-12-07T20:38:06.123Z.
std::string timestamp() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

caf::expected<std::shared_ptr<audit_log>> audit_log::open(const std::string& path,
                                                          uint64_t max_bytes, uint32_t keep,
                                                          bool data_ops) {
  if (path.empty()) return invalid(path, "no path given");
  if (max_bytes == 0) return invalid(path, "the size limit must be at least 1 byte");
  if (keep == 0) return invalid(path, "at least 1 rotated file must be kept");
  auto file = open_file(path);
  if (!file) return std::move(file.error());
  return std::shared_ptr<audit_log>(
      new audit_log(path, file->fd, file->size, max_bytes, keep, data_ops));
}

audit_log::audit_log(std::string path, int fd, uint64_t size, uint64_t max_bytes, uint32_t keep,
                     bool data_ops)
    : path_(std::move(path)),
      max_bytes_(max_bytes),
      keep_(keep),
      data_ops_(data_ops),
      fd_(fd),
      size_(size),
      rotate_at_(max_bytes) {}

audit_log::~audit_log() {
  ::close(fd_);
}

void audit_log::record(
    std::string_view event,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string body = ",\"event\":";
  append_bounded(body, event);
  for (auto& [key, value] : fields) {
    body += ',';
    append_bounded(body, key);
    body += ':';
    append_bounded(body, value);
  }
  body += "}\n";
  std::lock_guard<std::mutex> guard{mutex_};
  // The clock is read under the lock, so that the lines of a file are in time order.
  std::string line = "{\"ts\":\"" + timestamp() + '"' + body;
  if (size_ > 0 && size_ + line.size() > rotate_at_) rotate();
  if (mid_line_) line.insert(line.begin(), '\n');  // the fragment stays a line of its own
  append(line);
}

void audit_log::rotate() {
  if (shift(path_, keep_)) {
    if (auto fresh = open_file(path_)) {
      ::close(fd_);
      fd_ = fresh->fd;
      size_ = fresh->size;
      rotate_at_ = max_bytes_;
      mid_line_ = false;
      return;
    }
    // fd_ now writes to path.1: give it its name back, so the next attempt starts from path
    // and shifts nothing twice.
    static_cast<void>(::rename(rotated(path_, 1).c_str(), path_.c_str()));  // ignored: retried
  }
  ++failed_rotations_;
  // Retrying on every record while the directory refuses would cost a dozen system calls per
  // record; the next attempt comes once the file has grown by another eighth of the limit.
  rotate_at_ = size_ + std::max<uint64_t>(1, max_bytes_ / 8);
}

// One write(2) in all but failures: a short write (disk full, file size limit) is continued,
// so the line may still end whole. mid_line_ tells whether the file ends inside a line.
void audit_log::append(const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    auto n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++failed_writes_;
      return;
    }
    mid_line_ = rest[n - 1] != '\n';
    size_ += static_cast<uint64_t>(n);
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace kv::actors
