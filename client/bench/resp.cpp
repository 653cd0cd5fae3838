#include "client/bench/resp.hpp"

#include <charconv>
#include <cstring>

namespace kv::bench::resp {

namespace {

template <class Args>
void encode_all(std::string& out, const Args& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out.append(arg.data(), arg.size());
    out += "\r\n";
  }
}

// The line starting at `at` (without its CRLF), or nullopt while the CRLF has not arrived.
std::optional<std::string_view> line_at(std::string_view in, size_t at) {
  for (size_t i = at; i < in.size();) {
    auto* cr = static_cast<const char*>(std::memchr(in.data() + i, '\r', in.size() - i));
    if (!cr) return std::nullopt;
    auto pos = static_cast<size_t>(cr - in.data());
    if (pos + 1 >= in.size()) return std::nullopt;
    if (in[pos + 1] == '\n') return in.substr(at, pos - at);
    i = pos + 1;
  }
  return std::nullopt;
}

std::optional<int64_t> to_integer(std::string_view text) {
  int64_t result = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (err != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return result;
}

constexpr int64_t max_bulk = int64_t{512} << 20;  // Redis's own proto-max-bulk-len
constexpr int64_t max_items = int64_t{1} << 24;

parsed parse_at(std::string_view in, size_t at, value& out, int depth) {
  if (at >= in.size()) return {status::incomplete, 0};
  if (depth > 16) return {status::malformed, 0};
  auto line = line_at(in, at + 1);
  if (!line) return {status::incomplete, 0};
  auto after_line = at + 1 + line->size() + 2;
  switch (in[at]) {
    case '+':
    case '-':
      out.kind = in[at] == '+' ? type::simple : type::error;
      out.text.assign(line->data(), line->size());
      return {status::complete, after_line - at};
    case ':': {
      auto n = to_integer(*line);
      if (!n) return {status::malformed, 0};
      out.kind = type::integer;
      out.integer = *n;
      return {status::complete, after_line - at};
    }
    case '$': {
      auto len = to_integer(*line);
      if (!len || *len < -1 || *len > max_bulk) return {status::malformed, 0};
      if (*len == -1) {
        out.kind = type::null;
        return {status::complete, after_line - at};
      }
      auto size = static_cast<size_t>(*len);
      if (in.size() < after_line + size + 2) return {status::incomplete, 0};
      if (in[after_line + size] != '\r' || in[after_line + size + 1] != '\n')
        return {status::malformed, 0};
      out.kind = type::bulk;
      out.text.assign(in.data() + after_line, size);
      return {status::complete, after_line + size + 2 - at};
    }
    case '*': {
      auto count = to_integer(*line);
      if (!count || *count < -1 || *count > max_items) return {status::malformed, 0};
      if (*count == -1) {
        out.kind = type::null;
        return {status::complete, after_line - at};
      }
      out.kind = type::array;
      out.items.clear();
      // Items are added as they parse: the count is the server's word, and a few bytes
      // announcing 2^24 items must not allocate a gigabyte (nested, once per level) before
      // the items arrive. An item takes at least 3 bytes, so fewer bytes than that are
      // incomplete at once.
      auto items = static_cast<size_t>(*count);
      if (in.size() - after_line < 3 * items) return {status::incomplete, 0};
      out.items.reserve(items);
      auto pos = after_line;
      for (size_t i = 0; i < items; ++i) {
        auto r = parse_at(in, pos, out.items.emplace_back(), depth + 1);
        if (r.state != status::complete) return {r.state, 0};
        pos += r.consumed;
      }
      return {status::complete, pos - at};
    }
    default:
      return {status::malformed, 0};
  }
}

}  // namespace

void encode(std::string& out, std::initializer_list<std::string_view> args) {
  encode_all(out, args);
}

void encode(std::string& out, const std::vector<std::string_view>& args) {
  encode_all(out, args);
}

parsed parse(std::string_view in, value& out) {
  return parse_at(in, 0, out, 0);
}

std::optional<redirect> parse_redirect(std::string_view text) {
  redirect r;
  if (text.rfind("MOVED ", 0) == 0) {
    text.remove_prefix(6);
  } else if (text.rfind("ASK ", 0) == 0) {
    r.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = text.find(' ');
  auto colon = text.rfind(':');
  if (space == text.npos || colon == text.npos || colon < space) return std::nullopt;
  auto slot = to_integer(text.substr(0, space));
  auto port = to_integer(text.substr(colon + 1));
  if (!slot || *slot < 0 || *slot >= slot_count || !port || *port <= 0 || *port > 65535)
    return std::nullopt;
  r.slot = static_cast<uint16_t>(*slot);
  r.host = std::string{text.substr(space + 1, colon - space - 1)};
  r.port = static_cast<uint16_t>(*port);
  return r;
}

uint16_t crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<uint16_t>(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

uint16_t key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != key.npos) {
    auto close = key.find('}', open + 1);
    if (close != key.npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % slot_count;
}

// Each entry: [first, last, [host, port, id?, ...] (the master), [replica]...].
std::optional<std::vector<slot_range>> parse_cluster_slots(const value& reply) {
  if (reply.kind != type::array) return std::nullopt;
  std::vector<slot_range> ranges;
  for (auto& entry : reply.items) {
    if (entry.kind != type::array || entry.items.size() < 3) return std::nullopt;
    auto& first = entry.items[0];
    auto& last = entry.items[1];
    auto& master = entry.items[2];
    if (first.kind != type::integer || last.kind != type::integer || master.kind != type::array ||
        master.items.size() < 2 || master.items[0].kind != type::bulk ||
        master.items[1].kind != type::integer)
      return std::nullopt;
    if (first.integer < 0 || last.integer >= slot_count || first.integer > last.integer ||
        master.items[1].integer <= 0 || master.items[1].integer > 65535)
      return std::nullopt;
    ranges.push_back({static_cast<uint16_t>(first.integer), static_cast<uint16_t>(last.integer),
                      master.items[0].text, static_cast<uint16_t>(master.items[1].integer)});
  }
  return ranges;
}

}  // namespace kv::bench::resp
