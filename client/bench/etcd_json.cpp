#include "client/bench/etcd_json.hpp"

#include <cstdint>

namespace kv::bench::etcd {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// A cursor over JSON text that can skip whole values; enough to find top-level fields
// without building a tree.
struct scanner {
  std::string_view s;
  size_t i = 0;

  void space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool eat(char c) {
    space();
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  }
  bool string() {
    if (!eat('"')) return false;
    for (; i < s.size(); ++i) {
      if (s[i] == '\\')
        ++i;
      else if (s[i] == '"')
        return ++i, true;
    }
    return false;
  }
  // Objects and arrays: nesting is balanced outside strings.
  bool compound(char open, char close) {
    if (!eat(open)) return false;
    if (eat(close)) return true;
    do {
      if (open == '{' && !(string() && eat(':'))) return false;
      if (!value()) return false;
    } while (eat(','));
    return eat(close);
  }
  bool scalar() {
    auto start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
           s[i] != '\n' && s[i] != '\r' && s[i] != '\t' && s[i] != '"' && s[i] != '{' &&
           s[i] != '[')
      ++i;
    return i > start;
  }
  bool value() {
    space();
    if (i >= s.size()) return false;
    if (s[i] == '"') return string();
    if (s[i] == '{') return compound('{', '}');
    if (s[i] == '[') return compound('[', ']');
    return scalar();
  }
};

void append_hex4(std::string& out, std::string_view hex) {
  auto code = std::stoul(std::string{hex}, nullptr, 16);
  out += code < 0x80 ? static_cast<char>(code) : '?';  // non-ASCII: only ever shown in notes
}

}  // namespace

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[n >> 18];
    out += alphabet[(n >> 12) & 0x3F];
    out += alphabet[(n >> 6) & 0x3F];
    out += alphabet[n & 0x3F];
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[n >> 18];
    out += alphabet[(n >> 12) & 0x3F];
    out += rest == 2 ? alphabet[(n >> 6) & 0x3F] : '=';
    out += '=';
  }
  return out;
}

std::string put_body(std::string_view key, std::string_view value) {
  return "{\"key\":\"" + base64(key) + "\",\"value\":\"" + base64(value) + "\"}";
}

std::string range_body(std::string_view key) {
  return "{\"key\":\"" + base64(key) + "\"}";
}

std::optional<std::string_view> field(std::string_view json, std::string_view name) {
  scanner sc{json};
  std::optional<std::string_view> found;
  if (!sc.eat('{')) return std::nullopt;
  if (!sc.eat('}')) {
    do {
      sc.space();
      auto key_start = sc.i;
      if (!sc.string()) return std::nullopt;
      auto key = json.substr(key_start + 1, sc.i - key_start - 2);
      if (!sc.eat(':')) return std::nullopt;
      sc.space();
      auto value_start = sc.i;
      if (!sc.value()) return std::nullopt;
      if (!found && key == name) found = json.substr(value_start, sc.i - value_start);
    } while (sc.eat(','));
    if (!sc.eat('}')) return std::nullopt;
  }
  sc.space();
  return sc.i == json.size() ? found : std::nullopt;
}

std::optional<std::string> string_value(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    if (++i + 1 >= raw.size()) return std::nullopt;
    static constexpr std::string_view from = "nrtbf\"\\/", to = "\n\r\t\b\f\"\\/";
    if (auto at = from.find(raw[i]); at != from.npos) {
      out += to[at];
    } else if (raw[i] == 'u' && i + 5 < raw.size() &&
               raw.substr(i + 1, 4).find_first_not_of("0123456789abcdefABCDEF") ==
                   std::string_view::npos) {
      append_hex4(out, raw.substr(i + 1, 4));
      i += 4;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

verdict judge(int http_status, std::string_view body, bool is_read) {
  auto error = field(body, "error");
  auto message = [&] {
    auto text = error ? string_value(*error) : std::nullopt;
    if (!text) text = std::string{body.substr(0, 120)};
    return *text;
  };
  if (http_status != 200) return {"HTTP_" + std::to_string(http_status), message()};
  if (error) return {"ETCD_ERROR", message()};
  if (!field(body, "header")) return {"PROTOCOL", "no reply object: " + message()};
  if (!is_read) return {};
  auto kvs = field(body, "kvs");
  if (kvs && kvs->front() == '[' && (*kvs)[kvs->find_first_not_of(" \t\r\n", 1)] != ']') return {};
  return {"NOT_FOUND", {}};
}

}  // namespace kv::bench::etcd
