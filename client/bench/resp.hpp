// client/bench/resp.hpp
// The Redis wire protocol (RESP2) as far as kvbench needs it: commands encoded as arrays of
// bulk strings, an incremental reply parser (a reply split over several reads parses once the
// rest has arrived), the MOVED/ASK redirects of Redis Cluster, its CLUSTER SLOTS reply, and
// the key -> slot function (CRC16-XMODEM of the key or of its {hash tag}, mod 16384).
// Pure functions: no sockets here (redis_driver.hpp does the I/O).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::bench::resp {

enum class type { simple, error, integer, bulk, null, array };

struct value {
  type kind = type::null;
  std::string text;          // simple string, error or bulk string
  int64_t integer = 0;       // integer
  std::vector<value> items;  // array
};

// Appends `args` as one command: *<n>\r\n then $<len>\r\n<arg>\r\n for each.
void encode(std::string& out, std::initializer_list<std::string_view> args);
void encode(std::string& out, const std::vector<std::string_view>& args);

enum class status { complete, incomplete, malformed };

struct parsed {
  status state;
  size_t consumed;  // bytes of the reply, when complete
};

// Parses the first reply in `in` into `out`. Incomplete input consumes nothing: call again
// with more bytes appended. Malformed input cannot be resynchronised: drop the connection.
parsed parse(std::string_view in, value& out);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" (the text of an error reply).
struct redirect {
  bool ask = false;
  uint16_t slot = 0;
  std::string host;
  uint16_t port = 0;
};
std::optional<redirect> parse_redirect(std::string_view error_text);

constexpr uint16_t slot_count = 16384;

// CRC16-XMODEM (polynomial 0x1021, initial value 0), as in the Redis Cluster specification.
uint16_t crc16(std::string_view data);

// The key's slot: of the part between the first '{' and the next '}' when that part is not
// empty, else of the whole key.
uint16_t key_slot(std::string_view key);

// One entry of CLUSTER SLOTS: slots first..last served by the master at host:port.
struct slot_range {
  uint16_t first = 0, last = 0;
  std::string host;
  uint16_t port = 0;
};

// The master of each range of a CLUSTER SLOTS reply; nullopt if the reply is not one.
std::optional<std::vector<slot_range>> parse_cluster_slots(const value& reply);

}  // namespace kv::bench::resp
