// Security seen from outside (issue 15, docs/security.md): three kvnodes with mutual TLS between
// them and on every listener, and an ACL. Plain connections and certificates that are foreign,
// expired or of the wrong kind are refused on each listener while the nodes keep serving; a
// principal gets what the ACL grants and no more, every refusal is audited, a reloaded ACL takes
// effect, and a node without the cluster's certificate cannot join. A single node's HTTP API,
// driven by curl, follows the same rules: TLS, a certificate or a bearer token, the same rights.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "actors/node/acl.hpp"
#include "test/integration/cluster_support.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::test::cluster_support;

namespace {

// Certificates for one test: the cluster's (scripts/certs.sh), a foreign CA's, an expired client
// certificate signed by the cluster CA, and the ACL file.
struct pki {
  explicit pki(const std::string& root) : dir(root + "/certs"), foreign(root + "/foreign") {
    make(dir, {"--nodes", "n1,n2,n3,n4", "--clients", "admin,app,reader,other"});
    make(foreign, {"--nodes", "n1,n4", "--clients", "admin"});
    auto expired = kv::test::run_program(
        "/bin/bash",
        {"-c", "openssl req -new -key " + key("app") +
                   " -subj /O=ringkv/OU=client/CN=app 2>/dev/null | openssl x509 -req -CA " + ca() +
                   " -CAkey " + dir + "/ca.key -days -1 -out " + dir + "/expired.pem 2>/dev/null"});
    REQUIRE(expired.exit_code == 0);
    acl = root + "/acl.toml";
    write_acl(
        "[principal.admin]\nadmin = true\n"
        "[principal.app]\nread = [\"default\", \"a\"]\nwrite = [\"default\", \"a\"]\n"
        "tokens = [\"" +
        kv::actors::acl::token_digest("app-token") +
        "\"]\n"
        "[principal.reader]\nread = [\"*\"]\nmonitor = true\n"
        "[principal.other]\nread = [\"b\"]\nwrite = [\"b\"]\n");
  }

  static void make(const std::string& at, std::vector<std::string> args) {
    args.insert(args.begin(), {std::string{KV_SOURCE_DIR} + "/scripts/certs.sh", at});
    auto r = kv::test::run_program("/bin/bash", args, 60000ms);
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
  }

  void write_acl(const std::string& text) const {
    std::ofstream out{acl + ".new"};
    out << text;
    out.close();
    REQUIRE(std::rename((acl + ".new").c_str(), acl.c_str()) == 0);
  }

  std::string ca() const { return dir + "/ca.pem"; }
  std::string pem(const std::string& name) const { return dir + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir + "/" + name + ".key"; }

  // kvnode's flags: each node presents its own certificate.
  std::vector<std::string> node_flags() const {
    return {
        "--tls-cert", dir + "/{id}.pem", "--tls-key", dir + "/{id}.key", "--tls-ca", ca(), "--acl",
        acl,          "--namespace",     "a",         "--namespace",     "b"};
  }

  std::string dir;
  std::string foreign;
  std::string acl;
};

// While it lives, kvctl (and every kvctl the helpers run) defaults to the admin's credentials.
class admin_by_default {
 public:
  explicit admin_by_default(const pki& p) {
    ::setenv("RINGKV_CA", p.ca().c_str(), 1);
    ::setenv("RINGKV_CERT", p.pem("admin").c_str(), 1);
    ::setenv("RINGKV_KEY", p.key("admin").c_str(), 1);
  }
  ~admin_by_default() {
    for (auto name : {"RINGKV_CA", "RINGKV_CERT", "RINGKV_KEY"}) ::unsetenv(name);
  }
};

// kvctl through `via` as client certificate `who`.
cli_result kvctl_as(const pki& p, const std::string& who, const node& via,
                    std::vector<std::string> args) {
  args.insert(args.begin(), {"--ca", p.ca(), "--cert", p.pem(who), "--key", p.key(who)});
  return kvctl(via, std::move(args));
}

std::string audit_of(const node& n) {
  return kv::test::read_file(n.data_dir() + "/audit.log");
}

// Waits until the audit log of `n` holds a line with every one of `parts`.
bool audited(const node& n, const std::vector<std::string>& parts) {
  return wait_until(5000ms,
                    [&] {
                      std::istringstream lines{audit_of(n)};
                      for (std::string line; std::getline(lines, line);) {
                        bool all = true;
                        for (auto& p : parts) all = all && line.find(p) != std::string::npos;
                        if (all) return true;
                      }
                      return false;
                    })
      .has_value();
}

// One TLS handshake to 127.0.0.1:port with openssl s_client; `creds` are its extra arguments.
void handshake(uint16_t port, std::vector<std::string> creds) {
  creds.insert(creds.begin(), {"s_client", "-connect", "127.0.0.1:" + std::to_string(port)});
  kv::test::run_program("/usr/bin/openssl", creds, 5000ms, std::string{});
}

// What curl got from the HTTP API: its exit code, the status (0 when nothing came), and the
// headers and body as `-i` prints them.
struct curl_reply {
  int exit_code = -1;
  int status = 0;
  std::string text;
  std::string err;
};

// One request to the HTTP API on 127.0.0.1:port through curl; `args` are curl's extra arguments
// (credentials, method, data).
curl_reply curl(uint16_t port, const std::string& path, std::vector<std::string> args,
                const std::string& scheme = "https") {
  std::vector<std::string> all{"-sS", "-i", "--max-time", "5", "-w", "\n%{http_code}"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(scheme + "://127.0.0.1:" + std::to_string(port) + path);
  auto r = kv::test::run_program("/usr/bin/curl", all, 10000ms);
  curl_reply out;
  out.exit_code = r.exit_code;
  out.err = r.err;
  auto last = r.out.rfind('\n');
  if (last != std::string::npos) {
    out.status = std::atoi(r.out.c_str() + last + 1);
    out.text = r.out.substr(0, last);
  }
  return out;
}

// A plain (not TLS) connection that sends a few bytes.
void plain_bytes(uint16_t port) {
  int fd = kv::test::connect_loopback(port);
  REQUIRE(fd >= 0);
  const char bytes[] = "GET / HTTP/1.0\r\n\r\n";
  static_cast<void>(::write(fd, bytes, sizeof bytes - 1));  // ignored: the node may close first
  std::this_thread::sleep_for(200ms);
  ::close(fd);
}

}  // namespace

TEST_CASE("three nodes with TLS and an ACL replicate, and serve each principal what it may do",
          "[integration][security]") {
  kv::test::temp_dir dir;
  pki p{dir.str()};
  admin_by_default admin{p};
  cluster c{dir.str(), 3, p.node_flags()};
  for (auto& id : {"n1", "n2", "n3"})
    REQUIRE(wait_until(10s, [&] {
      auto states = member_states(c.at(id));
      return states["n1"] == "up" && states["n2"] == "up" && states["n3"] == "up";
    }));

  // Membership changes are audited with the member that told, under its certificate.
  CHECK(audited(c.at("n1"), {"\"event\":\"member_learned\"", "\"member\":\"n2\""}));
  CHECK(audited(c.at("n1"), {"\"event\":\"member_learned\"", "\"member\":\"n3\""}));

  // Written through n1 on all three replicas over the peers' TLS, read through n3.
  auto put = kvctl_as(p, "app", c.at("n1"), {"put", "--w", "3", "k", "v1"});
  INFO(describe(put));
  REQUIRE(put.exit_code == 0);
  auto got = kvctl_as(p, "reader", c.at("n3"), {"get", "--r", "3", "k"});
  INFO(describe(got));
  CHECK(got.exit_code == 0);
  CHECK(got.out.find("v1") != std::string::npos);

  SECTION(
      "a read-only principal cannot write, and a writer of one namespace cannot write another") {
    auto denied = kvctl_as(p, "reader", c.at("n1"), {"put", "k", "v2"});
    CHECK(denied.exit_code == 6);
    CHECK(denied.first_err_line().find("PERMISSION_DENIED") == 0);
    CHECK(denied.err.find("lacks write in namespace \"default\"") != std::string::npos);
    CHECK(audited(c.at("n1"), {"\"event\":\"denied\"", "\"principal\":\"reader\"", "\"put\""}));
    CHECK(kvctl_as(p, "app", c.at("n1"), {"put", "--ns", "a", "k", "va"}).exit_code == 0);
    auto other_ns = kvctl_as(p, "app", c.at("n1"), {"put", "--ns", "b", "k", "vb"});
    CHECK(other_ns.exit_code == 6);
    CHECK(other_ns.err.find("lacks write in namespace \"b\"") != std::string::npos);
    CHECK(kvctl_as(p, "other", c.at("n1"), {"put", "--ns", "b", "k", "vb"}).exit_code == 0);
    CHECK(kvctl_as(p, "other", c.at("n1"), {"get", "k"}).exit_code == 6);  // no read of default
  }

  SECTION("a token stands for its principal; no credentials, or an unknown token, is refused") {
    auto token = kvctl(c.at("n2"), {"--ca", p.ca(), "--token", "app-token", "put", "t", "x"});
    INFO(describe(token));
    CHECK(token.exit_code == 0);
    auto unknown = kvctl(c.at("n2"), {"--ca", p.ca(), "--token", "guess", "put", "t", "x"});
    CHECK(unknown.exit_code == 6);
    CHECK(unknown.first_err_line().find("UNAUTHENTICATED") == 0);
    auto none = kvctl(c.at("n2"), {"--ca", p.ca(), "get", "t"});
    CHECK(none.exit_code == 6);
    CHECK(audited(c.at("n2"), {"\"event\":\"auth_failed\"", "not known to this node's ACL"}));
  }

  SECTION("operator verbs need the admin role; each refusal and each verb is audited") {
    auto& n1 = c.at("n1");
    auto refused = kvctl_as(p, "app", n1, {"--admin", n1.admin_address(), "hints"});
    CHECK(refused.exit_code == 6);
    CHECK(refused.err.find("lacks the admin role") != std::string::npos);
    CHECK(audited(n1, {"\"event\":\"admin_verb\"", "\"principal\":\"app\"", "\"verb\":\"hints\"",
                       "\"outcome\":\"denied\""}));
    CHECK(kvctl_as(p, "app", n1, {"status"}).exit_code == 6);  // status needs monitor
    CHECK(kvctl_as(p, "reader", n1, {"status"}).exit_code == 0);
    auto served = kvctl_as(p, "admin", n1, {"--admin", n1.admin_address(), "hints"});
    INFO(describe(served));
    CHECK(served.exit_code == 0);
    CHECK(audited(n1, {"\"event\":\"admin_verb\"", "\"principal\":\"admin\"", "\"verb\":\"hints\"",
                       "\"outcome\":\"served\""}));
    // fail-actor needs --chaos, even for the admin.
    auto fail = kvctl_as(p, "admin", n1, {"--admin", n1.admin_address(), "fail-actor", "gossip"});
    CHECK(fail.exit_code == 6);
    CHECK(fail.err.find("--chaos") != std::string::npos);
  }

  SECTION("a reloaded ACL takes effect; a bad one leaves the one in force") {
    auto& n1 = c.at("n1");
    CHECK(kvctl_as(p, "reader", n1, {"put", "r", "1"}).exit_code == 6);
    p.write_acl("[principal.reader]\nread = [\"*\"]\nwrite = [\"default\"]\n");
    REQUIRE(n1.proc().signal(SIGHUP));
    CHECK(wait_until(5s, [&] {
      return kvctl_as(p, "reader", n1, {"put", "r", "1"}).exit_code == 0;
    }));
    CHECK(kvctl_as(p, "app", n1, {"get", "r"}).exit_code == 6);  // app is gone from the ACL
    CHECK(audited(n1, {"\"event\":\"acl_reload\"", "\"outcome\":\"reloaded\""}));
    p.write_acl("[principal.reader]\nwrit = [\"default\"]\n");
    REQUIRE(n1.proc().signal(SIGHUP));
    CHECK(audited(n1, {"\"event\":\"acl_reload\"", "\"outcome\":\"failed\"", "writ"}));
    CHECK(kvctl_as(p, "reader", n1, {"put", "r", "2"}).exit_code == 0);
  }

  SECTION("every listener refuses plain bytes and foreign, expired or wrong-kind certificates") {
    auto& n2 = c.at("n2");
    struct listener {
      const char* door;
      uint16_t port;
      std::string right_kind;  // a certificate of the kind this listener takes
      std::string wrong_kind;
    };
    std::vector<listener> listeners{
        {"client", n2.port(), "app", "n3"},
        {"admin", static_cast<uint16_t>(n2.port() + 200), "admin", "n3"},
        {"peer", static_cast<uint16_t>(n2.port() + 100), "n3", "app"}};
    for (auto& l : listeners) {
      INFO(l.door << " listener");
      std::string door = std::string{"\"door\":\""} + l.door + "\"";
      plain_bytes(l.port);
      CHECK(audited(n2, {"connection_refused", door, "TLS: http request"}));
      handshake(l.port, {"-CAfile", p.ca(), "-cert", p.foreign + "/admin.pem", "-key",
                         p.foreign + "/admin.key"});
      CHECK(audited(n2, {"connection_refused", door, "unable to get local issuer certificate"}));
      handshake(l.port, {"-CAfile", p.ca(), "-cert", p.dir + "/expired.pem", "-key", p.key("app")});
      CHECK(audited(n2, {"connection_refused", door, "certificate has expired"}));
      handshake(l.port,
                {"-CAfile", p.ca(), "-cert", p.pem(l.wrong_kind), "-key", p.key(l.wrong_kind)});
      CHECK(audited(n2, {"connection_refused", door, "certificate of the wrong kind"}));
      if (std::string{l.door} == "peer") {  // clients may come with a token instead
        handshake(l.port, {"-CAfile", p.ca()});
        CHECK(audited(n2, {"connection_refused", door, "did not return a certificate"}));
      }
    }
    // And the node serves on.
    auto after = kvctl_as(p, "reader", n2, {"get", "--r", "3", "k"});
    INFO(describe(after));
    CHECK(after.exit_code == 0);
    CHECK(after.out.find("v1") != std::string::npos);
  }

  SECTION("a node without the cluster's certificate cannot join") {
    auto seeds = c.seeds();
    // No TLS at all; a certificate of another CA; the cluster's certificate of another member.
    std::vector<std::vector<std::string>> rivals{
        {"--seeds", seeds},
        {"--seeds", seeds, "--tls-cert", p.foreign + "/n4.pem", "--tls-key", p.foreign + "/n4.key",
         "--tls-ca", p.foreign + "/ca.pem", "--acl", p.acl},
        {"--seeds", seeds, "--tls-cert", p.pem("n1"), "--tls-key", p.key("n1"), "--tls-ca", p.ca(),
         "--acl", p.acl}};
    for (auto& flags : rivals) {
      kv::test::temp_dir rival_dir;
      node n4{rival_dir.str(), "n4", kv::test::free_port(), flags,
              kv::test::start_mode::launch_only};
      std::this_thread::sleep_for(3s);
      for (auto& id : {"n1", "n2", "n3"}) {
        INFO(id << " with a rival started with " << flags.size() << " flags");
        CHECK(member_states(c.at(id)).count("n4") == 0);
      }
      n4.proc().signal(SIGKILL);
    }
    CHECK(audited(c.at("n1"), {"connection_refused", "\"door\":\"peer\""}));
    auto ok = kvctl_as(p, "app", c.at("n1"), {"put", "--w", "3", "after", "x"});
    INFO(describe(ok));
    CHECK(ok.exit_code == 0);
  }
}

TEST_CASE("the HTTP API speaks TLS, and serves each principal what the ACL grants",
          "[integration][security][http]") {
  kv::test::temp_dir dir;
  pki p{dir.str()};
  auto flags = p.node_flags();
  for (auto& f : flags)
    if (auto at = f.find("{id}"); at != std::string::npos) f.replace(at, 4, "n1");
  auto http_port = kv::test::free_port();
  flags.insert(flags.end(), {"--audit-data", "--http", "127.0.0.1:" + std::to_string(http_port)});
  node n{dir.str(), std::move(flags)};
  // curl's arguments for client certificate `who`, then `more`.
  auto as = [&](const std::string& who, std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--cacert", p.ca(), "--cert", p.pem(who), "--key", p.key(who)};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto shown = [](const curl_reply& r) {
    return "exit " + std::to_string(r.exit_code) + ", status " + std::to_string(r.status) +
           ", stderr " + r.err + ", reply " + r.text;
  };

  auto put = curl(http_port, "/v1/kv/default/k", as("app", {"-X", "PUT", "--data-binary", "v1"}));
  INFO(shown(put));
  CHECK(put.status == 204);
  CHECK(audited(n, {"\"event\":\"data\"", "\"principal\":\"app\"", "\"call\":\"put\"",
                    "\"ns\":\"default\""}));
  auto got = curl(http_port, "/v1/kv/default/k", as("reader"));
  INFO(shown(got));
  CHECK(got.status == 200);
  CHECK(got.text.find("\r\n\r\nv1") != std::string::npos);

  SECTION("plain HTTP and certificates of the wrong kind are refused and audited") {
    auto plain = curl(http_port, "/health", {}, "http");
    INFO(shown(plain));
    CHECK(plain.exit_code != 0);
    CHECK(plain.status == 0);
    CHECK(audited(n, {"connection_refused", "\"door\":\"http\"", "http request"}));
    auto node_cert = curl(http_port, "/v1/kv/default/k", as("n2"));
    CHECK(node_cert.exit_code != 0);
    CHECK(audited(n, {"connection_refused", "\"door\":\"http\"", "certificate of the wrong kind"}));
    CHECK(n.wait_for_log("ConnectionRefused door=http", 5000ms));
    CHECK(curl(http_port, "/v1/kv/default/k", as("reader")).status == 200);  // it serves on
  }

  SECTION("a reader may not write: 403, with the right it lacks, audited") {
    auto denied =
        curl(http_port, "/v1/kv/default/k", as("reader", {"-X", "PUT", "--data-binary", "v2"}));
    INFO(shown(denied));
    CHECK(denied.status == 403);
    CHECK(denied.text.find("\"code\":\"PERMISSION_DENIED\"") != std::string::npos);
    CHECK(denied.text.find(
              R"(principal \"reader\" may not put: it lacks write in namespace \"default\")") !=
          std::string::npos);
    CHECK(audited(n, {"\"event\":\"denied\"", "\"door\":\"http\"", "\"principal\":\"reader\"",
                      "\"call\":\"put\""}));
    auto other = curl(http_port, "/v1/kv/a/k", as("other", {"-X", "DELETE"}));
    CHECK(other.status == 403);
    CHECK(other.text.find(R"(lacks write in namespace \"a\")") != std::string::npos);
    CHECK(curl(http_port, "/v1/kv/default/k", as("reader")).text.find("\r\n\r\nv1") !=
          std::string::npos);
  }

  SECTION("no credentials, or an unknown token, answer 401; a known token is its principal") {
    auto none = curl(http_port, "/v1/kv/default/k", {"--cacert", p.ca()});
    INFO(shown(none));
    CHECK(none.status == 401);
    CHECK(none.text.find("\"code\":\"UNAUTHENTICATED\"") != std::string::npos);
    CHECK(none.text.find("WWW-Authenticate: Bearer\r\n") != std::string::npos);
    CHECK(audited(n, {"\"event\":\"auth_failed\"", "\"door\":\"http\"", "no credentials"}));
    auto unknown = curl(http_port, "/v1/kv/default/k",
                        {"--cacert", p.ca(), "-H", "Authorization: Bearer guess"});
    CHECK(unknown.status == 401);
    CHECK(audited(
        n, {"\"event\":\"auth_failed\"", "\"door\":\"http\"", "not known to this node's ACL"}));
    auto token = curl(http_port, "/v1/kv/a/t",
                      {"--cacert", p.ca(), "-H", "Authorization: Bearer app-token", "-X", "PUT",
                       "--data-binary", "by token"});
    INFO(shown(token));
    CHECK(token.status == 204);
    auto read = curl(http_port, "/v1/kv/a/t", as("reader"));
    CHECK(read.text.find("\r\n\r\nby token") != std::string::npos);
    // The token wins over the certificate, as in a client hello: reader's token-less
    // certificate with app's token writes as app.
    auto both = as("reader", {"-H", "Authorization: Bearer app-token", "-X", "DELETE"});
    CHECK(curl(http_port, "/v1/kv/a/t", both).status == 204);
  }

  SECTION("the probes need no credentials; status, ring and metrics need the monitor role") {
    auto anonymous = std::vector<std::string>{"--cacert", p.ca()};
    auto health = curl(http_port, "/health", anonymous);
    INFO(shown(health));
    CHECK(health.status == 200);
    CHECK(curl(http_port, "/ready", anonymous).status == 200);
    CHECK(curl(http_port, "/metrics", anonymous).status == 401);
    auto metrics = curl(http_port, "/metrics", as("reader"));
    CHECK(metrics.status == 200);
    CHECK(metrics.text.find("ringkv_http_responses_total") != std::string::npos);
    auto refused = curl(http_port, "/metrics", as("app"));
    CHECK(refused.status == 403);
    CHECK(refused.text.find(R"(principal \"app\" may not metrics: it lacks the monitor role)") !=
          std::string::npos);
    CHECK(curl(http_port, "/v1/status", as("app")).status == 403);
    CHECK(curl(http_port, "/v1/ring", as("reader")).status == 200);
    CHECK(audited(n, {"\"event\":\"denied\"", "\"door\":\"http\"", "\"principal\":\"app\"",
                      "\"call\":\"metrics\""}));
  }

  SECTION("a connection that never finishes its handshake is closed; others are served") {
    int fd = kv::test::connect_loopback(http_port);
    REQUIRE(fd >= 0);
    CHECK(curl(http_port, "/v1/kv/default/k", as("reader")).status == 200);
    timeval bound{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
    auto start = std::chrono::steady_clock::now();
    char byte;
    CHECK(::recv(fd, &byte, 1, 0) == 0);  // closed by the node, not by the 10 s bound
    CHECK(std::chrono::steady_clock::now() - start < 8s);
    ::close(fd);
    CHECK(n.wait_for_log("no TLS handshake within", 5000ms));
  }
}
