// messages/caf_types.hpp
// The single place where ringkv's messages meet CAF: one generic `inspect` serves every
// protobuf message (serialized bytes inside a CAF frame), and register_types() adds every
// message type under its protobuf full name. Every node, client and test calls
// register_types() on its actor_system_config, so all processes agree on the names.
// Any file that sends protobuf messages through CAF must include this header.
#pragma once

#include <string>
#include <type_traits>

#include <google/protobuf/message.h>

#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/sec.hpp"

namespace kv::msg {

// Found by ADL for every generated message (they live in kv::msg).
template <class Inspector, class T>
std::enable_if_t<std::is_base_of_v<google::protobuf::MessageLite, T>,
                 typename Inspector::result_type>
inspect(Inspector& f, T& x) {
  std::string buf;
  if constexpr (Inspector::reads_state) {
    x.SerializeToString(&buf);
    return f(caf::meta::type_name("protobuf"), buf);
  } else {
    return f(caf::meta::type_name("protobuf"), buf, caf::meta::load_callback([&]() -> caf::error {
               if (!x.ParseFromString(buf))
                 return caf::make_error(caf::sec::invalid_argument, "malformed protobuf");
               return caf::none;
             }));
  }
}

// Readable logs and deep_to_string output.
template <class T>
std::enable_if_t<std::is_base_of_v<google::protobuf::Message, T>, std::string> to_string(
    const T& x) {
  return x.GetTypeName() + "{" + x.ShortDebugString() + "}";
}

}  // namespace kv::msg

namespace kv {

// Registers every message type and the "kv" error category.
void register_types(caf::actor_system_config& cfg);

}  // namespace kv
