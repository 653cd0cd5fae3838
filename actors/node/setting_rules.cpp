// The kinds of value a setting takes: see actors/node/setting_rules.hpp.
#include "actors/node/setting_rules.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "cluster/member_wire.hpp"
#include "messages/errc.hpp"

namespace kv::actors::rules {

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

std::string clip(std::string_view text) {
  return text.size() <= 60 ? std::string{text} : std::string{text.substr(0, 57)} + "...";
}

std::string where(const toml::source_region& src) {
  std::string result = "config file ";
  if (src.path) result += *src.path;
  if (src.begin) result += ":" + std::to_string(src.begin.line);
  return result + ": ";
}

std::string describe(const toml::node& v) {
  std::ostringstream out;
  if (auto s = v.as_string())
    out << "string \"" << clip(s->get()) << '"';
  else if (auto i = v.as_integer())
    out << "integer " << *i;
  else if (auto f = v.as_floating_point())
    out << "float " << *f;
  else if (auto b = v.as_boolean())
    out << "boolean " << *b;
  else if (v.is_array())
    out << "an array";
  else if (v.is_table())
    out << "a table";
  else
    out << "a date or time";
  return out.str();
}

bool decode(const toml::node& v, int64_t& out) {
  auto i = v.value_exact<int64_t>();
  if (i) out = *i;
  return i.has_value();
}

bool decode(const toml::node& v, double& out) {
  auto d = v.is_number() ? v.value<double>() : std::nullopt;
  if (d) out = *d;
  return d.has_value();
}

bool decode(const toml::node& v, bool& out) {
  auto b = v.value_exact<bool>();
  if (b) out = *b;
  return b.has_value();
}

bool decode(const toml::node& v, std::string& out) {
  auto s = v.value_exact<std::string>();
  if (s) out = *s;
  return s.has_value();
}

bool decode(const toml::node& v, std::vector<std::string>& out) {
  auto arr = v.as_array();
  if (!arr) return false;
  out.clear();
  for (auto& item : *arr)
    if (!decode(item, out.emplace_back())) return false;
  return true;
}

namespace {

template <class T>
bool decode_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

bool decode(std::string_view text, int64_t& out) {
  return decode_number(text, out);
}

bool decode(std::string_view text, double& out) {
  return decode_number(text, out);
}

bool decode(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes") return out = true, true;
  if (text == "false" || text == "0" || text == "no") return out = false, true;
  return false;
}

bool decode(std::string_view text, std::string& out) {
  out = std::string{text};
  return true;
}

bool decode(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  std::stringstream list{std::string{text}};
  for (std::string item; std::getline(list, item, ',');)
    if (!item.empty()) out.push_back(item);
  return true;
}

std::string show(int64_t v) {
  return std::to_string(v);
}

std::string show(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string show(bool v) {
  return v ? "true" : "false";
}

std::string show(const std::string& v) {
  return v;
}

std::string show(const std::vector<std::string>& v) {
  std::string result;
  for (auto& item : v) result += (result.empty() ? "" : ",") + item;
  return result;
}

std::string range(const std::string& what, int64_t lo, int64_t hi, const std::string& unit) {
  return what + " from " + std::to_string(lo) + " to " + std::to_string(hi) +
         (unit.empty() ? "" : " (" + unit + ")");
}

std::function<bool(const int64_t&)> within(int64_t lo, int64_t hi) {
  return [lo, hi](const int64_t& v) { return lo <= v && v <= hi; };
}

std::shared_ptr<const field<node_config>> text(std::string node_config::*m,
                                               std::function<bool(const std::string&)> accepts,
                                               std::string expected) {
  return scalar<node_config, std::string>({"TEXT", std::move(expected), std::move(accepts),
                                           [m](node_config& c, const std::string& v) { c.*m = v; },
                                           [m](const node_config& c) { return c.*m; }});
}

bool valid_node_id(const std::string& id) {
  return !cluster::check_member_id(id);
}

bool valid_place(const std::string& name) {
  return !cluster::check_place("place", name);
}

std::shared_ptr<const field<node_config>> choice(std::string node_config::*m,
                                                 const std::vector<std::string>& options) {
  std::string metavar, expected = "one of";
  for (auto& o : options) {
    metavar += (metavar.empty() ? "" : "|") + o;
    expected += (&o == &options.front() ? " " : ", ") + o;
  }
  auto r = rule<node_config, std::string>{metavar, expected,
                                          [options](const std::string& v) {
                                            return std::find(options.begin(), options.end(), v) !=
                                                   options.end();
                                          },
                                          [m](node_config& c, const std::string& v) { c.*m = v; },
                                          [m](const node_config& c) { return c.*m; }};
  return scalar(r);
}

std::shared_ptr<const field<node_config>> sync_mode() {
  return scalar<node_config, std::string>(
      {"always|none", "always or none",
       [](const std::string& v) { return v == "always" || v == "none"; },
       [](node_config& c, const std::string& v) { c.sync = v == "always"; },
       [](const node_config& c) { return std::string{c.sync ? "always" : "none"}; }});
}

std::shared_ptr<const field<node_config>> address(host_port node_config::*m) {
  return scalar<node_config, std::string>(
      {"HOST:PORT", "HOST:PORT",
       [](const std::string& v) { return static_cast<bool>(parse_host_port(v)); },
       [m](node_config& c, const std::string& v) { c.*m = *parse_host_port(v); },
       [m](const node_config& c) { return to_string(c.*m); }});
}

std::shared_ptr<const field<node_config>> addresses(std::vector<host_port> node_config::*m) {
  return scalar<node_config, std::vector<std::string>>(
      {"HOST:PORT,...", "HOST:PORT addresses (in the file, an array of strings)",
       [](const std::vector<std::string>& v) {
         return std::all_of(v.begin(), v.end(), [](auto& a) { return bool(parse_host_port(a)); });
       },
       [m](node_config& c, const std::vector<std::string>& v) {
         (c.*m).clear();
         for (auto& a : v) (c.*m).push_back(*parse_host_port(a));
       },
       [m](const node_config& c) {
         std::vector<std::string> result;
         for (auto& hp : c.*m) result.push_back(to_string(hp));
         return result;
       }});
}

}  // namespace kv::actors::rules
