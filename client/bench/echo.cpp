#include "client/bench/echo.hpp"

#include <csignal>
#include <iostream>

#include "actors/interfaces.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"

namespace kv::bench {

namespace {

// The node's client interface, single requests and batches (actors/net/batching.hpp).
using echo_actor = client::client_actor::extend<caf::reacts_to<msg::ClientBatch>>;

// A batch is answered with one message holding an empty result per call, as soon as it arrives.
msg::ClientResults echo_results(const msg::ClientBatch& batch) {
  msg::ClientResults results;
  for (auto& call : batch.calls()) {
    auto& r = *results.add_results();
    r.set_id(call.id());
    if (call.has_put())
      r.mutable_put();
    else if (call.has_get())
      r.mutable_get();
    else
      r.mutable_del();
  }
  return results;
}

echo_actor::behavior_type echo(echo_actor::pointer self) {
  return {
      [self](const msg::ClientBatch& batch) {
        auto sender = caf::actor_cast<actors::client_results_sink>(self->current_sender());
        if (sender) self->send(sender, echo_results(batch));
      },
      [](const msg::PutRequest&) { return msg::PutReply{}; },
      [](const msg::GetRequest&) { return msg::GetReply{}; },
      [](const msg::DeleteRequest&) { return msg::DeleteReply{}; },
      [](const msg::StatusRequest&) { return msg::StatusReply{}; },
      [](const msg::FailActorRequest&) { return msg::FailActorReply{}; },
      [](const msg::RingRequest&) { return msg::RingReply{}; },
      [](const msg::ExplainRequest&) { return msg::ExplainReply{}; },
      [](const msg::RemoveMemberRequest&) { return msg::RemoveMemberReply{}; },
      [](const msg::LeaveRequest&) { return msg::LeaveReply{}; },
      [](const msg::TransfersRequest&) { return msg::TransfersReply{}; },
      [](const msg::RepairStatusRequest&) { return msg::RepairStatusReply{}; },
      [](const msg::HintsRequest&) { return msg::HintsReply{}; },
      [](const msg::CompactionRequest&) { return msg::CompactionReply{}; },
  };
}

}  // namespace

int serve_echo(const endpoint& at, uint32_t threads) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  caf::actor_system_config cfg;
  client::configure(cfg);
  cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
  caf::actor_system sys{cfg};
  auto server = sys.spawn(echo);
  auto port = sys.middleman().publish(server, at.port, at.host.c_str(), true);
  if (!port) {
    std::cerr << "kvbench: cannot listen on " << at.text() << ": " << sys.render(port.error())
              << "\n";
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
    return 3;
  }
  std::cout << "ready echo " << at.host << ":" << *port << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  return 0;
}

}  // namespace kv::bench
