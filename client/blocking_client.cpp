#include "client/blocking_client.hpp"

#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"

namespace kv::client {

struct blocking_client::impl {
  explicit impl(client_config cfg)
      : sys(init(sys_cfg, cfg)), db(spawn_client(sys, std::move(cfg))) {}

  ~impl() { caf::anon_send_exit(db, caf::exit_reason::user_shutdown); }

  static caf::actor_system_config& init(caf::actor_system_config& sys_cfg,
                                        const client_config& cfg) {
    configure(sys_cfg);
    sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
    return sys_cfg;
  }

  // The client actor answers every request, so waiting without a timeout cannot hang.
  template <class Reply, class Request>
  result<Reply> call(Request req) {
    caf::scoped_actor self{sys};
    std::optional<result<Reply>> out;
    self->request(db, caf::infinite, std::move(req))
        .receive([&](Reply& reply) { out.emplace(std::move(reply)); },
                 [&](caf::error& err) {
                   out.emplace(error_info{code_of(err), message_of(err)});
                 });
    return std::move(*out);
  }

  caf::actor_system_config sys_cfg;
  caf::actor_system sys;
  client_actor db;
};

blocking_client::blocking_client(client_config cfg)
    : impl_(std::make_unique<impl>(std::move(cfg))) {}

blocking_client::~blocking_client() = default;

result<std::string> blocking_client::put(std::string_view key, std::string_view value,
                                         const request_options& opts, std::string_view context) {
  auto r = impl_->call<msg::PutReply>(make_put(key, value, opts, context));
  if (!r) return r.error();
  return r->context();
}

result<get_result> blocking_client::get(std::string_view key, const request_options& opts) {
  auto r = impl_->call<msg::GetReply>(make_get(key, opts));
  if (!r) return r.error();
  return to_result(*r);
}

result<std::string> blocking_client::del(std::string_view key, const request_options& opts,
                                         std::string_view context) {
  auto r = impl_->call<msg::DeleteReply>(make_delete(key, opts, context));
  if (!r) return r.error();
  return r->context();
}

result<msg::StatusReply> blocking_client::status() {
  return impl_->call<msg::StatusReply>(msg::StatusRequest{});
}

result<msg::RingReply> blocking_client::ring(std::string_view ns) {
  msg::RingRequest req;
  req.set_ns(std::string{ns});
  return impl_->call<msg::RingReply>(std::move(req));
}

result<msg::ExplainReply> blocking_client::explain(std::string_view key,
                                                   const request_options& opts, bool everywhere) {
  msg::ExplainRequest req;
  req.set_everywhere(everywhere);
  set_options(opts, *req.mutable_options());
  req.set_key(std::string{key});
  return impl_->call<msg::ExplainReply>(std::move(req));
}

result<std::string> blocking_client::fail_actor(std::string_view role, std::string_view reason) {
  msg::FailActorRequest req;
  req.set_role(std::string{role});
  req.set_reason(std::string{reason});
  auto r = impl_->call<msg::FailActorReply>(std::move(req));
  if (!r) return r.error();
  return r->role();
}

result<msg::Member> blocking_client::leave() {
  auto r = impl_->call<msg::LeaveReply>(msg::LeaveRequest{});
  if (!r) return r.error();
  return r->member();
}

result<msg::TransfersReply> blocking_client::transfers() {
  return impl_->call<msg::TransfersReply>(msg::TransfersRequest{});
}

result<msg::RepairStatusReply> blocking_client::repair_status() {
  return impl_->call<msg::RepairStatusReply>(msg::RepairStatusRequest{});
}

result<msg::HintsReply> blocking_client::hints() {
  return impl_->call<msg::HintsReply>(msg::HintsRequest{});
}

result<msg::CompactionReply> blocking_client::compaction() {
  return impl_->call<msg::CompactionReply>(msg::CompactionRequest{});
}

result<msg::Member> blocking_client::remove_member(std::string_view id, bool force) {
  msg::RemoveMemberRequest req;
  req.set_id(std::string{id});
  req.set_force(force);
  auto r = impl_->call<msg::RemoveMemberReply>(std::move(req));
  if (!r) return r.error();
  return r->member();
}

}  // namespace kv::client
