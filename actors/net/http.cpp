#include "actors/net/http.hpp"

#include <thread>

#include <httplib.h>

#include "caf/error.hpp"
#include "messages/errc.hpp"

namespace kv::actors {

struct http_endpoint::impl {
  httplib::Server server;
  std::thread thread;
};

caf::expected<std::unique_ptr<http_endpoint>> http_endpoint::start(const host_port& at,
                                                                   renderer render) {
  auto st = std::make_unique<impl>();
  st->server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  st->server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  st->server.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4");
  });
  if (!st->server.bind_to_port(at.host.c_str(), at.port))
    return make_error(errc::unavailable, "cannot listen for HTTP on " + to_string(at));
  st->thread = std::thread{[server = &st->server] { server->listen_after_bind(); }};
  // httplib's stop() is a no-op until the listening thread runs: wait for it, so that an
  // endpoint destroyed right away still stops.
  for (int i = 0; i < 1000 && !st->server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return std::unique_ptr<http_endpoint>{new http_endpoint(std::move(st))};
}

http_endpoint::http_endpoint(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

http_endpoint::~http_endpoint() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kv::actors
