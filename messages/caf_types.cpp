#include "messages/caf_types.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <atomic>
#include <climits>

#include "caf/actor_system_config.hpp"
#include "messages/errc.hpp"
#include "messages/message_list.hpp"
#include "messages/wire_limits.hpp"

namespace kv {
namespace {

std::atomic<uint64_t> refused{0};

caf::error refuse(const char* why) {
  refused.fetch_add(1, std::memory_order_relaxed);
  return caf::make_error(caf::sec::invalid_argument, why);
}

template <class... Ts>
void add_all(caf::actor_system_config& cfg, std::tuple<Ts...>*) {
  (cfg.add_message_type<Ts>(Ts::descriptor()->full_name()), ...);
}

}  // namespace

bool within_field_limit(std::string_view bytes, size_t limit) {
  namespace pb = google::protobuf;
  if (bytes.size() > INT_MAX) return false;
  pb::io::CodedInputStream in{reinterpret_cast<const uint8_t*>(bytes.data()),
                              static_cast<int>(bytes.size())};
  for (size_t fields = 0;; ++fields) {
    auto tag = in.ReadTag();
    // A zero tag is the end of the bytes, or a malformed one.
    if (tag == 0) return in.ConsumedEntireMessage();
    if (fields == limit) return false;
    if (!pb::internal::WireFormatLite::SkipField(&in, tag)) return false;
  }
}

caf::error parse_untrusted(google::protobuf::MessageLite& x, const std::string& bytes, bool batch) {
  if (batch && !within_field_limit(bytes, max_batch_items))
    return refuse("a batch of more than max_batch_items items, or malformed");
  if (!x.ParseFromString(bytes)) return refuse("malformed protobuf");
  return caf::none;
}

uint64_t messages_refused() {
  return refused.load(std::memory_order_relaxed);
}

void register_types(caf::actor_system_config& cfg) {
  add_all(cfg, static_cast<message_list*>(nullptr));
  cfg.add_error_category(caf::atom("kv"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string result{to_string(static_cast<errc>(code))};
                           if (ctx.match_elements<std::string>()) {
                             result += ' ';
                             result += ctx.get_as<std::string>(0);
                           }
                           return result;
                         });
}

}  // namespace kv
