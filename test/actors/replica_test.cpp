#include <atomic>
#include <set>

#include <catch2/catch.hpp>

#include "actors/replica.hpp"
#include "storage/codec.hpp"
#include "storage/engine.hpp"
#include "storage/keys.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv;
using namespace kv::actors;

namespace {

struct replica_fixture : test::actor_fixture {
  replica_fixture() {
    storage::engine_options opts;
    opts.path = dir.str();
    opts.disk_reserve_bytes = reserve;
    opts.disk_check_interval_ms = 0;
    opts.free_bytes = [free = free] { return free->load(); };
    db = std::shared_ptr<storage::engine>{std::move(*storage::engine::open(opts))};
    node_config cfg;
    cfg.partitions = 16;
    cfg.replica_actors = 1;
    cfg.now_ms = [] { return int64_t{1000}; };
    rcfg = make_replica_config(cfg, 0, "n1.e1");
    replica = spawn();
  }

  replica_actor spawn() {
    auto result = own(spawn_replica(sys, rcfg, db, false));
    sched.run();
    return result;
  }

  static msg::ReplicaWriteRequest put(const std::string& key, const std::string& value) {
    msg::ReplicaWriteRequest req;
    req.set_partition(3);
    req.set_ns("default");
    req.set_key(key);
    req.mutable_create()->set_value(value);
    return req;
  }

  static msg::ReplicaReadRequest read(const std::string& key) {
    msg::ReplicaReadRequest req;
    req.set_partition(3);
    req.set_ns("default");
    req.set_key(key);
    return req;
  }

  static constexpr uint64_t reserve = uint64_t{16} << 20;
  // What the engine's free-space probe sees: plenty unless a test says otherwise.
  std::shared_ptr<std::atomic<uint64_t>> free =
      std::make_shared<std::atomic<uint64_t>>(uint64_t{1} << 40);
  test::temp_dir dir;
  std::shared_ptr<storage::engine> db;
  replica_config rcfg;
  replica_actor replica;
};

}  // namespace

TEST_CASE_METHOD(replica_fixture, "writes queued before a commit share one batch and one sync",
                 "[replica]") {
  auto before = db->stats();
  std::vector<decltype(send_request<msg::ReplicaWriteReply>(replica, put("", "")))> handles;
  for (int i = 0; i < 10; ++i)
    handles.push_back(
        send_request<msg::ReplicaWriteReply>(replica, put("k" + std::to_string(i), "v")));
  sched.run();
  for (auto& h : handles) {
    auto a = collect<msg::ReplicaWriteReply>(h);
    REQUIRE(a.arrived);
    CHECK(a.reply);
  }
  auto after = db->stats();
  CHECK(after.commits - before.commits == 1);
  CHECK(after.synced_commits - before.synced_commits == 1);
  CHECK(after.wal_syncs - before.wal_syncs == 1);
  CHECK(after.writes - before.writes == 10);
}

TEST_CASE_METHOD(replica_fixture, "without sync the commit does not fsync", "[replica]") {
  rcfg.sync = false;
  auto unsynced = spawn();
  auto before = db->stats();
  auto a = call<msg::ReplicaWriteReply>(unsynced, put("k", "v"));
  REQUIRE(a.reply);
  CHECK(db->stats().commits - before.commits == 1);
  CHECK(db->stats().synced_commits == before.synced_commits);
  CHECK(db->stats().wal_syncs == before.wal_syncs);
}

TEST_CASE_METHOD(replica_fixture,
                 "unsynced on the scheduler, a write that must be durable is answered once the "
                 "syncer synced, and the event loop never fsyncs",
                 "[replica]") {
  rcfg.sync = false;
  rcfg.offload_syncs = true;
  rcfg.detached_syncer = false;  // deterministic: the syncer runs on the test scheduler
  auto unsynced = spawn();
  auto durable = put("k", "v");
  durable.set_durable(true);
  auto before = db->stats();
  auto plain = send_request<msg::ReplicaWriteReply>(unsynced, put("p", "v"));
  sched.run();
  CHECK(collect<msg::ReplicaWriteReply>(plain).reply);  // unsynced: at once, no fsync
  CHECK(db->stats().wal_syncs == before.wal_syncs);
  auto h = send_request<msg::ReplicaWriteReply>(unsynced, durable);
  sched.run_once();  // staged
  sched.run_once();  // committed without a sync, handed to the syncer
  CHECK(db->stats().commits - before.commits == 2);
  CHECK(db->stats().synced_commits == before.synced_commits);
  CHECK_FALSE(collect<msg::ReplicaWriteReply>(h).arrived);
  sched.run();  // the syncer syncs the WAL; then the write is answered
  REQUIRE(collect<msg::ReplicaWriteReply>(h).reply);
  CHECK(db->stats().wal_syncs - before.wal_syncs == 1);
}

TEST_CASE_METHOD(replica_fixture, "rounds committed while the syncer syncs share its next sync",
                 "[replica]") {
  rcfg.sync = false;
  rcfg.offload_syncs = true;
  rcfg.detached_syncer = false;
  auto unsynced = spawn();
  auto durable = [](const std::string& key) {
    auto req = put(key, "v");
    req.set_durable(true);
    return req;
  };
  auto before = db->stats();
  std::vector<decltype(send_request<msg::ReplicaWriteReply>(unsynced, durable("")))> handles;
  for (auto key : {"a", "b", "c"}) {
    handles.push_back(send_request<msg::ReplicaWriteReply>(unsynced, durable(key)));
    for (int step = 0; step < 2; ++step) {  // staged, then committed: before the syncer runs
      REQUIRE(sched.prioritize(unsynced));
      sched.run_once();
    }
  }
  CHECK(db->stats().commits - before.commits == 3);
  sched.run();
  for (auto& h : handles) CHECK(collect<msg::ReplicaWriteReply>(h).reply);
  // One sync for a, asked at once; one for b and c, which came while it was asked.
  CHECK(db->stats().wal_syncs - before.wal_syncs == 2);
}

TEST_CASE_METHOD(replica_fixture,
                 "a replica that stops syncs what it committed without a sync, and answers it",
                 "[replica]") {
  rcfg.sync = false;
  rcfg.offload_syncs = true;
  rcfg.detached_syncer = false;
  auto unsynced = spawn();
  auto durable = put("k", "v");
  durable.set_durable(true);
  auto before = db->stats();
  auto h = send_request<msg::ReplicaWriteReply>(unsynced, durable);
  sched.run_once();
  sched.run_once();  // committed, its sync asked of the syncer (not run yet)
  REQUIRE_FALSE(collect<msg::ReplicaWriteReply>(h).arrived);
  caf::anon_send_exit(unsynced, caf::exit_reason::user_shutdown);
  sched.run();
  REQUIRE(collect<msg::ReplicaWriteReply>(h).reply);
  CHECK(db->stats().wal_syncs - before.wal_syncs >= 1);
}

TEST_CASE_METHOD(replica_fixture, "a write is acknowledged only after its commit", "[replica]") {
  auto h = send_request<msg::ReplicaWriteReply>(replica, put("k", "v"));
  sched.run_once();  // the write is staged; its commit is still queued
  CHECK_FALSE(collect<msg::ReplicaWriteReply>(h).arrived);
  CHECK(db->stats().commits == 0);
  sched.run();
  auto a = collect<msg::ReplicaWriteReply>(h);
  REQUIRE(a.reply);
  CHECK(db->stats().commits == 1);
  CHECK(a.reply->object().siblings_size() == 1);
  CHECK(a.reply->dot().actor() == "n1.e1");
  CHECK(a.reply->dot().counter() == 1);
}

TEST_CASE_METHOD(replica_fixture, "reads see committed data only", "[replica]") {
  auto w = send_request<msg::ReplicaWriteReply>(replica, put("k", "v"));
  auto r = send_request<msg::ReplicaReadReply>(replica, read("k"));
  sched.run();
  auto early = collect<msg::ReplicaReadReply>(r);
  REQUIRE(early.reply);
  CHECK_FALSE(early.reply->has_object());  // read before the commit turn
  REQUIRE(collect<msg::ReplicaWriteReply>(w).reply);
  auto late = call<msg::ReplicaReadReply>(replica, read("k"));
  REQUIRE(late.reply);
  REQUIRE(late.reply->has_object());
  CHECK(late.reply->object().siblings(0).value() == "v");
}

TEST_CASE_METHOD(replica_fixture, "writes to one key in one batch build on each other",
                 "[replica]") {
  auto a = send_request<msg::ReplicaWriteReply>(replica, put("k", "one"));
  auto b = send_request<msg::ReplicaWriteReply>(replica, put("k", "two"));
  sched.run();
  REQUIRE(collect<msg::ReplicaWriteReply>(a).reply);
  auto second = collect<msg::ReplicaWriteReply>(b);
  REQUIRE(second.reply);
  CHECK(second.reply->object().siblings_size() == 2);  // blind writes: siblings, none lost
  auto stored = call<msg::ReplicaReadReply>(replica, read("k"));
  CHECK(stored.reply->object().siblings_size() == 2);
}

TEST_CASE_METHOD(replica_fixture, "a killed replica fails the writes it held", "[replica]") {
  auto h = send_request<msg::ReplicaWriteReply>(replica, put("k", "v"));
  sched.run_once();  // staged, not committed
  crash(replica);
  sched.run();
  auto a = collect<msg::ReplicaWriteReply>(h);
  REQUIRE(a.arrived);
  CHECK_FALSE(a.reply);
  CHECK(db->stats().commits == 0);  // the write never reached the disk, and was not acknowledged
}

TEST_CASE_METHOD(replica_fixture, "a replica asked to stop commits what it held", "[replica]") {
  auto h = send_request<msg::ReplicaWriteReply>(replica, put("k", "v"));
  sched.run_once();
  self->send_exit(replica, caf::exit_reason::user_shutdown);
  sched.run();
  auto a = collect<msg::ReplicaWriteReply>(h);
  REQUIRE(a.reply);
  auto stored = db->get(storage::column::data, storage::data_key(3, "default", "k"));
  REQUIRE(stored);
  CHECK(stored->has_value());
}

TEST_CASE_METHOD(replica_fixture, "a replica refuses partitions it does not hold", "[replica]") {
  auto req = put("k", "v");
  req.set_partition(16);
  auto a = call<msg::ReplicaWriteReply>(replica, req);
  CHECK(a.code() == errc::internal);
}

TEST_CASE_METHOD(replica_fixture, "a merge already covered by a staged write waits for its commit",
                 "[replica]") {
  // The staged state is not durable yet: acknowledging the merge before the commit would vouch
  // for data a crash can still lose.
  auto first = call<msg::ReplicaWriteReply>(replica, put("k", "v"));
  REQUIRE(first.reply);
  msg::ReplicaWriteRequest merge;
  merge.set_partition(3);
  merge.set_ns("default");
  merge.set_key("k");
  *merge.mutable_merge() = first.reply->object();
  auto w = send_request<msg::ReplicaWriteReply>(replica, put("k", "w"));
  auto m = send_request<msg::ReplicaWriteReply>(replica, merge);
  sched.run_once();  // the write is staged
  sched.run_once();  // the merge changes nothing on top of it
  CHECK_FALSE(collect<msg::ReplicaWriteReply>(m).arrived);
  sched.run();
  REQUIRE(collect<msg::ReplicaWriteReply>(w).reply);
  REQUIRE(collect<msg::ReplicaWriteReply>(m).reply);
}

TEST_CASE_METHOD(replica_fixture, "merging an object the replica already holds writes nothing",
                 "[replica]") {
  auto first = call<msg::ReplicaWriteReply>(replica, put("k", "v"));
  REQUIRE(first.reply);
  auto commits = db->stats().commits;
  msg::ReplicaWriteRequest merge;
  merge.set_partition(3);
  merge.set_ns("default");
  merge.set_key("k");
  *merge.mutable_merge() = first.reply->object();
  auto again = call<msg::ReplicaWriteReply>(replica, merge);
  REQUIRE(again.reply);
  CHECK(db->stats().commits == commits);
}

TEST_CASE_METHOD(replica_fixture, "a merge is acknowledged without the object, a create with it",
                 "[replica]") {
  // Nobody reads a merge's object: sending it back cost a copy, an encode and a peer frame of
  // the whole object per replica and write (issue 16).
  auto first = call<msg::ReplicaWriteReply>(replica, put("k", "v"));
  REQUIRE(first.reply);
  CHECK(first.reply->has_object());
  msg::ReplicaWriteRequest merge;
  merge.set_partition(3);
  merge.set_ns("default");
  merge.set_key("other");
  *merge.mutable_merge() = first.reply->object();
  auto merged = call<msg::ReplicaWriteReply>(replica, merge);
  REQUIRE(merged.reply);
  CHECK_FALSE(merged.reply->has_object());
  CHECK(merged.reply->replica() == first.reply->replica());
  auto stored = call<msg::ReplicaReadReply>(replica, read("other"));
  REQUIRE(stored.reply);
  CHECK(stored.reply->object().siblings_size() == 1);
}

TEST_CASE_METHOD(replica_fixture,
                 "a client write past the namespace's bounds is refused before it is staged",
                 "[replica]") {
  auto bounded = [](const std::string& key, const std::string& value, uint64_t bytes,
                    uint32_t siblings) {
    auto req = put(key, value);
    req.mutable_create()->set_max_object_bytes(bytes);
    req.mutable_create()->set_max_siblings(siblings);
    return req;
  };
  SECTION("bytes") {
    REQUIRE(
        call<msg::ReplicaWriteReply>(replica, bounded("k", std::string(600, 'a'), 1000, 0)).reply);
    auto commits = db->stats().commits;
    auto over = call<msg::ReplicaWriteReply>(replica, bounded("k", std::string(600, 'b'), 1000, 0));
    CHECK(over.code() == errc::too_large);
    CHECK(message_of(over.error).find("allows 1000 (max_object_bytes)") != std::string::npos);
    CHECK(db->stats().commits == commits);  // nothing was written
  }
  SECTION("siblings") {
    REQUIRE(call<msg::ReplicaWriteReply>(replica, bounded("k", "a", 0, 2)).reply);
    REQUIRE(call<msg::ReplicaWriteReply>(replica, bounded("k", "b", 0, 2)).reply);
    auto third = call<msg::ReplicaWriteReply>(replica, bounded("k", "c", 0, 2));
    CHECK(third.code() == errc::too_large);
    CHECK(message_of(third.error).find("3 siblings") != std::string::npos);
  }
  SECTION("a write that leaves an object over its bound no larger is taken") {
    // Two siblings, then the bound drops to one: a blind write would add a third, a write with
    // the read's context replaces both.
    REQUIRE(call<msg::ReplicaWriteReply>(replica, put("k", "a")).reply);
    auto second = call<msg::ReplicaWriteReply>(replica, put("k", "b"));
    REQUIRE(second.reply);
    CHECK(call<msg::ReplicaWriteReply>(replica, bounded("k", "c", 0, 1)).code() == errc::too_large);
    auto resolving = bounded("k", "resolved", 0, 1);
    *resolving.mutable_create()->mutable_context() = second.reply->object().context();
    auto resolved = call<msg::ReplicaWriteReply>(replica, resolving);
    REQUIRE(resolved.reply);
    CHECK(resolved.reply->object().siblings_size() == 1);
  }
  SECTION("merges are never refused for their size") {
    REQUIRE(call<msg::ReplicaWriteReply>(replica, put("k", std::string(5000, 'a'))).reply);
    auto other = put("other", std::string(5000, 'b'));
    auto written = call<msg::ReplicaWriteReply>(replica, other);
    REQUIRE(written.reply);
    msg::ReplicaWriteRequest merge = put("k", "");
    *merge.mutable_merge() = written.reply->object();
    CHECK(call<msg::ReplicaWriteReply>(replica, merge).reply);
  }
}

TEST_CASE_METHOD(replica_fixture, "tree requests past the tree's shape are refused",
                 "[replica][tree]") {
  auto tree = [](uint32_t level, std::vector<uint32_t> indexes, std::vector<uint32_t> buckets) {
    msg::TreeRequest req;
    req.set_partition(3);
    req.set_level(level);
    for (auto i : indexes) req.add_indexes(i);
    for (auto b : buckets) req.add_buckets(b);
    return req;
  };
  CHECK(call<msg::TreeReply>(replica, tree(1, {0, 1}, {})).reply);
  CHECK(call<msg::TreeReply>(replica, tree(1, {0, 1, 0}, {})).code() == errc::invalid_argument);
  CHECK(call<msg::TreeReply>(replica, tree(1, {2}, {})).code() == errc::invalid_argument);
  CHECK(call<msg::TreeReply>(replica, tree(99, {}, {})).code() == errc::invalid_argument);
  CHECK(call<msg::TreeReply>(replica, tree(0, {}, {256})).code() == errc::invalid_argument);
  CHECK(call<msg::TreeReply>(replica, tree(0, {}, std::vector<uint32_t>(257, 0))).code() ==
        errc::invalid_argument);
  auto elsewhere = tree(0, {}, {0});
  elsewhere.set_after(storage::data_key(4, "default", "k"));
  CHECK(call<msg::TreeReply>(replica, elsewhere).code() == errc::invalid_argument);
}

TEST_CASE_METHOD(replica_fixture, "a bucket listing reads a large partition in bounded pages",
                 "[replica][tree]") {
  for (int i = 0; i < 2500; ++i)
    send_request<msg::ReplicaWriteReply>(replica, put("k" + std::to_string(i), "v"));
  sched.run();
  msg::TreeRequest req;
  req.set_partition(3);
  for (uint32_t b = 0; b < 256; ++b) req.add_buckets(b);
  std::set<std::string> listed;
  int pages = 0;
  do {
    auto page = call<msg::TreeReply>(replica, req);
    REQUIRE(page.reply);
    CHECK(page.reply->keys_scanned() <= 1024);
    for (auto& k : page.reply->keys()) CHECK(listed.insert(k.key()).second);
    req.set_after(page.reply->next());
    ++pages;
  } while (!req.after().empty() && pages < 10);
  CHECK(pages == 3);
  CHECK(listed.size() == 2500);
}

TEST_CASE_METHOD(replica_fixture, "a replica refuses keys no configuration lets a client write",
                 "[replica]") {
  CHECK(call<msg::ReplicaWriteReply>(replica, put("", "v")).code() == errc::invalid_argument);
  auto huge = put(std::string(storage::max_user_key_bytes + 1, 'k'), "v");
  CHECK(call<msg::ReplicaWriteReply>(replica, huge).code() == errc::invalid_argument);
  CHECK(call<msg::ReplicaReadReply>(replica, read("")).code() == errc::invalid_argument);
  CHECK(call<msg::ReplicaWriteReply>(replica, put(std::string(1024, 'k'), "v")).reply);
}

TEST_CASE_METHOD(replica_fixture,
                 "on a short disk writes are refused UNAVAILABLE, reads go on, and writes resume "
                 "once space is freed",
                 "[replica][disk]") {
  auto kept = call<msg::ReplicaWriteReply>(replica, put("kept", "v"));
  REQUIRE(kept.reply);
  auto commits = db->stats().commits;
  *free = reserve - 1;

  auto refused = call<msg::ReplicaWriteReply>(replica, put("new", "v"));
  CHECK(refused.code() == errc::unavailable);
  CHECK(message_of(refused.error).find("disk short") != std::string::npos);
  SECTION("repairs and hints are refused too: their senders keep them and retry") {
    auto other = put("other", "");
    msg::ReplicaWriteRequest merge = other;
    *merge.mutable_merge() = kept.reply->object();
    merge.set_key("other");
    CHECK(call<msg::ReplicaWriteReply>(replica, merge).code() == errc::unavailable);
    merge.set_hint_for("n2");
    CHECK(call<msg::ReplicaWriteReply>(replica, merge).code() == errc::unavailable);
  }
  SECTION("a repair that changes nothing is answered") {
    msg::ReplicaWriteRequest merge = put("kept", "");
    *merge.mutable_merge() = kept.reply->object();
    CHECK(call<msg::ReplicaWriteReply>(replica, merge).reply);
  }
  auto read_back = call<msg::ReplicaReadReply>(replica, read("kept"));
  REQUIRE(read_back.reply);
  CHECK(read_back.reply->object().siblings_size() == 1);
  CHECK(db->stats().commits == commits);  // nothing reached the disk
  CHECK(db->disk().refused_writes >= 1);

  *free = reserve;  // space freed: the same replica, no restart
  auto resumed = call<msg::ReplicaWriteReply>(replica, put("new", "v"));
  REQUIRE(resumed.reply);
  CHECK(call<msg::ReplicaReadReply>(replica, read("new")).reply->object().siblings_size() == 1);
}

TEST_CASE_METHOD(replica_fixture,
                 "a commit the engine refuses for want of space answers UNAVAILABLE and the "
                 "replica goes on with a tree that matches its disk",
                 "[replica][disk]") {
  msg::TreeRequest root;
  root.set_partition(3);
  root.set_level(0);
  root.add_indexes(0);
  REQUIRE(call<msg::ReplicaWriteReply>(replica, put("kept", "v")).reply);
  auto before = call<msg::TreeReply>(replica, root);
  REQUIRE(before.reply);

  auto h = send_request<msg::ReplicaWriteReply>(replica, put("k", "v"));
  sched.run_once();  // staged: the tree has its digest; then the disk fills up
  *free = 0;
  sched.run();
  auto a = collect<msg::ReplicaWriteReply>(h);
  REQUIRE(a.arrived);
  CHECK(a.code() == errc::unavailable);

  auto after = call<msg::TreeReply>(replica, root);  // the replica is alive
  REQUIRE(after.reply);
  CHECK(after.reply->hashes(0) == before.reply->hashes(0));
  *free = uint64_t{1} << 40;
  CHECK(call<msg::ReplicaWriteReply>(replica, put("k", "v")).reply);
}
