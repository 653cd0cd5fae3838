#include "client/bench/http1.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace kv::bench::http1 {

namespace {

constexpr size_t max_chunk_line = 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    list = comma == list.npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

// Reads lines ending in CRLF (or a bare LF, which RFC 9112 lets a recipient accept).
struct reader {
  std::string_view in;
  size_t pos = 0;

  std::optional<std::string_view> line() {
    auto nl = in.find('\n', pos);
    if (nl == in.npos) return std::nullopt;
    auto text = in.substr(pos, nl - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    pos = nl + 1;
    return text;
  }
  size_t left() const { return in.size() - pos; }
};

parsed incomplete() {
  return {status::incomplete, 0, {}};
}

parsed malformed(std::string why) {
  return {status::malformed, 0, std::move(why)};
}

// What the status line and the headers say about the body and the connection.
struct head {
  int status = 0;
  bool http10 = false;
  std::optional<size_t> length;
  bool chunked = false;
  bool close = false, keep_alive = false;  // tokens of the Connection header
};

std::optional<std::string> status_line(std::string_view line, head& h) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
      line[8] != ' ')
    return "not an HTTP/1.x status line: '" + std::string{line.substr(0, 40)} + "'";
  h.http10 = line[7] == '0';
  auto code = line.substr(9, 3);
  if (code.find_first_not_of("0123456789") != code.npos || code[0] < '1' || code[0] > '5' ||
      (line.size() > 12 && line[12] != ' '))
    return "bad status code in '" + std::string{line.substr(0, 40)} + "'";
  h.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  return std::nullopt;
}

std::optional<std::string> header(std::string_view line, head& h) {
  auto colon = line.find(':');
  if (colon == line.npos || colon == 0 || line[0] == ' ' || line[0] == '\t')
    return "bad header line '" + std::string{line.substr(0, 40)} + "'";
  auto name = line.substr(0, colon);
  auto value = trim(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    if (value.empty() || value.size() > 10 || value.find_first_not_of("0123456789") != value.npos)
      return "bad Content-Length '" + std::string{value} + "'";
    auto n = std::stoull(std::string{value});
    if (n > max_body_bytes) return "Content-Length " + std::string{value} + " exceeds the limit";
    if (h.length && *h.length != n) return "conflicting Content-Length headers";
    h.length = static_cast<size_t>(n);
  } else if (iequals(name, "transfer-encoding")) {
    if (!iequals(value, "chunked"))
      return "unsupported Transfer-Encoding '" + std::string{value} + "' (only chunked)";
    h.chunked = true;
  } else if (iequals(name, "connection")) {
    h.close = h.close || has_token(value, "close");
    h.keep_alive = h.keep_alive || has_token(value, "keep-alive");
  }
  return std::nullopt;
}

// The status line and headers, up to and including the empty line.
parsed read_head(reader& r, head& h) {
  auto start = r.pos;
  bool first = true;
  while (auto line = r.line()) {
    if (r.pos - start > max_header_bytes) return malformed("header section exceeds 64 KiB");
    if (first) {
      first = false;
      if (auto why = status_line(*line, h)) return malformed(*why);
    } else if (line->empty()) {
      return {status::complete, r.pos - start, {}};
    } else if (auto why = header(*line, h)) {
      return malformed(*why);
    }
  }
  if (r.left() > max_header_bytes) return malformed("header section exceeds 64 KiB");
  return incomplete();
}

// chunk = size [; extensions] CRLF data CRLF; the last chunk has size 0 and is followed by
// optional trailer lines and an empty line.
parsed read_chunks(reader& r, std::string& body) {
  for (;;) {
    auto line = r.line();
    if (!line)
      return r.left() > max_chunk_line ? malformed("chunk size line too long") : incomplete();
    auto digits = trim(line->substr(0, line->find(';')));
    if (digits.empty() || digits.size() > 8 ||
        digits.find_first_not_of("0123456789abcdefABCDEF") != digits.npos)
      return malformed("bad chunk size '" + std::string{line->substr(0, 20)} + "'");
    auto size = static_cast<size_t>(std::stoul(std::string{digits}, nullptr, 16));
    if (size > max_body_bytes || body.size() + size > max_body_bytes)
      return malformed("chunked body exceeds the limit");
    if (size == 0) {
      for (auto trailer = r.line(); trailer; trailer = r.line())
        if (trailer->empty()) return {status::complete, 0, {}};
      return r.left() > max_header_bytes ? malformed("trailer section exceeds 64 KiB")
                                         : incomplete();
    }
    if (r.left() < size + 1) return incomplete();
    body.append(r.in.substr(r.pos, size));
    r.pos += size;
    if (r.in[r.pos] == '\r') {
      if (r.left() < 2) return incomplete();
      if (r.in[r.pos + 1] != '\n') return malformed("chunk data not followed by CRLF");
      r.pos += 2;
    } else if (r.in[r.pos] == '\n') {
      r.pos += 1;
    } else {
      return malformed("chunk data not followed by CRLF");
    }
  }
}

}  // namespace

void encode_request(std::string& out, std::string_view method, std::string_view host,
                    std::string_view path, std::string_view content_type, std::string_view body) {
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nContent-Type: ").append(content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
}

parsed parse(std::string_view in, response& out) {
  reader r{in};
  head h;
  for (;;) {
    h = head{};
    auto got = read_head(r, h);
    if (got.state != status::complete) return got;
    if (h.status == 101) return malformed("unexpected 101 Switching Protocols");
    if (h.status >= 200) break;  // 1xx responses are interim: the final one follows
  }
  response res;
  res.status = h.status;
  res.keep_alive = h.http10 ? h.keep_alive && !h.close : !h.close;
  if (h.chunked) {
    // RFC 9112 6.3: chunked wins over a Content-Length sent alongside it.
    res.chunked = true;
    auto got = read_chunks(r, res.body);
    if (got.state != status::complete) return got;
  } else if (h.length) {
    if (r.left() < *h.length) return incomplete();
    res.body.assign(in.substr(r.pos, *h.length));
    r.pos += *h.length;
  } else if (h.status != 204 && h.status != 304) {
    return malformed("response " + std::to_string(h.status) +
                     " has neither Content-Length nor chunked transfer coding (a body delimited "
                     "by closing the connection is not supported)");
  }
  out = std::move(res);
  return {status::complete, r.pos, {}};
}

}  // namespace kv::bench::http1
