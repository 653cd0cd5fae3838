#include "actors/net/http.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <thread>

#include <httplib.h>

#include "actors/interfaces.hpp"
#include "actors/net/http_connection.hpp"
#include "actors/net/json_text.hpp"
#include "actors/node/acl.hpp"
#include "actors/node/audit.hpp"
#include "actors/node/log.hpp"
#include "actors/node/registry.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"

// How requests travel through cpp-httplib 0.11 (Debian bookworm), and why this file routes them
// itself. httplib matches routes with std::regex against the percent-decoded path, which is
// neither binary-safe (an escaped '/' or newline in a key) nor bounded (libstdc++'s regex
// recurses once per character). It also reads request bodies in ways a server must not allow:
// chunked, compressed or unframed bodies without bound, form bodies parsed into parameters and
// refused past 8 KiB. So every request goes through the pre-routing handler, which runs before
// any body is read and answers everything except a PUT with a body. Such a PUT goes on to the
// one registered route, whose content reader takes the body in, bounded. Below httplib, each
// connection is read through a connection_stream of ours (actors/net/http_connection.cpp),
// which bounds what one request can make the endpoint read (httplib reads a request line or
// header line whole before it checks its length), and speaks TLS when the node does.
//
//   connection_stream: the TLS handshake, if any; then at most header_budget + 2 x
//        |             max_body_bytes per request
//   request line + headers (httplib: target <= 8 KiB, body framing not yet read)
//        |
//   pre_route: credentials and rights (with an ACL) --no--> 401 or 403
//        |
//   pre_route: a PUT with a framed body? --no--> answer(target, no body)
//        | yes: path rewritten to body_route
//   on_body: read at most max_body_bytes --> answer(target, body)

namespace kv::actors {

namespace {

// What one request may make the endpoint read beyond its body: the request line and headers.
// httplib reads a line whole before it checks its length (8 KiB), and headers without a count.
constexpr size_t header_budget = 64 * 1024;

}  // namespace

struct http_endpoint::impl {
  explicit impl(http_deps d)
      : deps(std::move(d)),
        server(make_http_server({http_endpoint::threads,
                                 header_budget + 2 * deps.limits.max_body_bytes, deps.tls,
                                 deps.audit})) {}
  http_deps deps;
  http_counts counts;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
};

namespace {

using endpoint = http_endpoint::impl;

// The path of the one registered route; pre_route sends PUTs with a body there.
constexpr const char* body_route = "/v1/kv";

void write(http_answer a, httplib::Response& res) {
  res.status = a.status;
  for (auto& [name, value] : a.headers) res.set_header(name, value);
  if (!a.content_type.empty()) res.set_content(std::move(a.body), a.content_type);
}

// Answers, then closes the connection: part of the request (a body not read) is still on it and
// would otherwise be taken for the next request. httplib ends a connection whose content
// provider fails, so the body goes out through one that writes it whole, then fails.
void write_and_close(http_answer a, httplib::Response& res) {
  res.status = a.status;
  for (auto& [name, value] : a.headers) res.set_header(name, value);
  res.set_header("Connection", "close");
  auto body = std::make_shared<std::string>(std::move(a.body));
  res.set_content_provider(body->size(), a.content_type,
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;  // ends the connection, after the whole body
                           });
}

// Asks `target` and waits at most `bound`; one short-lived blocking actor per request. Its
// finite timeout keeps that actor's memory (not a thread) until the bound passes, as CAF 0.17
// never cancels request timeouts: about a kilobyte per request of the last few seconds.
template <class Reply, class Handle, class Request>
caf::expected<Reply> ask(caf::actor_system& sys, const Handle& target, Request req,
                         std::chrono::milliseconds bound) {
  caf::scoped_actor self{sys};
  caf::expected<Reply> result{caf::error{}};
  self->request(target, bound, std::move(req))
      .receive([&](Reply& reply) { result = std::move(reply); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

template <class Handle>
caf::expected<Handle> role(const endpoint& st, const char* name) {
  if (auto h = st.deps.reg->get_as<Handle>(name)) return h;
  return make_error(errc::unavailable, std::string{"the "} + name + " actor is restarting");
}

http_answer text(std::string body) {
  http_answer a;
  a.content_type = "text/plain";
  a.body = std::move(body);
  return a;
}

http_answer json(caf::expected<std::string> body, int status = 200) {
  if (!body) return error_answer(body.error());
  http_answer a;
  a.status = status;
  a.content_type = "application/json";
  a.body = std::move(*body);
  return a;
}

std::vector<std::string> header_values(const httplib::Request& req, const char* name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < req.get_header_value_count(name); ++i)
    out.push_back(req.get_header_value(name, i));
  return out;
}

http_answer ready(const endpoint& st) {
  switch (st.deps.readiness_now()) {
    case readiness::serving:
      return text("ready\n");
    case readiness::leaving:
      return error_answer(errc::unavailable, "leaving: this node hands its data off and stops");
    case readiness::starting:
      break;
  }
  return error_answer(errc::unavailable, "starting: this node does not serve yet");
}

http_answer metrics(endpoint& st) {
  auto out = st.deps.metrics();
  st.counts.render(out);
  auto a = text(std::move(out));
  a.content_type = "text/plain; version=0.0.4";
  return a;
}

http_answer node_status(const endpoint& st, const http_target& t) {
  if (auto err = no_parameters(t)) return error_answer(err);
  auto node = role<admin_actor>(st, "node");
  if (!node) return error_answer(node.error());
  auto reply = ask<msg::StatusReply>(*st.deps.sys, *node, msg::StatusRequest{},
                                     st.deps.limits.default_timeout + wait_slack);
  if (!reply) return error_answer(reply.error());
  return json(proto_json(*reply));
}

http_answer ring(const endpoint& st, const http_target& t) {
  auto ns = ring_namespace(t);
  if (!ns) return error_answer(ns.error());
  auto node = role<admin_actor>(st, "node");
  if (!node) return error_answer(node.error());
  msg::RingRequest req;
  req.set_ns(*ns);
  auto reply = ask<msg::RingReply>(*st.deps.sys, *node, std::move(req),
                                   st.deps.limits.default_timeout + wait_slack);
  if (!reply) return error_answer(reply.error());
  return json(proto_json(*reply));
}

http_answer kv_get(const endpoint& st, const httplib::Request& req, const http_target& t,
                   const coordinator_actor& coordinator, msg::RequestOptions opts) {
  auto bound = wait_bound(opts, st.deps.limits);
  msg::GetRequest get;
  *get.mutable_options() = std::move(opts);
  get.set_key(t.key);
  auto reply = ask<msg::GetReply>(*st.deps.sys, coordinator, std::move(get), bound);
  if (!reply) return error_answer(reply.error());
  return get_answer(*reply, wants_json(req.get_header_value("Accept")));
}

// A PUT (with its body) or a DELETE (without).
http_answer kv_write(const endpoint& st, const httplib::Request& req, const http_target& t,
                     const coordinator_actor& coordinator, msg::RequestOptions opts,
                     const std::string* body) {
  auto context = write_context(header_values(req, context_header));
  if (!context) return error_answer(context.error());
  auto bound = wait_bound(opts, st.deps.limits);
  caf::expected<std::string> written{caf::error{}};
  if (body) {
    msg::PutRequest put;
    *put.mutable_options() = std::move(opts);
    put.set_key(t.key);
    put.set_value(*body);
    put.set_context(std::move(*context));
    auto reply = ask<msg::PutReply>(*st.deps.sys, coordinator, std::move(put), bound);
    written = reply ? caf::expected<std::string>{reply->context()} : reply.error();
  } else {
    msg::DeleteRequest del;
    *del.mutable_options() = std::move(opts);
    del.set_key(t.key);
    del.set_context(std::move(*context));
    auto reply = ask<msg::DeleteReply>(*st.deps.sys, coordinator, std::move(del), bound);
    written = reply ? caf::expected<std::string>{reply->context()} : reply.error();
  }
  if (!written) return error_answer(written.error());
  return written_answer(*written);
}

http_answer kv(const endpoint& st, const httplib::Request& req, const http_target& t,
               const std::string* body) {
  auto op = req.method == "PUT" ? kv_op::put : req.method == "DELETE" ? kv_op::del : kv_op::get;
  auto opts = kv_options(t, op);
  if (!opts) return error_answer(opts.error());
  auto coordinator = role<coordinator_actor>(st, "coordinator");
  if (!coordinator) return error_answer(coordinator.error());
  if (op == kv_op::get) return kv_get(st, req, t, *coordinator, std::move(*opts));
  return kv_write(st, req, t, *coordinator, std::move(*opts), body);
}

// The answer that refuses a request for its target or method, before anything is asked.
std::optional<http_answer> refusal(const caf::expected<http_target>& t, const std::string& method) {
  if (!t) return error_answer(t.error());
  if (t->what == resource::none)
    return error_answer(errc::not_found, "nothing at this path (the API is in docs/http.md)");
  if (!allows(t->what, method)) return method_not_allowed(t->what, method);
  return std::nullopt;
}

// The answer to any request; `body` is a PUT's body, null for every other request.
http_answer answer(endpoint& st, const httplib::Request& req, const std::string* body) {
  auto t = parse_target(req.target, st.deps.limits.max_key_bytes);
  if (auto refused = refusal(t, req.method)) return std::move(*refused);
  switch (t->what) {
    case resource::health:
      return text("ok\n");
    case resource::ready:
      return ready(st);
    case resource::metrics:
      return metrics(st);
    case resource::status:
      return node_status(st, *t);
    case resource::ring:
      return ring(st, *t);
    case resource::kv:
      return kv(st, req, *t, body);
    case resource::none:
      break;
  }
  return error_answer(errc::not_found, "nothing at this path");
}

// -- who calls ----------------------------------------------------------------------------------

// The answer that refuses a request for want of credentials (401) or of rights (403), each
// refusal audited as on the client listener; nullopt when the node has no ACL, for the probes,
// and for a principal the ACL lets make the call. Asked before any body is read and before any
// actor is asked. A target or method refused anyway is refused after authentication, so that
// a stranger learns nothing of the API but the probes.
std::optional<http_answer> gatekeeper(const endpoint& st, const httplib::Request& req,
                                      const caf::expected<http_target>& t) {
  if (!st.deps.acl) return std::nullopt;
  if (t && (t->what == resource::health || t->what == resource::ready)) return std::nullopt;
  static const http_peer unknown;
  const auto& peer = current_peer() != nullptr ? *current_peer() : unknown;
  auto* audit = st.deps.audit.get();
  auto rules = st.deps.acl->current();
  auto who = http_principal(*rules, header_values(req, "Authorization"), peer.certified);
  if (!who) {
    if (audit)
      audit->record(
          "auth_failed",
          {{"door", "http"}, {"peer", peer.address}, {"reason", message_of(who.error())}});
    return error_answer(who.error());
  }
  auto call = t ? call_of(*t, req.method) : std::nullopt;
  if (!call) return std::nullopt;
  if (auto why = http_denial(*rules, *who, *call)) {
    if (audit)
      audit->record("denied", {{"door", "http"},
                               {"peer", peer.address},
                               {"principal", *who},
                               {"call", call->name},
                               {"reason", *why}});
    return error_answer(errc::permission_denied, *why);
  }
  if (audit && audit->data_ops() && t->what == resource::kv)
    audit->record(
        "data",
        {{"peer", peer.address}, {"principal", *who}, {"call", call->name}, {"ns", call->ns}});
  return std::nullopt;
}

// -- bodies -------------------------------------------------------------------------------------

enum class framing { none, length, chunked };

bool same_letters(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// How the request's body is delimited; INVALID_ARGUMENT for what httplib would misread.
caf::expected<framing> framing_of(const httplib::Request& req) {
  auto te = req.get_header_value_count("Transfer-Encoding");
  auto cl = req.get_header_value_count("Content-Length");
  if (te > 0 && cl > 0)
    return make_error(errc::invalid_argument, "both Transfer-Encoding and Content-Length");
  if (te > 1 || cl > 1) return make_error(errc::invalid_argument, "repeated framing header");
  if (te == 1) {
    if (!same_letters(req.get_header_value("Transfer-Encoding"), "chunked"))
      return make_error(errc::invalid_argument, "the only Transfer-Encoding taken is chunked");
    return framing::chunked;
  }
  if (cl == 0) return framing::none;
  auto length = req.get_header_value("Content-Length");
  if (length.empty() || length.size() > 19 ||
      length.find_first_not_of("0123456789") != std::string::npos)
    return make_error(errc::invalid_argument, "malformed Content-Length");
  return length.find_first_not_of('0') == std::string::npos ? framing::none : framing::length;
}

// Why a PUT's body cannot be taken as the raw value, or none.
caf::error refuse_body(const httplib::Request& req) {
  auto encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity")
    return make_error(errc::invalid_argument,
                      "Content-Encoding " + encoding + " is not taken: send the value as it is");
  if (req.is_multipart_form_data())
    return make_error(errc::invalid_argument,
                      "multipart/form-data is not taken: the body is the value, as it is");
  return caf::none;
}

// The 415 answer for a body the API does not take.
http_answer unsupported(const caf::error& why) {
  auto a = error_answer(why);
  a.status = 415;
  return a;
}

httplib::Server::HandlerResponse pre_route(endpoint& st, const httplib::Request& req,
                                           httplib::Response& res) {
  // httplib slices any body by a Range header, even an answer whose status is set; the API
  // ignores Range (RFC 9110 allows it). The request is httplib's own non-const object.
  const_cast<httplib::Request&>(req).ranges.clear();
  if (req.method == "HEAD") res.set_header("Accept-Ranges", "none");  // else httplib says bytes
  auto frame = framing_of(req);
  if (!frame) {
    write_and_close(error_answer(frame.error()), res);
    return httplib::Server::HandlerResponse::Handled;
  }
  bool has_body = *frame != framing::none;
  if (auto refused = gatekeeper(st, req, parse_target(req.target, st.deps.limits.max_key_bytes))) {
    if (has_body)
      write_and_close(std::move(*refused), res);  // the body is still on the connection
    else
      write(std::move(*refused), res);
    return httplib::Server::HandlerResponse::Handled;
  }
  if (req.method == "PUT" && has_body) {
    if (auto why = refuse_body(req)) {
      write_and_close(unsupported(why), res);
      return httplib::Server::HandlerResponse::Handled;
    }
    const_cast<httplib::Request&>(req).path = body_route;  // a constant, cheap to match
    return httplib::Server::HandlerResponse::Unhandled;
  }
  if (req.method == "PUT" && !req.has_header("Content-Length")) {
    auto a = error_answer(errc::invalid_argument, "a PUT needs Content-Length (or chunked)");
    a.status = 411;
    write(std::move(a), res);
  } else if (has_body) {
    // GET, DELETE and the rest take no body, and are refused unasked; httplib would read the
    // body (DELETE, POST) or take it for the next request (GET).
    auto refused = refusal(parse_target(req.target, st.deps.limits.max_key_bytes), req.method);
    write_and_close(refused ? std::move(*refused)
                            : error_answer(errc::invalid_argument, req.method + " takes no body"),
                    res);
  } else {
    static const std::string empty;
    write(answer(st, req, req.method == "PUT" ? &empty : nullptr), res);
  }
  return httplib::Server::HandlerResponse::Handled;
}

void on_body(endpoint& st, const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader& read) {
  auto limit = st.deps.limits.max_body_bytes;
  std::string body;
  bool over = false;
  bool whole = read([&](const char* data, size_t n) {
    over = n > limit - body.size();
    if (!over) body.append(data, n);
    return !over;
  });
  auto too_large = [&] {
    return error_answer(errc::too_large, "request body over " + std::to_string(limit) +
                                             " bytes (the node's max_value_bytes)");
  };
  if (whole) return write(answer(st, req, &body), res);
  // A Content-Length over the limit: httplib skipped the body, the connection can go on.
  if (!over && res.status == 413) return write(too_large(), res);
  if (over) return write_and_close(too_large(), res);
  write_and_close(error_answer(errc::invalid_argument, "the request body did not arrive whole"),
                  res);
}

// What httplib answers by itself: a malformed request line or header (400), a target over
// 8 KiB (414), a Content-Length over the body limit (413), a malformed Range (416).
std::string_view refusal_text(int status) {
  switch (status) {
    case 413:
      return "request body too large";
    case 414:
      return "request target over 8 KiB";
    case 416:
      return "malformed Range header";
    default:
      return status >= 500 ? "internal error" : "malformed request";
  }
}

// Errors httplib answers itself get a JSON body like every other error; ours already have one.
httplib::Server::HandlerResponse on_error(const httplib::Request&, httplib::Response& res) {
  if (res.has_header("Content-Type")) return httplib::Server::HandlerResponse::Unhandled;
  auto status = res.status;
  auto code = status == 404                    ? errc::not_found
              : status == 413 || status == 414 ? errc::too_large
              : status >= 500                  ? errc::internal
                                               : errc::invalid_argument;
  write(error_answer(code, refusal_text(status)), res);
  res.status = status;
  return httplib::Server::HandlerResponse::Handled;
}

void on_exception(const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  log::get("http")->error("HttpHandlerFailed what=\"{}\"", what);
  write(error_answer(errc::internal, what), res);
}

void configure(endpoint& st) {
  auto& server = *st.server;
  server.set_payload_max_length(st.deps.limits.max_body_bytes);
  server.set_pre_routing_handler([&st](const httplib::Request& req, httplib::Response& res) {
    return pre_route(st, req, res);
  });
  server.Put(body_route,
             [&st](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& read) { on_body(st, req, res, read); });
  server.set_error_handler(httplib::Server::HandlerWithResponse{on_error});
  server.set_exception_handler(on_exception);
  server.set_post_routing_handler(
      [&st](const httplib::Request&, httplib::Response& res) { st.counts.count(res.status); });
}

}  // namespace

caf::expected<std::unique_ptr<http_endpoint>> http_endpoint::start(const host_port& at,
                                                                   http_deps deps) {
  auto st = std::make_unique<impl>(std::move(deps));
  configure(*st);
  if (!st->server->bind_to_port(at.host.c_str(), at.port))
    return make_error(errc::unavailable, "cannot listen for HTTP on " + to_string(at));
  st->thread = std::thread{[server = st->server.get()] { server->listen_after_bind(); }};
  // httplib's stop() is a no-op until the listening thread runs: wait for it, so that an
  // endpoint destroyed right away still stops.
  for (int i = 0; i < 1000 && !st->server->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  log::get("http")->info("HttpListening at={}", to_string(at));
  return std::unique_ptr<http_endpoint>{new http_endpoint(std::move(st))};
}

http_endpoint::http_endpoint(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

http_endpoint::~http_endpoint() {
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kv::actors
