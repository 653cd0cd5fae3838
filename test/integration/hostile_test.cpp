// A peer that speaks CAF but misbehaves: it sends the node's port an error as a message, an
// exit message, a message of a type the port does not serve. The node logs and goes on; its
// stdout stays the `ready` line alone. A peer that kills the port's front outright (CAF always
// honours exit_reason::kill) makes kvnode exit non-zero, so that a process manager restarts it,
// instead of leaving a process that no longer serves.
#include <catch2/catch.hpp>

#include "actors/interfaces.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"
#include "messages/node.pb.h"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::node;
using kv::test::run_kvctl;

struct peer {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    kv::client::configure(cfg);
    return cfg;
  }
  peer() : sys(init(cfg)) {}

  caf::actor connect(const node& n) {
    auto front = sys.middleman().remote_actor<kv::actors::node_actor>("127.0.0.1", n.port());
    REQUIRE(front);
    return caf::actor_cast<caf::actor>(*front);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
};

bool serves(const node& n) {
  auto r = run_kvctl({"--node", n.address(), "--timeout", "3000", "get", "k", "--raw"});
  return r.exit_code == 0 && r.out == "v";
}

}  // namespace

TEST_CASE("errors, exits and unexpected messages from a peer do not stop the node",
          "[integration][port]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  REQUIRE(run_kvctl({"--node", n.address(), "put", "k", "v"}).exit_code == 0);
  peer p;
  auto front = p.connect(n);
  caf::scoped_actor self{p.sys};

  caf::anon_send(front, caf::make_error(caf::sec::runtime_error, "a peer's stray error"));
  self->send_exit(front, caf::make_error(caf::sec::runtime_error, "a peer's exit"));
  kv::msg::SupervisorStatusReply unexpected;  // a registered type the port does not serve
  unexpected.add_actors()->set_role(std::string(300 * 1024, 'r'));
  std::optional<kv::errc> answer;
  self->request(front, std::chrono::seconds(5), unexpected)
      .receive([&](const caf::message&) { answer = kv::errc::none; },
               [&](caf::error& err) { answer = kv::code_of(err); });

  CHECK(answer == kv::errc::invalid_argument);
  CHECK(serves(n));
  CHECK(n.wait_for_log("UnexpectedError", 3000ms));
  CHECK(n.wait_for_log("RemoteExitIgnored", 3000ms));
  CHECK(n.wait_for_log("UnexpectedMessage", 3000ms));
  CHECK(n.proc().running());
  n.proc().wait_for_line("never printed", 100ms);
  CHECK(n.proc().lines().size() == 1);  // only the ready line: nothing printed to stdout
}

TEST_CASE("a peer that kills the port's front makes kvnode exit non-zero", "[integration][port]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  peer p;
  auto front = p.connect(n);
  caf::anon_send_exit(front, caf::exit_reason::kill);
  auto code = n.proc().wait_exit(10000ms);
  REQUIRE(code);
  CHECK(*code == 3);
  CHECK(n.log().find("PortFrontDied") != std::string::npos);
}
