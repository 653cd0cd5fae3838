#include "client/bench/ringkv_driver.hpp"

#include <memory>

#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"
#include "storage/codec.hpp"

namespace kv::bench {

namespace {

using run_atom = caf::atom_constant<caf::atom("run")>;

struct driver_state {
  bench_config cfg;
  recorder* rec = nullptr;
  std::unique_ptr<op_stream> ops;
  std::vector<client::client_actor> clients;
  size_t next_client = 0;
  // Per record: the context of everything its replies showed, and how many replies taught it
  // (learn_context).
  std::vector<std::string> contexts;
  std::vector<uint64_t> learned;
  msg::RequestOptions read_opts, write_opts;
  bool expect_data = true;  // the echo server stores nothing: its empty reads are no errors
  bool loading = false;
  uint64_t next_load = 0;
  uint32_t in_flight = 0;
  std::string notes;
  caf::response_promise done;

  static inline const char* name = "kvbench_driver";
};

using driver_actor = caf::stateful_actor<driver_state>;

void issue_op(driver_actor* self);
void issue_load(driver_actor* self);

// Everything either token covers, as a token; the later one alone if either is not ringkv's.
std::string joined(const std::string& held, const std::string& later) {
  auto a = storage::decode_context(held);
  auto b = storage::decode_context(later);
  if (!a || !b) return later;
  a->merge(*b);
  return storage::encode_context(storage::client_context(std::move(*a), {}, {}));
}

// A reply's context replaces the held one when nothing was learned about the record while the
// operation was in flight: it then covers what the held one did. Otherwise the two are joined.
// Two updates of one record in flight at once write concurrent versions, and each reply covers
// only its own; keeping just one would leave the other a sibling that no later update
// supersedes (workload W never reads to resolve it).
void learn_context(driver_state& st, uint64_t record, uint64_t learned_at_issue,
                   std::string* context) {
  if (context->empty()) return;
  auto& held = st.contexts[record];
  if (st.learned[record] == learned_at_issue || held.empty())
    held = std::move(*context);
  else
    held = joined(held, *context);
  ++st.learned[record];
}

const client::client_actor& next_client(driver_state& st) {
  return st.clients[st.next_client++ % st.clients.size()];
}

void finish(driver_actor* self, bool reached, std::string failure) {
  auto& st = self->state;
  for (auto& c : st.clients) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  st.done.deliver(reached, std::move(failure), st.notes);
  self->quit();
}

void start_run(driver_actor* self) {
  auto& st = self->state;
  if (st.cfg.load_only) return finish(self, true, {});
  st.rec->begin_run(steady::now(), st.cfg.warmup, st.cfg.duration);
  for (uint32_t i = 0; i < st.cfg.concurrency; ++i) issue_op(self);
}

// Closed loop: each completion issues the next operation, until the load is done or the run's
// time is up; the last completion ends the phase.
void on_done(driver_actor* self) {
  auto& st = self->state;
  --st.in_flight;
  if (st.loading) {
    if (st.next_load < st.cfg.records) return issue_load(self);
    if (st.in_flight > 0) return;
    st.loading = false;
    st.rec->end_load(steady::now());
    return start_run(self);
  }
  if (st.rec->running(steady::now())) return issue_op(self);
  if (st.in_flight == 0) finish(self, true, {});
}

void send_put(driver_actor* self, uint64_t record, msg::PutRequest req) {
  auto& st = self->state;
  ++st.in_flight;
  auto issued = steady::now();
  auto learned = st.learned[record];
  self->request(next_client(st), caf::infinite, std::move(req))
      .then(
          [self, record, issued, learned](msg::PutReply& reply) {
            auto& st = self->state;
            st.rec->record(op_kind::update, issued, steady::now());
            learn_context(st, record, learned, reply.mutable_context());
            on_done(self);
          },
          [self](caf::error& err) {
            self->state.rec->record_error(op_kind::update, to_string(code_of(err)), steady::now());
            on_done(self);
          });
}

void send_get(driver_actor* self, uint64_t record, msg::GetRequest req) {
  auto& st = self->state;
  ++st.in_flight;
  auto issued = steady::now();
  auto learned = st.learned[record];
  self->request(next_client(st), caf::infinite, std::move(req))
      .then(
          [self, record, issued, learned](msg::GetReply& reply) {
            auto& st = self->state;
            auto now = steady::now();
            bool live = false;
            for (auto& s : reply.siblings()) live = live || !s.deleted();
            if (live || !st.expect_data)
              st.rec->record(op_kind::read, issued, now);
            else
              st.rec->record_error(op_kind::read, "NOT_FOUND", now);
            if (reply.siblings_size() > 1) {
              st.rec->count("reads_with_siblings");
              st.rec->observe_max("most_siblings_read",
                                  static_cast<uint64_t>(reply.siblings_size()));
            }
            learn_context(st, record, learned, reply.mutable_context());
            on_done(self);
          },
          [self](caf::error& err) {
            self->state.rec->record_error(op_kind::read, to_string(code_of(err)), steady::now());
            on_done(self);
          });
}

msg::PutRequest make_put(driver_state& st, uint64_t record, bool with_context) {
  msg::PutRequest req;
  *req.mutable_options() = st.write_opts;
  req.set_key(key_of(record, st.cfg.key_size, st.cfg.key_prefix));
  req.set_value(st.ops->next_value());
  if (with_context) req.set_context(st.contexts[record]);
  return req;
}

// The load inserts blind: it expects an empty store.
void issue_load(driver_actor* self) {
  auto& st = self->state;
  auto record = st.next_load++;
  send_put(self, record, make_put(st, record, false));
}

void issue_op(driver_actor* self) {
  auto& st = self->state;
  auto next = st.ops->next();
  if (next.kind == op_kind::update)
    return send_put(self, next.record, make_put(st, next.record, true));
  msg::GetRequest req;
  *req.mutable_options() = st.read_opts;
  req.set_key(key_of(next.record, st.cfg.key_size, st.cfg.key_prefix));
  send_get(self, next.record, std::move(req));
}

void start_load(driver_actor* self) {
  auto& st = self->state;
  if (!st.cfg.loads()) return start_run(self);
  st.loading = true;
  st.rec->begin_load(steady::now());
  for (uint32_t i = 0; i < st.cfg.load_in_flight() && st.next_load < st.cfg.records; ++i)
    issue_load(self);
}

// One status request per node before anything else: if none answers, there is nothing to
// measure; a node that does not answer is reported and stays in the rotation (its requests
// fail and are counted).
void probe(driver_actor* self) {
  struct tally {
    size_t answered = 0, failed = 0;
    std::string first_error;
  };
  auto t = std::make_shared<tally>();
  auto total = self->state.clients.size();
  auto check = [self, t, total] {
    if (t->answered + t->failed < total) return;
    if (t->answered == 0) return finish(self, false, t->first_error);
    if (t->failed > 0)
      self->state.notes += std::to_string(t->failed) + " of " + std::to_string(total) +
                           " nodes did not answer at start: " + t->first_error + "\n";
    start_load(self);
  };
  for (size_t i = 0; i < total; ++i)
    self->request(self->state.clients[i], caf::infinite, msg::StatusRequest{})
        .then(
            [t, check](msg::StatusReply&) {
              ++t->answered;
              check();
            },
            [self, t, check, i](caf::error& err) {
              if (t->first_error.empty())
                t->first_error = self->state.cfg.nodes[i] + ": " + describe(err);
              ++t->failed;
              check();
            });
}

msg::RequestOptions options_of(const bench_config& cfg, bool write) {
  client::request_options opts;
  opts.ns = cfg.ns;
  opts.n = cfg.n;
  if (write)
    opts.w = cfg.w;
  else
    opts.r = cfg.r;
  opts.timeout = std::chrono::milliseconds{cfg.timeout_ms};
  msg::RequestOptions out;
  client::set_options(opts, out);
  return out;
}

caf::behavior ringkv_driver(driver_actor* self, bench_config cfg, recorder* rec) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.rec = rec;
  st.ops = std::make_unique<op_stream>(st.cfg);
  st.contexts.resize(st.cfg.records);
  st.learned.resize(st.cfg.records, 0);
  st.read_opts = options_of(st.cfg, false);
  st.write_opts = options_of(st.cfg, true);
  st.expect_data = st.cfg.tgt != target::echo;
  for (auto& node : st.cfg.nodes) {
    client::client_config c;
    c.nodes = {node};
    c.default_timeout = std::chrono::milliseconds{st.cfg.timeout_ms};
    c.connect_timeout = std::chrono::milliseconds{3000};
    c.cert = st.cfg.cert;
    c.key = st.cfg.key;
    c.ca = st.cfg.ca;
    c.token = st.cfg.token;
    client::apply_credential_defaults(c);
    st.clients.push_back(client::spawn_client(self->system(), std::move(c)));
  }
  return {
      [self](run_atom) {
        self->state.done = self->make_response_promise();
        probe(self);
        return self->state.done;
      },
  };
}

}  // namespace

run_outcome run_ringkv(const bench_config& cfg, recorder& rec) {
  caf::actor_system_config sys_cfg;
  client::configure(sys_cfg);
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.threads));
  caf::actor_system sys{sys_cfg};
  auto driver = sys.spawn(ringkv_driver, cfg, &rec);
  run_outcome out;
  caf::scoped_actor self{sys};
  self->request(driver, caf::infinite, run_atom::value)
      .receive(
          [&](bool reached, std::string& failure, std::string& notes) {
            out.reached = reached;
            out.failure = std::move(failure);
            for (size_t at = 0, end; (end = notes.find('\n', at)) != notes.npos; at = end + 1)
              out.notes.push_back(notes.substr(at, end - at));
          },
          [&](caf::error& err) {
            out.reached = false;
            out.failure = sys.render(err);
          });
  out.notes.push_back(std::to_string(cfg.nodes.size()) + " client actor(s), " +
                      std::to_string(cfg.threads) + " scheduler thread(s)");
  return out;
}

}  // namespace kv::bench
