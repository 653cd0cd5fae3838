#include "actors/log.hpp"

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

}  // namespace

void init(const std::string& level) {
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
