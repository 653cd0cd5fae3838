#include <catch2/catch.hpp>

#include <random>

#include "messages/token.hpp"

using kv::decode_token;
using kv::encode_token;

TEST_CASE("context tokens round-trip any bytes", "[token]") {
  std::mt19937 rng{7};
  for (size_t len = 0; len < 64; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    auto token = encode_token(bytes);
    CHECK(token.find_first_not_of(
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(decode_token(token) == bytes);
  }
}

TEST_CASE("the empty context is the empty token", "[token]") {
  CHECK(encode_token("").empty());
  CHECK(decode_token("") == std::string{});
}

TEST_CASE("malformed tokens are rejected", "[token]") {
  CHECK_FALSE(decode_token("ab+c"));  // '+' is not base64url
  CHECK_FALSE(decode_token("abc="));  // no padding
  CHECK_FALSE(decode_token("a"));     // impossible length
  CHECK_FALSE(decode_token("QR"));    // trailing bits set: not a canonical encoding
}
