// The ACL file (actors/node/acl.hpp): an operator writes it, but a typo, a truncated copy or a
// file of the wrong kind must be refused with a message, never crash the node or grant a right
// the text does not name.
#include <catch2/catch.hpp>

#include "actors/node/acl.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::actors {
namespace {

void check_acl(const acl& a) {
  for (const auto& [name, rights] : a.principals()) {
    FUZZ_CHECK(!name.empty() && name.size() <= 128);
    if (!rights.admin) FUZZ_CHECK(!a.allows(name, right::admin));
    FUZZ_CHECK(a.allows(name, right::monitor) == (rights.monitor || rights.admin));
    for (const auto& ns : rights.write) FUZZ_CHECK(a.allows(name, right::write, ns));
  }
  FUZZ_CHECK(!a.allows("no such principal \x01", right::read, "default"));
}

}  // namespace

TEST_CASE("fuzz: ACL files parse into rights they name, or are refused", "[fuzz][acl]") {
  std::vector<std::string> seeds{
      "[principal.writer]\nread = [\"default\"]\nwrite = [\"default\"]\n",
      "[principal.admin]\nadmin = true\nmonitor = false\n",
      "[principal.all]\nread = [\"*\"]\nwrite = [\"*\", \"x\"]\nmonitor = true\n",
      "[principal.app]\ntokens = [\"" + acl::token_digest("t") + "\"]\nwrite = [\"a\"]\n",
      "[principal.\"x@example.com\"]\nread = []\n[principal.y]\nadmin = false\n",
      "principal = { a = { read = [\"n\"] } }\n"};
  fuzz::run("acl", 14101, 400000, seeds, [](std::string_view in) {
    auto a = acl::parse(in, "fuzz.toml");
    if (!a) return;
    fuzz::accepted();
    check_acl(*a);
    static_cast<void>(a->principal_of_token(in));  // ignored: only its not crashing counts
  });
}

}  // namespace kv::actors
