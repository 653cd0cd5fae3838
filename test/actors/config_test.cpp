#include <catch2/catch.hpp>

#include <fstream>

#include "actors/config.hpp"
#include "messages/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::actors;

TEST_CASE("addresses parse as HOST:PORT, with brackets for IPv6", "[config]") {
  auto a = parse_host_port("127.0.0.1:7101");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 7101);
  auto b = parse_host_port("[::1]:7102");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(to_string(*b) == "[::1]:7102");
  CHECK_FALSE(parse_host_port("localhost"));
  CHECK_FALSE(parse_host_port("host:0"));
  CHECK_FALSE(parse_host_port("host:99999"));
  CHECK_FALSE(parse_host_port(":7101"));
}

TEST_CASE("namespaces parse from the command line", "[config]") {
  auto ns = parse_namespace("sessions:n=3,w=2,lww=true");
  REQUIRE(ns);
  CHECK(ns->name == "sessions");
  CHECK(ns->n == 3);
  CHECK(ns->w == 2);
  CHECK(ns->lww);
  CHECK(parse_namespace("plain")->n == 0);  // the cluster's default, applied later
  CHECK_FALSE(parse_namespace("bad:n=x"));
  CHECK_FALSE(parse_namespace("bad:q=1"));
  CHECK_FALSE(parse_namespace(":n=1"));
}

TEST_CASE("namespaces without n get one replica on a node without seeds, three with seeds",
          "[config]") {
  node_config single;
  single.namespaces["users"] = *parse_namespace("users:lww=true");
  single.namespaces["pinned"] = *parse_namespace("pinned:n=2");
  apply_namespace_defaults(single);
  CHECK(single.namespaces.at("users").n == 1);
  CHECK(single.namespaces.at("pinned").n == 2);
  node_config alone = single;  // seeded with only itself: still a cluster of one
  alone.seeds.push_back(alone.listen);
  alone.namespaces["users"].n = 0;
  apply_namespace_defaults(alone);
  CHECK(alone.namespaces.at("users").n == 1);
  node_config clustered = single;
  clustered.seeds.push_back({"127.0.0.1", 7102});
  clustered.namespaces["users"].n = 0;
  apply_namespace_defaults(clustered);
  CHECK(clustered.namespaces.at("users").n == 3);
}

TEST_CASE("a node without seeds serves a default namespace with one replica", "[config]") {
  node_config cfg;
  cfg.data_dir = "/tmp/x";
  apply_namespace_defaults(cfg);
  CHECK(cfg.namespaces.at("default").n == 1);
  CHECK_FALSE(validate(cfg));
  node_config clustered;
  clustered.seeds.push_back({"127.0.0.1", 7102});
  apply_namespace_defaults(clustered);
  CHECK(clustered.namespaces.at("default").n == 3);
}

TEST_CASE("bad settings are rejected with the setting's name", "[config]") {
  node_config cfg;
  cfg.data_dir = "/tmp/x";
  apply_namespace_defaults(cfg);
  auto bad = cfg;
  bad.partitions = 100;
  CHECK(kv::message_of(validate(bad)).find("partitions") != std::string::npos);
  bad = cfg;
  bad.node_id = "n 1";
  CHECK(validate(bad));
  bad = cfg;
  bad.data_dir.clear();
  CHECK(kv::message_of(validate(bad)).find("--data-dir") != std::string::npos);
  bad = cfg;
  bad.replica_actors = 3;
  CHECK(validate(bad));
}

TEST_CASE("a node's own row must pass the bounds its peers decode rows with", "[config]") {
  node_config cfg;
  cfg.data_dir = "/tmp/x";
  apply_namespace_defaults(cfg);
  auto bad = cfg;
  bad.rack = "rack 1";
  CHECK_THAT(kv::message_of(validate(bad)), Catch::StartsWith("--rack 'rack?1' has a character"));
  bad = cfg;
  bad.datacenter = std::string(65, 'd');
  CHECK(kv::message_of(validate(bad)) == "--dc is 65 bytes; at most 64");
  bad = cfg;
  bad.listen.host = std::string(300, 'h');
  CHECK(kv::message_of(validate(bad)) == "--listen: address is 305 bytes; at most 255");
  bad = cfg;
  bad.weight = 1001;
  CHECK(kv::message_of(validate(bad)) == "--weight must be between 1 and 1000");
  bad = cfg;
  bad.weight = 1000;
  bad.tokens_per_weight = 65536;
  CHECK(kv::message_of(validate(bad)) ==
        "--weight x tokens_per_weight must be at most 8388608 ring tokens");
  bad.tokens_per_weight = 8388;
  CHECK_FALSE(validate(bad));
}

TEST_CASE("a TOML file sets the node's configuration", "[config]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("node.toml");
  std::ofstream{path} << "id = \"n7\"\nlisten = \"127.0.0.1:7107\"\ndata_dir = \"/data\"\n"
                         "sync = \"none\"\npartitions = 64\nblock_cache_mb = 16\n"
                         "[namespaces.sessions]\nn = 2\nlww = true\n";
  node_config cfg;
  REQUIRE_FALSE(load_toml(path, cfg));
  CHECK(cfg.node_id == "n7");
  CHECK(cfg.listen.port == 7107);
  CHECK_FALSE(cfg.sync);
  CHECK(cfg.partitions == 64);
  CHECK(cfg.block_cache_bytes == size_t{16} << 20);
  CHECK(cfg.namespaces.at("sessions").lww);
  std::ofstream{path} << "id = [broken";
  auto err = load_toml(path, cfg);
  CHECK(kv::code_of(err) == kv::errc::invalid_argument);
  CHECK(kv::message_of(err).find("node.toml") != std::string::npos);
}
