// Unit and actor tests run with the logs off, unless KV_TEST_LOG names a level ("debug").
#include <cstdlib>

#include "actors/node/log.hpp"

namespace {

struct quiet_logs {
  quiet_logs() {
    const char* level = std::getenv("KV_TEST_LOG");
    kv::log::init(level != nullptr ? level : "off");
  }
} quiet;

}  // namespace
