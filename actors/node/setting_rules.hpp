// actors/node/setting_rules.hpp
// The kinds of value a setting takes (an integer in a range, a power of two, milliseconds, MiB,
// a number, true or false, text, a choice, addresses), each a rule that reads a TOML value and
// a flag's text alike and checks a value held in code. Only actors/node/settings.cpp uses them;
// with actors/node/setting_rules.cpp they are the only files that see toml++.
#pragma once

#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "actors/node/config.hpp"
#include "caf/error.hpp"

namespace kv::actors {

// A setting's rule, made by the functions below; the settings table holds one per setting.
template <class Config>
struct field {
  std::string metavar;   // "INT", for --help
  std::string expected;  // "an integer from 1 to 1000"
  bool repeatable = false;
  // Reads a TOML value; the error names the file, the line and `key` (the key's dotted path).
  std::function<caf::error(const toml::node&, const std::string& key, Config&)> from_toml;
  // Reads a flag's text; the error says what was expected and what came, not which flag.
  std::function<caf::error(std::string_view, Config&)> from_text;
  // The value `cfg` holds, as text, and whether it follows the rule.
  std::function<std::string(const Config&)> show;
  std::function<bool(const Config&)> holds;
};

namespace rules {

constexpr int64_t year_ms = int64_t{365} * 24 * 3600 * 1000;
constexpr int64_t uint32_max = std::numeric_limits<uint32_t>::max();
constexpr int64_t mib_per_tib = int64_t{1} << 20;

// An INVALID_ARGUMENT error: every configuration error is one.
caf::error invalid(std::string text);

// Something a user wrote, cut to a length an error message can carry.
std::string clip(std::string_view text);

// "config file /etc/ringkv/node.toml:7: "
std::string where(const toml::source_region& src);

// A TOML value as an error message shows what came: `string "3"`, `float 1.5`, `an array`.
std::string describe(const toml::node& v);

// Typed TOML values: no conversions, except an integer where a number with a fraction may go.
bool decode(const toml::node& v, int64_t& out);
bool decode(const toml::node& v, double& out);
bool decode(const toml::node& v, bool& out);
bool decode(const toml::node& v, std::string& out);
bool decode(const toml::node& v, std::vector<std::string>& out);

// The text of a flag (or of a --namespace item): the whole of it must parse. A list is
// comma-separated; empty items are skipped, so a trailing comma is harmless.
bool decode(std::string_view text, int64_t& out);
bool decode(std::string_view text, double& out);
bool decode(std::string_view text, bool& out);
bool decode(std::string_view text, std::string& out);
bool decode(std::string_view text, std::vector<std::string>& out);

std::string show(int64_t v);
std::string show(double v);
std::string show(bool v);
std::string show(const std::string& v);
std::string show(const std::vector<std::string>& v);

// "an integer from 1 to 1000 (milliseconds)", and the test that goes with it.
std::string range(const std::string& what, int64_t lo, int64_t hi, const std::string& unit = {});
std::function<bool(const int64_t&)> within(int64_t lo, int64_t hi);

// A setting with one value of type T (as TOML and flags write it) and the rule it follows.
template <class Config, class T>
struct rule {
  std::string metavar;
  std::string expected;
  std::function<bool(const T&)> accepts;
  std::function<void(Config&, const T&)> store;
  std::function<T(const Config&)> load;
};

template <class Config, class T>
std::shared_ptr<const field<Config>> scalar(rule<Config, T> r) {
  auto f = std::make_shared<field<Config>>();
  f->metavar = r.metavar;
  f->expected = r.expected;
  f->from_toml = [r](const toml::node& v, const std::string& key, Config& cfg) {
    T value{};
    if (!decode(v, value) || !r.accepts(value))
      return invalid(where(v.source()) + "key '" + key + "': expected " + r.expected + ", got " +
                     describe(v));
    r.store(cfg, value);
    return caf::error{};
  };
  f->from_text = [r](std::string_view text, Config& cfg) {
    T value{};
    if (!decode(text, value) || !r.accepts(value))
      return invalid("expected " + r.expected + ", got '" + clip(text) + "'");
    r.store(cfg, value);
    return caf::error{};
  };
  f->show = [r](const Config& cfg) { return show(r.load(cfg)); };
  f->holds = [r](const Config& cfg) { return r.accepts(r.load(cfg)); };
  return f;
}

// An unsigned field's value as TOML's signed integers see it; too large to fit is out of range.
template <class T>
int64_t saturated(T v) {
  constexpr auto most = std::numeric_limits<int64_t>::max();
  return static_cast<uint64_t>(v) > static_cast<uint64_t>(most) ? most : static_cast<int64_t>(v);
}

template <class C, class T>
auto integer(T C::*m, int64_t lo, int64_t hi) {
  return scalar<C, int64_t>({"INT", range("an integer", lo, hi), within(lo, hi),
                             [m](C& c, const int64_t& v) { c.*m = static_cast<T>(v); },
                             [m](const C& c) { return saturated(c.*m); }});
}

template <class C>
auto power_of_two(uint32_t C::*m, int64_t hi) {
  auto in_range = within(1, hi);
  return scalar<C, int64_t>(
      {"INT", range("a power of two", 1, hi),
       [in_range](const int64_t& v) { return in_range(v) && (v & (v - 1)) == 0; },
       [m](C& c, const int64_t& v) { c.*m = static_cast<uint32_t>(v); },
       [m](const C& c) { return saturated(c.*m); }});
}

template <class C>
auto millis(milliseconds C::*m, int64_t lo, int64_t hi = year_ms) {
  return scalar<C, int64_t>({"MS", range("an integer", lo, hi, "milliseconds"), within(lo, hi),
                             [m](C& c, const int64_t& v) { c.*m = milliseconds{v}; },
                             [m](const C& c) { return (c.*m).count(); }});
}

// A byte count written in MiB.
template <class C, class T>
auto mebibytes(T C::*m, int64_t hi) {
  return scalar<C, int64_t>({"MIB", range("an integer", 0, hi, "MiB"), within(0, hi),
                             [m](C& c, const int64_t& v) { c.*m = static_cast<T>(v) << 20; },
                             [m](const C& c) { return saturated(c.*m >> 20); }});
}

template <class C>
auto positive(double C::*m, double hi) {
  return scalar<C, double>({"NUMBER", "a number above 0 and at most " + show(hi),
                            [hi](const double& v) { return v > 0 && v <= hi; },
                            [m](C& c, const double& v) { c.*m = v; },
                            [m](const C& c) { return c.*m; }});
}

template <class C>
auto boolean(bool C::*m) {
  return scalar<C, bool>({"BOOL", "true or false", [](const bool&) { return true; },
                          [m](C& c, const bool& v) { c.*m = v; },
                          [m](const C& c) { return c.*m; }});
}

// Kinds of value only node_config has: text (any, or what `accepts` lets through), one of
// `options`, the sync mode (always or none), one address, a list of addresses. A node id is
// 1 to 64 letters, digits, '-' or '_'.
std::shared_ptr<const field<node_config>> text(
    std::string node_config::*m,
    std::function<bool(const std::string&)> accepts = [](const std::string&) { return true; },
    std::string expected = "a string");
std::shared_ptr<const field<node_config>> choice(std::string node_config::*m,
                                                 const std::vector<std::string>& options);
std::shared_ptr<const field<node_config>> sync_mode();
std::shared_ptr<const field<node_config>> address(host_port node_config::*m);
std::shared_ptr<const field<node_config>> addresses(std::vector<host_port> node_config::*m);
bool valid_node_id(const std::string& id);

// A rack or datacenter name as gossip carries it (cluster/member_wire.hpp).
bool valid_place(const std::string& name);

}  // namespace rules
}  // namespace kv::actors
