#include "client/bench/echo.hpp"

#include <csignal>
#include <iostream>

#include <map>

#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"
#include "messages/framing.hpp"

namespace kv::bench {

namespace {

using caf::io::connection_handle;

// The empty reply of a request's kind.
msg::NodeFrame echo_of(const msg::Request& req) {
  msg::NodeFrame frame;
  auto& r = *frame.mutable_response();
  r.set_id(req.id());
  switch (req.call_case()) {
    case msg::Request::kPut:
      r.mutable_put();
      break;
    case msg::Request::kGet:
      r.mutable_get();
      break;
    case msg::Request::kDel:
      r.mutable_del();
      break;
    case msg::Request::kStatus:
      r.mutable_status();
      break;
    case msg::Request::kRing:
      r.mutable_ring();
      break;
    default:
      r.mutable_pong();
      break;
  }
  return frame;
}

// Answers the hello and every request at once, in the broker (the multiplexer's thread).
caf::behavior echo(caf::io::broker* self, caf::io::doorman_ptr acceptor) {
  self->add_doorman(std::move(acceptor));
  auto readers = std::make_shared<std::map<connection_handle, protocol::frame_reader>>();
  return {
      [=](const caf::io::new_connection_msg& msg) {
        readers->emplace(msg.handle, protocol::frame_reader{protocol::default_max_frame_bytes});
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(64 * 1024));
      },
      [=](const caf::io::new_data_msg& msg) {
        auto& reader = readers->at(msg.handle);
        reader.feed(std::string_view{msg.buf.data(), msg.buf.size()});
        std::string out;
        for (auto next = reader.next(); next && *next; next = reader.next()) {
          auto frame = protocol::decode_client_frame(**next);
          if (!frame) {
            readers->erase(msg.handle);
            self->close(msg.handle);
            return;
          }
          if (frame->has_hello()) {
            msg::NodeFrame reply;
            *reply.mutable_hello() = protocol::answer_hello(
                frame->hello(), "echo", protocol::default_max_frame_bytes, 0, 1u << 20);
            protocol::append_frame(out, reply);
          } else {
            protocol::append_frame(out, echo_of(frame->request()));
          }
        }
        self->write(msg.handle, out.size(), out.data());
        self->flush(msg.handle);
      },
      [=](const caf::io::connection_closed_msg& msg) { readers->erase(msg.handle); },
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
  auto acceptor = sys.middleman().backend().new_tcp_doorman(at.port, at.host.c_str(), true);
  if (!acceptor) {
    std::cerr << "kvbench: cannot listen on " << at.text() << ": " << sys.render(acceptor.error())
              << "\n";
    return 3;
  }
  auto port = (*acceptor)->port();
  auto server = sys.middleman().spawn_broker(echo, std::move(*acceptor));
  std::cout << "ready echo " << at.host << ":" << port << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  return 0;
}

}  // namespace kv::bench
