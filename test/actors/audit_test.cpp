#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actors/node/audit.hpp"
#include "caf/error.hpp"
#include "messages/errc.hpp"
#include "test/support/temp_dir.hpp"

using kv::actors::audit_log;
using namespace std::string_literals;

namespace {

using fields = std::vector<std::pair<std::string, std::string>>;

// A strict reader for what the audit log writes: one JSON object, without whitespace, whose
// values are all strings. Decodes escapes; nullopt for anything that is not valid JSON of that
// shape (raw control characters, malformed UTF-8, bad escapes, trailing bytes).
class line_reader {
 public:
  explicit line_reader(std::string_view s) : s_(s) {}

  std::optional<fields> object() {
    fields out;
    if (!eat('{')) return std::nullopt;
    do {
      auto key = string();
      if (!key || !eat(':')) return std::nullopt;
      auto value = string();
      if (!value) return std::nullopt;
      out.emplace_back(std::move(*key), std::move(*value));
    } while (eat(','));
    if (!eat('}') || i_ != s_.size()) return std::nullopt;
    return out;
  }

 private:
  bool eat(char c) {
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }

  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (i_ < s_.size()) {
      auto c = static_cast<uint8_t>(s_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) return std::nullopt;
      bool ok = c == '\\' ? escape(out) : c < 0x80 ? (out += s_[i_++], true) : raw_utf8(out);
      if (!ok) return std::nullopt;
    }
    return std::nullopt;
  }

  bool escape(std::string& out) {
    if (++i_ >= s_.size()) return false;
    char c = s_[i_++];
    if (c != 'u') {
      constexpr std::string_view names = "\"\\/bfnrt", chars = "\"\\/\b\f\n\r\t";
      auto k = names.find(c);
      if (k == std::string_view::npos) return false;
      out += chars[k];
      return true;
    }
    auto unit = hex4();
    if (!unit || (*unit >= 0xd800 && *unit <= 0xdfff)) return false;  // never written
    encode(out, *unit);
    return true;
  }

  std::optional<uint32_t> hex4() {
    if (i_ + 4 > s_.size()) return std::nullopt;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  }

  // Decodes one multi-byte character and re-encodes it: it must come out byte for byte.
  bool raw_utf8(std::string& out) {
    auto lead = static_cast<uint8_t>(s_[i_]);
    size_t len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (len == 0 || i_ + len > s_.size()) return false;
    uint32_t cp = lead & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      auto b = static_cast<uint8_t>(s_[i_ + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3f);
    }
    std::string again;
    encode(again, cp);
    if (again != s_.substr(i_, len) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return false;  // overlong, a surrogate or out of range
    out += again;
    i_ += len;
    return true;
  }

  static void encode(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::optional<fields> parse(const std::string& line) {
  return line_reader{line}.object();
}

// The lines of a file that must end with a newline.
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  auto all = text.str();
  REQUIRE(!all.empty());
  REQUIRE(all.back() == '\n');
  std::vector<std::string> out;
  std::string line;
  std::istringstream lines{all};
  while (std::getline(lines, line)) out.push_back(line);
  return out;
}

fields parsed_line(const std::string& line) {
  auto f = parse(line);
  if (!f) FAIL("not a JSON line: " << line);
  return *f;
}

std::shared_ptr<audit_log> opened(const std::string& path, uint64_t max_bytes = 1 << 20,
                                  uint32_t keep = 5, bool data_ops = false) {
  auto log = audit_log::open(path, max_bytes, keep, data_ops);
  if (!log) FAIL(kv::describe(log.error()));
  return *log;
}

unsigned mode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct umask_zero {
  umask_zero() : saved(::umask(0)) {}
  ~umask_zero() { ::umask(saved); }
  mode_t saved;
};

std::string value_of(const fields& f, const std::string& key) {
  for (auto& [k, v] : f)
    if (k == key) return v;
  FAIL("no field " << key);
  return {};
}

}  // namespace

TEST_CASE("a record is one JSON line: the time, the event, then the fields in order", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  opened(path)->record("AdminVerb", {{"principal", "alice"}, {"verb", "drain"}});
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 1);
  auto f = parsed_line(lines[0]);
  REQUIRE(f.size() == 4);
  CHECK(f[0].first == "ts");
  CHECK(std::regex_match(f[0].second, std::regex{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"}));
  CHECK(f[1] == std::pair{"event"s, "AdminVerb"s});
  CHECK(f[2] == std::pair{"principal"s, "alice"s});
  CHECK(f[3] == std::pair{"verb"s, "drain"s});

  SECTION("opening the file again appends to it") {
    auto first = lines[0];
    opened(path)->record("MemberJoined", {{"principal", "bob"}, {"member", "n4"}});
    lines = lines_of(path);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == first);
    CHECK(value_of(parsed_line(lines[1]), "member") == "n4");
  }
}

TEST_CASE("any bytes in the event, keys and values come out as valid JSON", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  const std::string replacement = "\xef\xbf\xbd";  // U+FFFD
  auto value = "q\"b\\n\nc\x01\0"s + "\xff" + "x\xc3" + "\xc0\x80" + "\xed\xa0\x80" +
               "caf\xc3\xa9" + "\x7f" + "\xc2\x9b" + "\xf0\x9f\x98\x80";
  auto expected = "q\"b\\n\nc\x01\0"s + replacement + "x" + replacement + replacement +
                  replacement + replacement + replacement + replacement + "caf\xc3\xa9" + "\x7f" +
                  "\xc2\x9b" + "\xf0\x9f\x98\x80";
  opened(path)->record("Denied\n", {{"we\"ird\\key", value}, {"peer", "\xfe"}});

  auto lines = lines_of(path);
  REQUIRE(lines.size() == 1);  // the newlines inside were escaped
  for (unsigned char c : lines[0]) {
    CHECK(c >= 0x20);
    CHECK(c != 0x7f);
  }
  CHECK(lines[0].find("\\u0001") != std::string::npos);
  CHECK(lines[0].find("\\u0000") != std::string::npos);
  CHECK(lines[0].find("\\u009b") != std::string::npos);  // a C1 control, escaped for terminals
  auto f = parsed_line(lines[0]);
  REQUIRE(f.size() == 4);
  CHECK(f[1].second == "Denied\n");
  CHECK(f[2].first == "we\"ird\\key");
  CHECK(f[2].second == expected);
  CHECK(f[3].second == replacement);
}

TEST_CASE("the audit file has mode 0600 even when the umask is 0", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  umask_zero no_umask;

  SECTION("a new file") {
    opened(path)->record("Started", {});
    CHECK(mode_of(path) == 0600);
  }
  SECTION("an existing file that others could read is narrowed") {
    std::ofstream{path} << "{\"ts\":\"x\",\"event\":\"Old\"}\n";
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    opened(path)->record("Started", {});
    CHECK(mode_of(path) == 0600);
    CHECK(lines_of(path).size() == 2);
  }
  SECTION("the file a rotation creates") {
    auto log = opened(path, 100, 2);
    for (int i = 0; i < 10; ++i) log->record("Tick", {{"i", std::to_string(i)}});
    CHECK(mode_of(path + ".1") == 0600);
    CHECK(mode_of(path) == 0600);
  }
}

TEST_CASE("rotation keeps at most keep old files and the newest lines in the path", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  const uint64_t max_bytes = 400;
  auto log = opened(path, max_bytes, 3);
  for (int i = 0; i < 100; ++i) log->record("Put", {{"seq", std::to_string(i)}});

  for (auto& name : {path + ".3", path + ".2", path + ".1", path})
    CHECK(std::filesystem::file_size(name) <= max_bytes);
  CHECK_FALSE(std::filesystem::exists(path + ".4"));

  // Oldest to newest, the files hold consecutive records ending with the last one.
  std::vector<int> seqs;
  for (auto& name : {path + ".3", path + ".2", path + ".1", path})
    for (auto& line : lines_of(name)) seqs.push_back(std::stoi(value_of(parsed_line(line), "seq")));
  REQUIRE(seqs.size() > 4);
  CHECK(seqs.back() == 99);
  for (size_t k = 1; k < seqs.size(); ++k) CHECK(seqs[k] == seqs[k - 1] + 1);
  CHECK(log->failed_rotations() == 0);
  CHECK(log->failed_writes() == 0);

  SECTION("a record larger than the limit goes alone into a fresh file") {
    log->record("Put", {{"seq", "100"}, {"pad", std::string(600, 'p')}});
    auto lines = lines_of(path);
    REQUIRE(lines.size() == 1);
    CHECK(value_of(parsed_line(lines[0]), "seq") == "100");
  }
}

TEST_CASE("a rotation that cannot rename keeps writing to the current file", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  std::filesystem::create_directories(path + ".1/blocker");  // rename(path, path.1) fails
  auto log = opened(path, 200, 1);
  for (int i = 0; i < 20; ++i) log->record("Put", {{"seq", std::to_string(i)}});
  CHECK(lines_of(path).size() == 20);
  CHECK(log->failed_rotations() > 0);
  CHECK(log->failed_writes() == 0);

  SECTION("and rotates once it can") {
    std::filesystem::remove_all(path + ".1");
    for (int i = 20; i < 40; ++i) log->record("Put", {{"seq", std::to_string(i)}});
    CHECK(std::filesystem::is_regular_file(path + ".1"));
    CHECK(std::filesystem::file_size(path) <= 200);
    CHECK(value_of(parsed_line(lines_of(path).back()), "seq") == "39");
  }
}

TEST_CASE("values longer than 1024 bytes are cut and marked", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  auto log = opened(path);
  const std::string ellipsis = "\xe2\x80\xa6";
  auto recorded = [&](const std::string& value) {
    log->record("Get", {{"key", value}});
    return value_of(parsed_line(lines_of(path).back()), "key");
  };

  SECTION("a long value") {
    CHECK(recorded(std::string(5000, 'v')) == std::string(1024, 'v') + ellipsis);
    CHECK(lines_of(path).back().size() < 1200);
  }
  SECTION("a value of exactly 1024 bytes is kept whole") {
    CHECK(recorded(std::string(1024, 'v')) == std::string(1024, 'v'));
  }
  SECTION("the cut does not split a character") {
    CHECK(recorded(std::string(1023, 'v') + "\xc3\xa9tail") == std::string(1023, 'v') + ellipsis);
  }
  SECTION("the bound applies before escaping") {
    CHECK(recorded(std::string(3000, '\x01')) == std::string(1024, '\x01') + ellipsis);
  }
}

TEST_CASE("records from 4 threads at once come out as whole lines", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  auto log = opened(path, uint64_t{1} << 30);
  constexpr int threads = 4;
  constexpr int per_thread = 1000;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        log->record("Put", {{"thread", std::to_string(t)},
                            {"seq", std::to_string(i)},
                            {"pad", std::string(static_cast<size_t>(i % 700), char('a' + t))}});
    });
  for (auto& w : writers) w.join();

  auto lines = lines_of(path);
  CHECK(lines.size() == threads * per_thread);
  std::set<std::pair<int, int>> seen;
  for (auto& line : lines) {
    auto f = parse(line);
    REQUIRE(f);
    int t = std::stoi(value_of(*f, "thread"));
    int i = std::stoi(value_of(*f, "seq"));
    CHECK(value_of(*f, "pad") == std::string(static_cast<size_t>(i % 700), char('a' + t)));
    seen.emplace(t, i);
  }
  CHECK(seen.size() == threads * per_thread);
  CHECK(log->failed_writes() == 0);
}

TEST_CASE("a failed write is counted and the next record starts a line of its own", "[audit]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("audit.log");
  auto log = opened(path);
  log->record("Started", {});
  auto size = std::filesystem::file_size(path);

  // The file size limit lets 10 bytes of the next line through, then write(2) fails (EFBIG).
  rlimit saved;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = size + 10;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  log->record("Denied", {{"principal", "mallory"}});
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  ::signal(SIGXFSZ, old_handler);
  CHECK(log->failed_writes() == 1);

  log->record("Denied", {{"principal", "eve"}});
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 3);
  CHECK(parse(lines[0]));
  CHECK(lines[1].size() == 10);  // the fragment, on a line of its own
  CHECK(value_of(parsed_line(lines[2]), "principal") == "eve");
  CHECK(log->failed_writes() == 1);
}

TEST_CASE("an audit log that cannot be opened is an error naming the path", "[audit]") {
  kv::test::temp_dir dir;

  SECTION("a path in a missing directory") {
    auto path = dir.sub("missing/audit.log");
    auto log = audit_log::open(path);
    REQUIRE_FALSE(log);
    CHECK(kv::code_of(log.error()) == kv::errc::unavailable);
    CHECK_THAT(kv::message_of(log.error()), Catch::Contains(path));
  }
  SECTION("a FIFO, refused without waiting for a reader") {
    auto path = dir.sub("fifo");
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    auto log = audit_log::open(path);
    REQUIRE_FALSE(log);
    CHECK_THAT(kv::message_of(log.error()), Catch::Contains(path));
  }
  SECTION("a size limit or a number of files of 0") {
    auto path = dir.sub("audit.log");
    for (auto log : {audit_log::open(path, 0, 5), audit_log::open(path, 1000, 0)}) {
      REQUIRE_FALSE(log);
      CHECK(kv::code_of(log.error()) == kv::errc::invalid_argument);
      CHECK_THAT(kv::message_of(log.error()), Catch::Contains(path));
    }
  }
}

TEST_CASE("data operations are recorded only when asked", "[audit]") {
  kv::test::temp_dir dir;
  CHECK_FALSE(opened(dir.sub("a.log"))->data_ops());
  CHECK(opened(dir.sub("b.log"), 1 << 20, 5, true)->data_ops());
}
