#include "actors/net/host_port.hpp"

#include <charconv>
#include <string_view>

#include "messages/errc.hpp"

namespace kv::actors {
namespace {

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

bool parse_port(std::string_view text, uint16_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

caf::expected<host_port> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return invalid("expected HOST:PORT, got '" + text + "'");
  host_port result;
  result.host = text.substr(0, colon);
  if (result.host.size() > 2 && result.host.front() == '[' && result.host.back() == ']')
    result.host = result.host.substr(1, result.host.size() - 2);
  if (!parse_port(std::string_view{text}.substr(colon + 1), result.port) || result.port == 0)
    return invalid("bad port in '" + text + "'");
  return result;
}

std::string to_string(const host_port& hp) {
  if (hp.host.find(':') != std::string::npos) return "[" + hp.host + "]:" + std::to_string(hp.port);
  return hp.host + ":" + std::to_string(hp.port);
}

}  // namespace kv::actors
