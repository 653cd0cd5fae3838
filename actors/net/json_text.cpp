#include "actors/net/json_text.hpp"

#include <cstdint>
#include <cstdio>

#include <google/protobuf/util/json_util.h>

#include "caf/error.hpp"
#include "messages/errc.hpp"
#include "messages/token.hpp"

namespace kv::actors {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none
// (RFC 3629, section 4: the second byte's range excludes overlong forms and surrogates).
size_t sequence_length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  auto b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0, C1 or F5..FF
  }
  if (s.size() < len || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < len; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  return len;
}

void append_escaped(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      if (static_cast<uint8_t>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        out += c;
      }
  }
}

}  // namespace

bool valid_utf8(std::string_view s) {
  while (!s.empty()) {
    auto len = sequence_length(s);
    if (len == 0) return false;
    s.remove_prefix(len);
  }
  return true;
}

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  while (!s.empty()) {
    auto len = sequence_length(s);
    if (len == 0) {
      out += "\\ufffd";
      len = 1;
    } else if (len == 1) {
      append_escaped(out, s[0]);
    } else {
      out.append(s.data(), len);
    }
    s.remove_prefix(len);
  }
  out += '"';
  return out;
}

std::string json_value(std::string_view bytes) {
  if (valid_utf8(bytes)) return "\"value\":" + json_string(bytes);
  return "\"value_base64\":" + json_string(encode_token(bytes));
}

caf::expected<std::string> proto_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
  if (!status.ok())
    return make_error(errc::internal, "cannot render JSON: " + std::string{status.message()});
  return out;
}

}  // namespace kv::actors
