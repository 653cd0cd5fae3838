#include "actors/node/acl.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <toml++/toml.h>

#include "messages/errc.hpp"

namespace kv::actors {
namespace {

constexpr size_t max_acl_bytes = size_t{1} << 20;
constexpr size_t max_name_bytes = 128;
constexpr std::string_view digest_prefix = "sha256:";

caf::error invalid(std::string_view source, const std::string& what) {
  return make_error(errc::invalid_argument, "ACL " + std::string{source} + ": " + what);
}

// Principal names come from certificates (CN) and from the file: letters, digits and the
// punctuation of user and host names, so that they print safely in logs and the audit trail.
bool valid_principal(std::string_view name) {
  if (name.empty() || name.size() > max_name_bytes) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && c != '@') return false;
  return true;
}

bool valid_namespace(std::string_view ns) {
  if (ns.empty() || ns.size() > max_name_bytes) return false;
  for (unsigned char c : ns)
    if (c < 0x21 || c > 0x7e) return false;  // printable ASCII, no spaces
  return true;
}

bool valid_digest(std::string_view text) {
  if (text.substr(0, digest_prefix.size()) != digest_prefix) return false;
  auto hex = text.substr(digest_prefix.size());
  return hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

caf::error read_names(const toml::node& value, const std::string& where, std::string_view source,
                      std::set<std::string>& out, bool (*valid)(std::string_view),
                      const char* what) {
  auto* list = value.as_array();
  if (!list) return invalid(source, where + ": expected a list of strings");
  for (auto& item : *list) {
    auto text = item.value<std::string>();
    if (!text || !valid(*text))
      return invalid(source,
                     where + ": '" + (text ? text->substr(0, 64) : "?") + "' is not " + what);
    out.insert(*text);
  }
  return caf::none;
}

caf::error read_flag(const toml::node& value, const std::string& where, std::string_view source,
                     bool& out) {
  auto* flag = value.as_boolean();
  if (!flag) return invalid(source, where + ": expected true or false");
  out = flag->get();
  return caf::none;
}

// A principal's token digests, each naming one principal only.
caf::error read_tokens(const toml::node& value, const std::string& where, std::string_view source,
                       const std::string& principal,
                       std::map<std::string, std::string, std::less<>>& owners) {
  std::set<std::string> digests;
  if (auto err = read_names(value, where, source, digests, valid_digest,
                            "\"sha256:<64 lowercase hex digits>\""))
    return err;
  for (auto& d : digests) {
    auto [at, added] = owners.emplace(d, principal);
    if (!added)
      return invalid(source, where + ": this token already names principal " + at->second);
  }
  return caf::none;
}

}  // namespace

const char* to_string(right r) {
  switch (r) {
    case right::read:
      return "read";
    case right::write:
      return "write";
    case right::monitor:
      return "monitor";
    case right::admin:
      return "admin";
  }
  return "?";
}

std::string denial_text(std::string_view principal, std::string_view call, right r,
                        std::string_view ns) {
  auto text = "principal \"" + std::string{principal} + "\" may not " + std::string{call};
  if (r == right::read || r == right::write)
    return text + ": it lacks " + to_string(r) + " in namespace \"" + std::string{ns} + "\"";
  return text + ": it lacks the " + to_string(r) + " role";
}

std::string acl::token_digest(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out{digest_prefix};
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

caf::expected<acl> acl::parse(std::string_view text, std::string_view source) {
  toml::table doc;
  try {
    doc = toml::parse(text, std::string{source});
  } catch (const toml::parse_error& e) {
    auto line = e.source().begin ? ":" + std::to_string(e.source().begin.line) : std::string{};
    return invalid(std::string{source} + line, std::string{e.description()});
  }
  acl result;
  for (auto& [key, value] : doc) {
    if (key != "principal")
      return invalid(source,
                     "unknown key '" + std::string{key.str()} + "' (only [principal.NAME])");
  }
  auto* principals = doc["principal"].as_table();
  if (doc.contains("principal") && !principals)
    return invalid(source, "'principal' must be a table of [principal.NAME] tables");
  if (!principals) return result;
  for (auto& [name_key, entry] : *principals) {
    std::string name{name_key.str()};
    if (!valid_principal(name))
      return invalid(source, "principal '" + name.substr(0, 64) +
                                 "': a name is 1 to 128 letters, digits, '-', '_', '.' or '@'");
    auto* table = entry.as_table();
    if (!table) return invalid(source, "principal." + name + " must be a table");
    principal_rights rights;
    for (auto& [key_key, value] : *table) {
      std::string key{key_key.str()};
      auto where = "principal." + name + "." + key;
      caf::error err;
      if (key == "read")
        err = read_names(value, where, source, rights.read, valid_namespace,
                         "a namespace name (or \"*\")");
      else if (key == "write")
        err = read_names(value, where, source, rights.write, valid_namespace,
                         "a namespace name (or \"*\")");
      else if (key == "monitor")
        err = read_flag(value, where, source, rights.monitor);
      else if (key == "admin")
        err = read_flag(value, where, source, rights.admin);
      else if (key == "tokens")
        err = read_tokens(value, where, source, name, result.token_owners_);
      else
        err = invalid(source, "unknown key '" + where +
                                  "' (read, write, monitor, admin and tokens are known)");
      if (err) return err;
    }
    result.principals_.emplace(std::move(name), std::move(rights));
  }
  return result;
}

caf::expected<acl> acl::load(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return invalid(path, std::string{"cannot read it: "} + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return invalid(path, "not a regular file");
  // At most one byte past the limit is read, even if the file grows after the stat.
  std::ifstream in{path, std::ios::binary};
  std::string content(max_acl_bytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) return invalid(path, "cannot read it");
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > max_acl_bytes) return invalid(path, "larger than 1 MiB");
  return parse(content, path);
}

bool acl::allows(std::string_view principal, right r, std::string_view ns) const {
  auto i = principals_.find(principal);
  if (i == principals_.end()) return false;
  const auto& p = i->second;
  if (p.admin) return true;
  auto in = [ns](const std::set<std::string>& namespaces) {
    return namespaces.count("*") != 0 || namespaces.count(std::string{ns}) != 0;
  };
  switch (r) {
    case right::read:
      return in(p.read);
    case right::write:
      return in(p.write);
    case right::monitor:
      return p.monitor;
    case right::admin:
      return false;
  }
  return false;
}

std::optional<std::string> acl::principal_of_token(std::string_view token) const {
  if (token.empty() || token.size() > max_token_bytes) return std::nullopt;
  auto i = token_owners_.find(token_digest(token));
  if (i == token_owners_.end()) return std::nullopt;
  return i->second;
}

caf::expected<std::string> acl::authenticate(std::string_view token) const {
  if (token.size() > max_token_bytes)
    return make_error(errc::unauthenticated,
                      "a token longer than " + std::to_string(max_token_bytes) + " bytes");
  if (auto owner = principal_of_token(token)) return *owner;
  return make_error(errc::unauthenticated, "the token is not known to this node's ACL");
}

}  // namespace kv::actors
