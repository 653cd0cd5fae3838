// messages/token.hpp
// Causal context tokens as users see them: the context bytes a get returns, in unpadded
// base64url, so they survive shells, JSON and URLs. An empty context is the empty token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kv {

std::string encode_token(std::string_view bytes);

// nullopt when `text` is not base64url.
std::optional<std::string> decode_token(std::string_view text);

}  // namespace kv
