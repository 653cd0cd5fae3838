// client/bench/http1.hpp
// HTTP/1.1 as far as kvbench's etcd driver needs it: requests with a body, and an incremental
// response parser (a response split over several reads parses once the rest has arrived;
// several responses in one buffer parse one after the other). Bodies are delimited by
// Content-Length or chunked transfer coding (trailers skipped); a body delimited by the close
// of the connection is refused as malformed, with the reason. Pure functions: no sockets here
// (etcd_driver.cpp does the I/O).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kv::bench::http1 {

// Appends "METHOD PATH HTTP/1.1" with Host, Content-Type and Content-Length headers, then
// `body`.
void encode_request(std::string& out, std::string_view method, std::string_view host,
                    std::string_view path, std::string_view content_type, std::string_view body);

struct response {
  int status = 0;          // 200, 404, 503, ...
  bool keep_alive = true;  // false: the server closes the connection after this response
  bool chunked = false;    // the body came in chunks
  std::string body;        // without the chunk framing
};

enum class status { complete, incomplete, malformed };

struct parsed {
  status state;
  size_t consumed;    // bytes of the response (and interim 1xx ones before it), when complete
  std::string error;  // why, when malformed
};

// The status line and header section together may not exceed this; a chunk or a
// Content-Length may not exceed max_body_bytes.
constexpr size_t max_header_bytes = 64 * 1024;
constexpr size_t max_body_bytes = 64 * 1024 * 1024;

// Parses the first final response in `in` into `out`, skipping interim (1xx) responses before
// it. Incomplete input consumes nothing: call again with more bytes appended. Malformed input
// cannot be resynchronised: drop the connection.
parsed parse(std::string_view in, response& out);

}  // namespace kv::bench::http1
