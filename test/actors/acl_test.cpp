#include <catch2/catch.hpp>

#include <fstream>

#include "actors/node/acl.hpp"
#include "messages/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::actors;

namespace {

acl parsed(const std::string& text) {
  auto result = acl::parse(text, "test.toml");
  if (!result) FAIL(kv::describe(result.error()));
  return std::move(*result);
}

std::string refusal(const std::string& text) {
  auto result = acl::parse(text, "test.toml");
  REQUIRE_FALSE(result);
  CHECK(kv::code_of(result.error()) == kv::errc::invalid_argument);
  return kv::message_of(result.error());
}

const std::string example = R"(
[principal.writer]
read = ["default"]
write = ["default"]

[principal.reader]
read = ["default", "metrics"]

[principal.watcher]
monitor = true

[principal.everything]
read = ["*"]
write = ["*"]

[principal.admin]
admin = true
)";

}  // namespace

TEST_CASE("the documented ACL grants read and write per namespace and the two roles", "[acl]") {
  auto a = parsed(example);
  CHECK(a.allows("writer", right::read, "default"));
  CHECK(a.allows("writer", right::write, "default"));
  CHECK_FALSE(a.allows("writer", right::write, "other"));
  CHECK_FALSE(a.allows("writer", right::monitor));
  CHECK_FALSE(a.allows("writer", right::admin));

  CHECK(a.allows("reader", right::read, "metrics"));
  CHECK_FALSE(a.allows("reader", right::write, "default"));  // a read-only principal

  CHECK(a.allows("watcher", right::monitor));
  CHECK_FALSE(a.allows("watcher", right::read, "default"));

  CHECK(a.allows("everything", right::write, "any-namespace"));
  CHECK_FALSE(a.allows("everything", right::admin));

  for (auto r : {right::read, right::write, right::monitor, right::admin})
    CHECK(a.allows("admin", r, "default"));

  CHECK_FALSE(a.allows("stranger", right::read, "default"));
  CHECK_FALSE(a.allows("", right::read, "default"));
  CHECK(a.principals().size() == 5);
}

TEST_CASE("bearer tokens name their principal through their SHA-256 digest", "[acl]") {
  auto digest = acl::token_digest("s3cret-token");
  CHECK(digest.rfind("sha256:", 0) == 0);
  CHECK(digest.size() == 7 + 64);
  // echo -n abc | sha256sum
  CHECK(acl::token_digest("abc") ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto a = parsed("[principal.app]\nwrite = [\"default\"]\ntokens = [\"" + digest + "\"]\n");
  CHECK(a.principal_of_token("s3cret-token") == std::optional<std::string>{"app"});
  CHECK_FALSE(a.principal_of_token("s3cret-tokeN"));
  CHECK_FALSE(a.principal_of_token(""));
  CHECK_FALSE(a.principal_of_token(digest));  // the digest is not the token
  auto known = a.authenticate("s3cret-token");
  REQUIRE(known);
  CHECK(*known == "app");
  auto unknown = a.authenticate("s3cret-tokeN");
  REQUIRE_FALSE(unknown);
  CHECK(kv::code_of(unknown.error()) == kv::errc::unauthenticated);
  CHECK(kv::message_of(unknown.error()) == "the token is not known to this node's ACL");
  auto long_token = a.authenticate(std::string(max_token_bytes + 1, 'x'));
  REQUIRE_FALSE(long_token);
  CHECK(kv::message_of(long_token.error()) == "a token longer than 1024 bytes");
}

TEST_CASE("an empty ACL is valid and grants nothing", "[acl]") {
  auto a = parsed("");
  CHECK(a.principals().empty());
  CHECK_FALSE(a.allows("admin", right::admin));
}

TEST_CASE("a bad ACL is refused naming what is wrong", "[acl]") {
  CHECK_THAT(refusal("[principal.x]\nreed = [\"default\"]\n"),
             Catch::Contains("unknown key 'principal.x.reed'"));
  CHECK_THAT(refusal("[principals.x]\nread = []\n"), Catch::Contains("unknown key 'principals'"));
  CHECK_THAT(refusal("[principal.x]\nread = \"default\"\n"),
             Catch::Contains("principal.x.read: expected a list of strings"));
  CHECK_THAT(refusal("[principal.x]\nread = [1]\n"), Catch::Contains("is not a namespace"));
  CHECK_THAT(refusal("[principal.x]\nwrite = [\"has space\"]\n"),
             Catch::Contains("'has space' is not a namespace"));
  CHECK_THAT(refusal("[principal.x]\nadmin = \"yes\"\n"),
             Catch::Contains("principal.x.admin: expected true or false"));
  CHECK_THAT(refusal("[principal.\"a b\"]\nadmin = true\n"),
             Catch::Contains("principal 'a b': a name is"));
  CHECK_THAT(refusal("[principal.x]\ntokens = [\"plain-token\"]\n"),
             Catch::Contains("'plain-token' is not \"sha256:"));
  auto digest = acl::token_digest("t");
  CHECK_THAT(refusal("[principal.x]\ntokens = [\"" + digest + "\"]\n[principal.y]\ntokens = [\"" +
                     digest + "\"]\n"),
             Catch::Contains("already names principal x"));
  CHECK_THAT(refusal("[principal.x\n"), Catch::Contains("ACL test.toml:1"));
  CHECK_THAT(refusal("principal = 3\n"), Catch::Contains("must be a table"));
}

TEST_CASE("load reads a file, and refuses what is not a small regular file", "[acl]") {
  kv::test::temp_dir dir;
  auto path = dir.str() + "/acl.toml";
  std::ofstream{path} << example;
  auto a = acl::load(path);
  REQUIRE(a);
  CHECK(a->allows("writer", right::write, "default"));

  auto missing = acl::load(dir.str() + "/nope.toml");
  REQUIRE_FALSE(missing);
  CHECK_THAT(kv::message_of(missing.error()), Catch::Contains("cannot read it"));
  auto directory = acl::load(dir.str());
  REQUIRE_FALSE(directory);
  CHECK_THAT(kv::message_of(directory.error()), Catch::Contains("not a regular file"));
  std::ofstream{dir.str() + "/big.toml"} << std::string((1 << 20) + 1, '#');
  auto big = acl::load(dir.str() + "/big.toml");
  REQUIRE_FALSE(big);
  CHECK_THAT(kv::message_of(big.error()), Catch::Contains("larger than 1 MiB"));
}
