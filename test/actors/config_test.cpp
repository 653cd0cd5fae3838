#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "actors/node/config.hpp"
#include "actors/node/settings.hpp"
#include "messages/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::actors;

namespace {

// Writes `text` as a config file and loads it over a default configuration.
struct loaded {
  kv::test::temp_dir dir;
  std::string path = dir.sub("node.toml");
  node_config cfg;
  caf::error err;

  explicit loaded(const std::string& text) {
    std::ofstream{path} << text;
    err = load_toml(path, cfg);
  }

  std::string message() const { return kv::message_of(err); }
};

// The configuration kvnode builds from the flags `args` ({"--weight", "3", ...}) and no file.
caf::expected<node_config> from_flags(const std::vector<std::string>& args) {
  std::vector<given_flag> flags;
  for (size_t i = 0; i + 1 < args.size(); i += 2) flags.push_back({args[i], args[i + 1]});
  flags.push_back({"--data-dir", "/tmp/x"});
  return configure(std::nullopt, flags);
}

std::string message_of(const caf::expected<node_config>& cfg) {
  return cfg ? std::string{} : kv::message_of(cfg.error());
}

}  // namespace

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
  alone.seeds.push_back(alone.peer_listen);
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
  CHECK_THAT(kv::message_of(validate(bad)),
             Catch::StartsWith("key 'rack' (--rack): expected 1 to 64 letters, digits, '.', '-' "
                               "or '_', got 'rack 1'"));
  bad = cfg;
  bad.datacenter = std::string(65, 'd');
  CHECK_THAT(kv::message_of(validate(bad)), Catch::StartsWith("key 'datacenter' (--dc)"));
  bad = cfg;
  bad.peer_listen.host = std::string(300, 'h');  // the address other nodes know it by
  CHECK(kv::message_of(validate(bad)) == "--peer-listen: address is 305 bytes; at most 255");
  bad = cfg;
  bad.weight = 1001;
  CHECK(kv::message_of(validate(bad)) ==
        "key 'weight' (--weight): expected an integer from 1 to 1000, got '1001'");
  bad = cfg;
  bad.weight = 1000;
  bad.tokens_per_weight = 65536;
  CHECK(kv::message_of(validate(bad)) ==
        "weight (1000) x tokens_per_weight (65536) must be at most 8388608 ring tokens");
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

TEST_CASE("an unknown key in the config file is an error naming it, its file and line",
          "[config]") {
  loaded file{"id = \"n1\"\nmax_restart = 3\n"};
  CHECK(kv::code_of(file.err) == kv::errc::invalid_argument);
  CHECK(file.message() == "config file " + file.path +
                              ":2: unknown key 'max_restart' (did you mean 'max_restarts'?)");
}

TEST_CASE("an unknown key in a namespace table is an error naming its dotted path", "[config]") {
  loaded file{"[namespaces.sessions]\nn = 3\nlwww = true\n"};
  CHECK(kv::code_of(file.err) == kv::errc::invalid_argument);
  CHECK(file.message() == "config file " + file.path +
                              ":3: unknown key 'namespaces.sessions.lwww' (did you mean "
                              "'namespaces.sessions.lww'?)");
}

TEST_CASE("a string where an integer is expected is an error naming the key and what it takes",
          "[config]") {
  loaded file{"rack = \"r1\"\n\nweight = \"3\"\n"};
  CHECK(kv::code_of(file.err) == kv::errc::invalid_argument);
  CHECK(file.message() == "config file " + file.path +
                              ":3: key 'weight': expected an integer from 1 to 1000, got string "
                              "\"3\"");
}

TEST_CASE("a float where an integer is expected is an error", "[config]") {
  loaded file{"gossip_interval_ms = 1.5\n"};
  CHECK(file.message() == "config file " + file.path +
                              ":1: key 'gossip_interval_ms': expected an integer from 1 to "
                              "31536000000 (milliseconds), got float 1.5");
  CHECK(loaded{"[namespaces.s]\nn = 3.0\n"}.message().find("key 'namespaces.s.n'") !=
        std::string::npos);
}

TEST_CASE("a negative value for an unsigned setting is an error", "[config]") {
  loaded file{"max_restarts = -1\n"};
  CHECK(file.message() == "config file " + file.path +
                              ":1: key 'max_restarts': expected an integer from 0 to 1000000, got "
                              "integer -1");
  CHECK(loaded{"block_cache_mb = -1\n"}.message().find("key 'block_cache_mb'") !=
        std::string::npos);
  CHECK(loaded{"[namespaces.s]\nttl_ms = -5\n"}.message().find("key 'namespaces.s.ttl_ms'") !=
        std::string::npos);
}

TEST_CASE("a value out of the setting's range is an error saying the range", "[config]") {
  CHECK(loaded{"weight = 1001\n"}.message().find(
            "key 'weight': expected an integer from 1 to 1000, got integer 1001") !=
        std::string::npos);
  CHECK(loaded{"threads = 5000000000\n"}.message().find("key 'threads'") != std::string::npos);
  CHECK(loaded{"partitions = 100\n"}.message().find(
            "key 'partitions': expected a power of two from 1 to 65536, got integer 100") !=
        std::string::npos);
  CHECK(loaded{"phi_threshold = 0\n"}.message().find("key 'phi_threshold'") != std::string::npos);
}

TEST_CASE("every mistyped or unknown key in a config file is named in the error", "[config]") {
  using row = std::pair<std::string, std::string>;  // file, what the message must contain
  auto [text, named] = GENERATE(values<row>({
      {"rack = [\"r1\"]\n",
       "key 'rack': expected 1 to 64 letters, digits, '.', '-' or '_', got an array"},
      {"sync = true\n", "key 'sync': expected always or none, got boolean true"},
      {"sync = \"sometimes\"\n", "key 'sync': expected always or none, got string"},
      {"listen = \"nowhere\"\n", "key 'listen': expected HOST:PORT, got string \"nowhere\""},
      {"seeds = \"127.0.0.1:7101\"\n", "key 'seeds'"},
      {"seeds = [\"127.0.0.1:7101\", 7102]\n", "key 'seeds'"},
      {"id = \"bad id\"\n", "key 'id'"},
      {"anti_entropy = \"false\"\n", "key 'anti_entropy': expected true or false"},
      {"phi_threshold = \"8\"\n", "key 'phi_threshold': expected a number above 0"},
      {"log_level = \"loud\"\n", "key 'log_level': expected one of trace, debug"},
      {"hint_max_mb = 1.5\n", "key 'hint_max_mb'"},
      {"tombstone_grace_ms = 2024-01-01\n", "key 'tombstone_grace_ms'"},
      {"namespaces = 3\n", "key 'namespaces': expected tables [namespaces.NAME]"},
      {"[namespaces]\nsessions = 3\n", "key 'namespaces.sessions': expected a table"},
      {"[namespaces.s]\nlww = 1\n", "key 'namespaces.s.lww': expected true or false"},
      {"[namespaces.s]\nmax_siblings = 0\n", "key 'namespaces.s.max_siblings'"},
      {"[limits]\nmax_key_bytes = 10\n", "unknown key 'limits'"},
      {"gossip_fanout = 0\n", "key 'gossip_fanout'"},
      {"blockcache_mb = 10\n", "unknown key 'blockcache_mb' (did you mean 'block_cache_mb'?)"},
  }));
  INFO(text);
  loaded file{text};
  CHECK(kv::code_of(file.err) == kv::errc::invalid_argument);
  CHECK_THAT(file.message(), Catch::Contains(named));
  CHECK_THAT(file.message(), Catch::StartsWith("config file " + file.path + ":"));
}

TEST_CASE("an unknown key suggests the closest known one, or none when nothing is close",
          "[config]") {
  CHECK_THAT(loaded{"dc = \"dc2\"\n"}.message(),
             Catch::EndsWith("unknown key 'dc' (did you mean 'datacenter'?)"));
  CHECK_THAT(loaded{"replicas = 4\n"}.message(),
             Catch::EndsWith("(did you mean 'replica_actors'?)"));
  CHECK_THAT(loaded{"data-dir = \"/x\"\n"}.message(),
             Catch::EndsWith("(did you mean 'data_dir'?)"));
  CHECK_THAT(loaded{"[namespaces.s]\nttl = 5\n"}.message(),
             Catch::EndsWith("(did you mean 'namespaces.s.ttl_ms'?)"));
  CHECK_THAT(loaded{"colour = \"blue\"\n"}.message(), Catch::EndsWith("unknown key 'colour'"));
}

TEST_CASE("a bad flag value is an error naming the flag and what it takes", "[config]") {
  using row = std::pair<std::vector<std::string>, std::string>;
  auto [args, named] = GENERATE(values<row>({
      {{"--weight", "abc"}, "flag --weight: expected an integer from 1 to 1000, got 'abc'"},
      {{"--weight", "0"}, "flag --weight: expected an integer from 1 to 1000, got '0'"},
      {{"--weight", "3.5"}, "flag --weight: expected an integer"},
      {{"--max-restarts", "-1"}, "flag --max-restarts: expected an integer from 0"},
      {{"--block-cache-mb", "99999999999999999999"}, "flag --block-cache-mb: expected"},
      {{"--partitions", "100"}, "flag --partitions: expected a power of two"},
      {{"--sync", "sometimes"}, "flag --sync: expected always or none, got 'sometimes'"},
      {{"--log-level", "loud"}, "flag --log-level: expected one of trace"},
      {{"--phi-threshold", "nan"}, "flag --phi-threshold: expected a number above 0"},
      {{"--listen", "nowhere"}, "flag --listen: expected HOST:PORT, got 'nowhere'"},
      {{"--seeds", "127.0.0.1:1,oops"}, "flag --seeds: expected HOST:PORT addresses"},
      {{"--id", "bad id!"}, "flag --id: expected 1 to 64 letters"},
      {{"--namespace", "cache:n=x"},
       "flag --namespace: namespace 'cache': key 'n': expected an integer from 0 to 64, got 'x'"},
      {{"--namespace", "cache:lwww=true"},
       "flag --namespace: namespace 'cache': unknown key 'lwww' (did you mean 'lww'?)"},
      {{"--namespace", "cache:n"}, "flag --namespace: namespace 'cache': expected KEY=VALUE"},
      {{"--namespace", ":n=1"}, "flag --namespace: expected NAME[:KEY=VALUE,...]"},
      {{"--disk-reserve-mb", "-5"}, "flag --disk-reserve-mb: expected an integer from 0"},
  }));
  auto cfg = from_flags(args);
  INFO(args[0] << " " << args[1]);
  REQUIRE_FALSE(cfg);
  CHECK(kv::code_of(cfg.error()) == kv::errc::invalid_argument);
  CHECK_THAT(message_of(cfg), Catch::StartsWith(named));
}

TEST_CASE("flags override the config file, which overrides the defaults", "[config]") {
  kv::test::temp_dir dir;
  auto path = dir.sub("node.toml");
  std::ofstream{path} << "data_dir = \"/data\"\nweight = 3\nrack = \"r2\"\nsync = \"none\"\n"
                         "gossip_interval_ms = 100\n[namespaces.s]\nn = 2\nlww = true\n";
  auto cfg = configure(path, {{"--weight", "5"}, {"--sync", "always"}, {"--namespace", "s:n=1"}});
  REQUIRE(cfg);
  CHECK(cfg->weight == 5);
  CHECK(cfg->sync);
  CHECK(cfg->rack == "r2");
  CHECK(cfg->gossip_interval == milliseconds{100});
  CHECK(cfg->datacenter == "dc1");
  CHECK(cfg->namespaces.at("s").n == 1);
  CHECK_FALSE(cfg->namespaces.at("s").lww);  // a flag replaces the file's namespace whole
  CHECK(cfg->namespaces.at("default").n == 1);
  auto missing = configure(dir.sub("absent.toml"), {});
  CHECK(kv::message_of(missing.error()).find("absent.toml") != std::string::npos);
}

TEST_CASE("hint_max_mb sets hint_max_bytes in MiB, and sync takes always or none", "[config]") {
  CHECK(loaded{"hint_max_mb = 2\n"}.cfg.hint_max_bytes == uint64_t{2} << 20);
  CHECK(loaded{"hint_max_bytes = 1000\n"}.cfg.hint_max_bytes == 1000);
  CHECK(loaded{"hint_max_bytes = 1000\nhint_max_mb = 1\n"}.cfg.hint_max_bytes == 1u << 20);
  CHECK_FALSE(loaded{"sync = \"none\"\n"}.cfg.sync);
  CHECK(loaded{"sync = \"always\"\n"}.cfg.sync);
  CHECK_FALSE(from_flags({"--sync", "none"})->sync);
}

TEST_CASE(
    "the object limits of a namespace and the node's disk reserve and peer message limit "
    "are read from the file",
    "[config]") {
  loaded file{
      "disk_reserve_mb = 0\nmax_peer_message_bytes = 33554432\n"
      "[namespaces.big]\nmax_object_bytes = 8388608\nmax_siblings = 10\n"};
  REQUIRE_FALSE(file.err);
  CHECK(file.cfg.disk_reserve_bytes == 0);
  CHECK(file.cfg.max_peer_message_bytes == uint64_t{32} << 20);
  CHECK(file.cfg.namespaces.at("big").max_object_bytes == uint64_t{8} << 20);
  CHECK(file.cfg.namespaces.at("big").max_siblings == 10);
  node_config defaults;
  CHECK(defaults.disk_reserve_bytes == uint64_t{256} << 20);
  CHECK(defaults.max_peer_message_bytes == uint64_t{256} << 20);
  CHECK(kv::cluster::namespace_config{}.max_object_bytes == uint64_t{4} << 20);
  CHECK(kv::cluster::namespace_config{}.max_siblings == 100);
}

TEST_CASE("the object limits, disk reserve and peer message limit are read from flags",
          "[config]") {
  auto cfg = from_flags(
      {"--disk-reserve-mb", "512", "--namespace", "big:max_object_bytes=2097152,max_siblings=7"});
  REQUIRE(cfg);
  CHECK(cfg->disk_reserve_bytes == uint64_t{512} << 20);
  CHECK(cfg->namespaces.at("big").max_object_bytes == uint64_t{2} << 20);
  CHECK(cfg->namespaces.at("big").max_siblings == 7);
  CHECK(from_flags({"--disk-reserve-mb", "0"})->disk_reserve_bytes == 0);
}

TEST_CASE("object limits must leave room for the largest value and fit in a peer message",
          "[config]") {
  CHECK_THAT(message_of(from_flags({"--namespace", "s:max_siblings=0"})),
             Catch::Contains("key 'max_siblings': expected an integer from 1 to 10000"));
  CHECK_THAT(message_of(from_flags({"--namespace", "s:max_siblings=10001"})),
             Catch::Contains("max_siblings"));
  CHECK(from_flags({"--namespace", "s:max_siblings=10000"}));
  CHECK_THAT(message_of(from_flags({"--namespace", "s:max_object_bytes=1000"})),
             Catch::Contains("key 'max_object_bytes': expected an integer from 1024"));
  auto too_small = from_flags({"--namespace", "s:max_object_bytes=1052672"});
  CHECK_THAT(message_of(too_small), Catch::Contains("namespace 's': max_object_bytes (1052672)"));
  CHECK_THAT(message_of(too_small), Catch::Contains("max_value_bytes (1048576)"));
  CHECK(from_flags({"--namespace", "s:max_object_bytes=1053696"}));
  auto big_values = from_flags({"--max-value-bytes", "8388608"});
  CHECK_THAT(message_of(big_values), Catch::Contains("namespace 'default': max_object_bytes"));
  kv::test::temp_dir dir;
  auto path = dir.sub("node.toml");
  std::ofstream{path} << "data_dir = \"/d\"\nmax_peer_message_bytes = 16777215\n";
  auto small_peer = configure(path, {});
  CHECK_THAT(message_of(small_peer), Catch::Contains("max_peer_message_bytes (16777215)"));
  CHECK_THAT(message_of(small_peer), Catch::Contains("max_object_bytes (4194304)"));
}

TEST_CASE("validate checks a configuration built in code against the settings table", "[config]") {
  node_config cfg;
  cfg.data_dir = "/tmp/x";
  apply_namespace_defaults(cfg);
  REQUIRE_FALSE(validate(cfg));
  auto bad = cfg;
  bad.weight = 0;
  CHECK(kv::message_of(validate(bad)) ==
        "key 'weight' (--weight): expected an integer from 1 to 1000, got '0'");
  bad = cfg;
  bad.max_peer_message_bytes = uint64_t{1} << 40;
  CHECK_THAT(kv::message_of(validate(bad)), Catch::StartsWith("key 'max_peer_message_bytes':"));
  bad = cfg;
  bad.namespaces["default"].max_siblings = 0;
  CHECK_THAT(kv::message_of(validate(bad)),
             Catch::StartsWith("namespace 'default': key 'max_siblings':"));
}

namespace {

// The cells of the markdown table rows of docs/configuration.md.
std::vector<std::vector<std::string>> doc_rows() {
  std::ifstream doc{std::string{KV_SOURCE_DIR} + "/docs/configuration.md"};
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream in{line.substr(1)};
    for (std::string cell; std::getline(in, cell, '|');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

// True when a cell names the TOML key: "`key`", or "`[key.NAME]`" for tables.
bool names(const std::string& cell, const std::string& key) {
  return cell.find("`" + key + "`") != std::string::npos ||
         cell.find("`[" + key + ".") != std::string::npos;
}

}  // namespace

TEST_CASE("docs/configuration.md lists every setting with its flag, key, default and range",
          "[config]") {
  auto rows = doc_rows();
  REQUIRE(rows.size() > 40);
  for (auto& s : node_table()) {
    INFO("key " << s.key << ", flag " << s.flag << ", default " << s.default_text << ", takes "
                << expected(s));
    auto flag = s.flag.empty() ? "(file only)" : "`" + s.flag + "`";
    auto shown = s.default_text.empty() ? "required" : s.default_text;
    CHECK(std::any_of(rows.begin(), rows.end(), [&](auto& row) {
      return row.size() >= 4 && row[0].find(flag) != std::string::npos && names(row[1], s.key) &&
             row[2].find(shown) != std::string::npos &&
             row[3].find(expected(s)) != std::string::npos;
    }));
  }
  for (auto& s : namespace_table()) {
    INFO("namespace key " << s.key << ", default " << s.default_text << ", takes " << expected(s));
    CHECK(std::any_of(rows.begin(), rows.end(), [&](auto& row) {
      return row.size() >= 3 && names(row[0], s.key) &&
             row[1].find(s.default_text) != std::string::npos &&
             row[2].find(expected(s)) != std::string::npos;
    }));
  }
}

TEST_CASE("the peer and admin listeners follow --listen unless given", "[config]") {
  auto derived = from_flags({"--listen", "10.0.0.5:9000", "--insecure", "true"});
  REQUIRE(derived);
  CHECK(to_string(derived->peer_listen) == "10.0.0.5:9100");
  CHECK(to_string(derived->admin_listen) == "127.0.0.1:9200");  // loopback, whatever --listen
  auto given = from_flags({"--listen", "10.0.0.5:9000", "--peer-listen", "10.0.0.5:7777",
                           "--admin-listen", "10.0.0.5:7778", "--insecure", "true"});
  REQUIRE(given);
  CHECK(to_string(given->peer_listen) == "10.0.0.5:7777");
  CHECK(to_string(given->admin_listen) == "10.0.0.5:7778");
  auto high = from_flags({"--listen", "127.0.0.1:65500"});
  REQUIRE_FALSE(high);
  CHECK(kv::message_of(high.error()).find("--peer-listen: give a port") == 0);
  auto clash = from_flags({"--listen", "127.0.0.1:9000", "--peer-listen", "127.0.0.1:9000"});
  REQUIRE_FALSE(clash);
  CHECK(kv::message_of(clash.error()).find("three different ports") != std::string::npos);
}

TEST_CASE("without TLS and an ACL a node listens on loopback only, unless --insecure", "[config]") {
  for (auto flag : {"--listen", "--peer-listen", "--admin-listen", "--http"}) {
    auto open = from_flags({flag, "10.0.0.5:9050"});
    REQUIRE_FALSE(open);
    CHECK(kv::message_of(open.error()).find(std::string{flag} + " 10.0.0.5 is not a loopback") ==
          0);
  }
  auto tls_only = from_flags({"--listen", "10.0.0.5:9000", "--tls-cert", "n.pem", "--tls-key",
                              "n.key", "--tls-ca", "ca.pem"});
  CHECK_FALSE(tls_only);  // authenticated, but every caller could do everything
  CHECK(from_flags({"--listen", "10.0.0.5:9000", "--tls-cert", "n.pem", "--tls-key", "n.key",
                    "--tls-ca", "ca.pem", "--acl", "acl.toml"}));
  CHECK(from_flags({"--listen", "10.0.0.5:9000", "--insecure", "true"}));
  CHECK(from_flags({"--listen", "localhost:9000"}));
  auto partial = from_flags({"--tls-cert", "n.pem", "--tls-key", "n.key"});
  REQUIRE_FALSE(partial);
  CHECK(kv::message_of(partial.error()) == "TLS needs all of --tls-cert, --tls-key and --tls-ca");
}
