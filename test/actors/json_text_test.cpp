#include <catch2/catch.hpp>

#include <string>

#include "actors/net/json_text.hpp"
#include "messages/client.pb.h"
#include "messages/node.pb.h"

using kv::actors::json_string;
using kv::actors::json_value;
using kv::actors::proto_json;
using kv::actors::valid_utf8;
using namespace std::string_literals;

TEST_CASE("well-formed UTF-8 is recognised", "[json]") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9"));       // U+00E9
  CHECK(valid_utf8("\xe2\x82\xac"));      // U+20AC
  CHECK(valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  CHECK(valid_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  CHECK(valid_utf8("nul \0 inside"s));    // U+0000 is a character
}

TEST_CASE("malformed UTF-8 is refused", "[json]") {
  SECTION("overlong forms") {
    CHECK_FALSE(valid_utf8("\xc0\x80"));
    CHECK_FALSE(valid_utf8("\xc1\xbf"));
    CHECK_FALSE(valid_utf8("\xe0\x80\x80"));
    CHECK_FALSE(valid_utf8("\xe0\x9f\xbf"));
    CHECK_FALSE(valid_utf8("\xf0\x80\x80\x80"));
    CHECK_FALSE(valid_utf8("\xf0\x8f\xbf\xbf"));
  }
  SECTION("surrogates and code points above U+10FFFF") {
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));
    CHECK_FALSE(valid_utf8("\xed\xbf\xbf"));
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));
    CHECK_FALSE(valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(valid_utf8("\xff"));
  }
  SECTION("truncated and stray bytes") {
    CHECK_FALSE(valid_utf8("\xc3"));
    CHECK_FALSE(valid_utf8("\xe2\x82"));
    CHECK_FALSE(valid_utf8("\xf0\x9f\x98"));
    CHECK_FALSE(valid_utf8("\x80"));
    CHECK_FALSE(valid_utf8("a\xc3(b"));
    CHECK_FALSE(valid_utf8("\xe2\x28\xa1"));
  }
}

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[json]") {
  CHECK(json_string("") == "\"\"");
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("line\nbreak\r\ttab") == "\"line\\nbreak\\r\\ttab\"");
  CHECK(json_string("\x01\x1f"s) == "\"\\u0001\\u001f\"");
  CHECK(json_string("nul\0"s) == "\"nul\\u0000\"");
  CHECK(json_string("/ and \x7f stay") == "\"/ and \x7f stay\"");
}

TEST_CASE("JSON strings keep UTF-8 and replace what is not", "[json]") {
  CHECK(json_string("caf\xc3\xa9 \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  CHECK(json_string("a\xffz") == "\"a\\ufffdz\"");
  CHECK(json_string("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");
  CHECK(json_string("\xc3") == "\"\\ufffd\"");
}

TEST_CASE("a value is text when it is UTF-8, else unpadded base64url", "[json]") {
  CHECK(json_value("hello") == "\"value\":\"hello\"");
  CHECK(json_value("") == "\"value\":\"\"");
  CHECK(json_value("\xff\xfe\xfd") == "\"value_base64\":\"__79\"");
  CHECK(json_value("\x00\xff"s) == "\"value_base64\":\"AP8\"");
}

TEST_CASE("protobuf replies render with proto field names and every field", "[json]") {
  kv::msg::StatusReply status;
  status.set_node_id("n1");
  status.set_uptime_ms(1234);
  status.add_namespaces("default");
  auto* m = status.add_members();
  m->set_id("n\"2");
  m->set_state(kv::msg::MEMBER_UP);
  auto text = proto_json(status);
  REQUIRE(text);
  CHECK_THAT(*text, Catch::Contains("\"node_id\":\"n1\""));
  CHECK_THAT(*text, Catch::Contains("\"uptime_ms\":\"1234\""));  // 64-bit: a string
  CHECK_THAT(*text, Catch::Contains("\"namespaces\":[\"default\"]"));
  CHECK_THAT(*text, Catch::Contains("\"id\":\"n\\\"2\""));
  CHECK_THAT(*text, Catch::Contains("\"state\":\"MEMBER_UP\""));
  CHECK_THAT(*text, Catch::Contains("\"partitions\":0"));  // zeros are shown

  kv::msg::RingReply ring;
  ring.set_n(3);
  ring.set_max_over_mean(1.5);
  auto r = proto_json(ring);
  REQUIRE(r);
  CHECK_THAT(*r, Catch::Contains("\"n\":3"));
  CHECK_THAT(*r, Catch::Contains("\"max_over_mean\":1.5"));
  CHECK_THAT(*r, Catch::Contains("\"shares\":[]"));
}
