// test/support/actor_fixture.hpp
// Deterministic actor tests: an actor system on CAF's test coordinator (no threads, no
// sleeps; time moves only when a test advances it), driven directly because CAF's own test
// DSL does not work under Catch2. A test sends requests from `self`, runs the scheduler until
// idle, and then collects the answer, which must already be in self's mailbox.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "caf/all.hpp"
#include "messages/caf_types.hpp"
#include "messages/errc.hpp"

namespace kv::test {

// The answer to one request: a reply or an error, or nothing (yet).
template <class Reply>
struct answer {
  std::optional<Reply> reply;
  caf::error error;
  bool arrived = false;

  errc code() const { return code_of(error); }
};

class actor_fixture {
 public:
  using sched_t = caf::scheduler::test_coordinator;

  actor_fixture()
      : sys(init(cfg)), self(sys, true), sched(dynamic_cast<sched_t&>(sys.scheduler())) {}

  ~actor_fixture() {
    for (auto& a : owned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
    for (int i = 0; i < 100 && sched.has_pending_timeout(); ++i) {
      sched.trigger_timeouts();
      sched.run();
    }
  }

  // Keeps `hdl` for teardown, which stops it.
  template <class Handle>
  Handle own(Handle hdl) {
    owned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  // Sends a request without running anything; collect its answer with `collect`.
  template <class Reply, class Handle, class Request>
  auto send_request(const Handle& dst, Request req) {
    return self->request(dst, caf::infinite, std::move(req));
  }

  // Takes the answer to `handle` if it arrived, without blocking.
  template <class Reply, class Handle>
  answer<Reply> collect(Handle& handle) {
    answer<Reply> result;
    if (self->mailbox().empty()) return result;
    handle.receive(
        [&](Reply& r) {
          result.reply = std::move(r);
          result.arrived = true;
        },
        [&](caf::error& e) {
          result.error = std::move(e);
          result.arrived = true;
        });
    return result;
  }

  // Sends a request, runs until idle, returns the answer (which must have arrived).
  template <class Reply, class Handle, class Request>
  answer<Reply> call(const Handle& dst, Request req) {
    auto handle = send_request<Reply>(dst, std::move(req));
    sched.run();
    auto result = collect<Reply>(handle);
    REQUIRE(result.arrived);
    return result;
  }

  // Kills `hdl` now, ahead of whatever waits in its mailbox, like a crash.
  template <class Handle>
  void crash(const Handle& hdl) {
    caf::actor_cast<caf::actor>(hdl)->eq_impl(
        caf::make_message_id(caf::message_priority::high), nullptr, nullptr,
        caf::exit_msg{caf::actor_addr{}, make_error(errc::internal, "crashed by the test")});
  }

  // Moves the test clock and runs what became due.
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }

 private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    register_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

 public:
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  sched_t& sched;
  std::vector<caf::actor> owned;
};

}  // namespace kv::test
