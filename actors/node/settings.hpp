// actors/node/settings.hpp
// The table of kvnode's settings: each setting's TOML key, flag, default, help text and the rule
// that reads and checks its value, written once. load_toml and configure (actors/node/config.hpp)
// read files and flags through it strictly; actors/node/main.cpp makes kvnode's flags and --help of
// it; a test holds docs/configuration.md to it. Adding a setting is one entry in settings.cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/node/config.hpp"

namespace kv::actors {

// How a setting's value is read (from TOML or from a flag's text), checked and shown; it lives
// in actors/node/settings.cpp, so that only that file sees toml++.
template <class Config>
struct field;

template <class Config>
struct setting {
  std::string key;           // TOML key; for a namespace, inside [namespaces.NAME]
  std::string flag;          // "--weight"; empty: file only
  std::string help;          // for --help and the docs; lines separated by '\n'
  std::string default_text;  // the default as --help and the docs show it
  std::shared_ptr<const field<Config>> how;
};

using node_setting = setting<node_config>;
using namespace_setting = setting<cluster::namespace_config>;

// Every setting of a node, in the order flags are applied and listed by --help.
const std::vector<node_setting>& node_table();

// Every key of a namespace: in [namespaces.NAME], and in --namespace NAME:KEY=VALUE,...
const std::vector<namespace_setting>& namespace_table();

// What a setting takes, for --help: "INT", "MS", "HOST:PORT", "always|none", ...
const std::string& metavar(const node_setting& s);

// What a setting takes, in words, as errors and the docs say it: "an integer from 1 to 1000".
template <class Config>
const std::string& expected(const setting<Config>& s);

// True for the flag that may be given more than once (--namespace).
bool repeatable(const node_setting& s);

// Sets `s` from the text of its flag; the error names the flag and what it expects.
[[nodiscard]] caf::error apply_flag(const node_setting& s, std::string_view text, node_config& cfg);

// Checks the value `cfg` holds for `s`; the error names the key, the flag and what it expects.
template <class Config>
[[nodiscard]] caf::error check(const setting<Config>& s, const Config& cfg);

}  // namespace kv::actors
