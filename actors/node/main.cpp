// kvnode: one ringkv node. Flags override the config file, which overrides the defaults; both are
// read through the settings table (actors/node/settings.hpp), which also writes --help.
#include <sys/stat.h>

#include <iostream>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>

#include "actors/node/node.hpp"
#include "actors/node/settings.hpp"
#include "messages/errc.hpp"

namespace {

using kv::actors::node_setting;

// Flags as given, by flag name; unset ones leave the file's or the default value alone.
struct flags {
  std::optional<std::string> config;
  std::map<std::string, std::optional<std::string>> once;
  std::map<std::string, std::vector<std::string>> repeated;
  std::map<std::string, bool> switches;  // true/false settings: the flag alone means true
};

// A setting's help text and its default: "(default 1)", or "(required)" without one.
std::string help_of(const node_setting& s) {
  auto tail = s.default_text.empty() ? "(required)" : "(default " + s.default_text + ")";
  auto last_line = s.help.size() - (s.help.rfind('\n') + 1);
  return s.help + (last_line + tail.size() > 76 ? "\n" : " ") + tail;
}

// The end of --help: the keys a config file can set that have no flag.
std::string file_only_keys() {
  std::string text = "The config file takes every flag's key (docs/configuration.md) and these:";
  size_t line = text.size();
  for (auto& s : kv::actors::node_table()) {
    if (!s.flag.empty()) continue;
    if (line + s.key.size() > 76) {
      text += "\n";
      line = 0;
    }
    text += " " + s.key;
    line += s.key.size() + 1;
  }
  return text;
}

void add_options(CLI::App& app, flags& f) {
  app.add_option("--config", f.config, "TOML configuration file (flags override it)")
      ->type_name("FILE");
  for (auto& s : kv::actors::node_table()) {
    if (s.flag.empty()) continue;
    if (metavar(s) == "BOOL") {
      app.add_flag(s.flag, f.switches[s.flag], help_of(s));
      continue;
    }
    auto* opt = repeatable(s) ? app.add_option(s.flag, f.repeated[s.flag], help_of(s))
                              : app.add_option(s.flag, f.once[s.flag], help_of(s));
    opt->type_name(metavar(s));
  }
  app.footer(file_only_keys());
}

// The flags given, in the order of the table.
std::vector<kv::actors::given_flag> given(const flags& f) {
  std::vector<kv::actors::given_flag> result;
  for (auto& s : kv::actors::node_table()) {
    if (s.flag.empty()) continue;
    if (metavar(s) == "BOOL") {
      if (f.switches.at(s.flag)) result.push_back({s.flag, "true"});
    } else if (repeatable(s))
      for (auto& text : f.repeated.at(s.flag)) result.push_back({s.flag, text});
    else if (auto& text = f.once.at(s.flag))
      result.push_back({s.flag, *text});
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kvnode: one node of a ringkv cluster. Prints 'ready <id> <host:port>' on stdout\n"
      "once it serves requests; logs go to stderr. Stop it with SIGTERM or SIGINT.\n"
      "Exit codes: 0 clean stop, 1 could not start, 2 bad usage or configuration (an\n"
      "unknown or mistyped key, a bad flag value), 3 node sick (too many actor restarts)."};
  flags f;
  add_options(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kv::actors::exit_usage;
  }
  // Every file the node creates (data, logs it is told to write) is its user's alone.
  ::umask(077);
  auto cfg = kv::actors::configure(f.config, given(f));
  if (!cfg) {
    std::cerr << "kvnode: " << kv::describe(cfg.error()) << "\n";
    return kv::actors::exit_usage;
  }
  return kv::actors::run_node(std::move(*cfg));
}
