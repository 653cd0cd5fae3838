#include "actors/batching.hpp"

#include "messages/errc.hpp"

namespace kv::actors {

msg::Error to_wire(const caf::error& err) {
  msg::Error result;
  result.set_code(static_cast<msg::ErrorCode>(code_of(err)));
  result.set_message(message_of(err));
  return result;
}

caf::error from_wire(const msg::Error& err) {
  bool known = err.code() > msg::ERR_NONE && err.code() <= msg::ERR_INTERNAL;
  return make_error(known ? static_cast<errc>(err.code()) : errc::internal, err.message());
}

}  // namespace kv::actors
