#include "actors/node/log.hpp"

#include <google/protobuf/stubs/logging.h>

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace kv::log {
namespace {

std::mutex mtx;
spdlog::level::level_enum current = spdlog::level::info;

std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink() {
  static auto instance = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return instance;
}

// Protobuf writes its own lines to stderr, one for every string field that is not UTF-8 in a
// message it parses: a client or a peer could fill the log with them, past the port's budget of
// lines. The message is refused and counted (ringkv_messages_refused_total), so its line goes to
// the "protobuf" logger at debug level, shown only when asked for.
void protobuf_line(google::protobuf::LogLevel level, const char* file, int line,
                   const std::string& message) {
  auto shown =
      level >= google::protobuf::LOGLEVEL_FATAL ? spdlog::level::err : spdlog::level::debug;
  get("protobuf")->log(shown, "ProtobufLog at={}:{} text=\"{}\"", file, line, message);
}

}  // namespace

void init(const std::string& level) {
  static_cast<void>(google::protobuf::SetLogHandler(&protobuf_line));  // ignored: the default
  std::lock_guard<std::mutex> guard{mtx};
  current = spdlog::level::from_str(level);
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(current); });
}

std::shared_ptr<spdlog::logger> get(const std::string& role) {
  std::lock_guard<std::mutex> guard{mtx};
  if (auto existing = spdlog::get(role)) return existing;
  auto result = std::make_shared<spdlog::logger>(role, sink());
  result->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n %v");
  result->set_level(current);
  result->flush_on(spdlog::level::warn);
  spdlog::register_logger(result);
  return result;
}

}  // namespace kv::log
