#include "actors/net/shield.hpp"

#include "actors/node/log.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"

namespace kv::actors {
namespace {

constexpr size_t max_logged_chars = 160;

std::string shortened(std::string text) {
  if (text.size() > max_logged_chars) {
    text.resize(max_logged_chars);
    text += "...";
  }
  return text;
}

}  // namespace

void shield(caf::scheduled_actor* self, const char* role, exit_reaction on_exit) {
  auto logger = log::get(role);
  self->set_exit_handler([logger, on_exit](caf::scheduled_actor* ptr, caf::exit_msg& msg) {
    auto* element = ptr->current_mailbox_element();
    bool remote_sender =
        element != nullptr && element->sender != nullptr && element->sender->node() != ptr->node();
    if (remote_sender || (msg.source && msg.source.node() != ptr->node())) {
      logger->warn("RemoteExitIgnored from={} reason=\"{}\"", caf::to_string(msg.source.node()),
                   describe(msg.reason));
      return;
    }
    if (on_exit)
      on_exit(ptr, msg);
    else
      ptr->quit(std::move(msg.reason));
  });
  self->set_error_handler([logger](caf::scheduled_actor*, caf::error& err) {
    logger->warn("UnexpectedError err=\"{}\"", shortened(describe(err)));
  });
  self->set_down_handler([logger](caf::scheduled_actor*, caf::down_msg& msg) {
    logger->warn("UnexpectedDown reason=\"{}\"", shortened(describe(msg.reason)));
  });
  self->set_default_handler(
      [logger](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        logger->warn("UnexpectedMessage message=\"{}\"",
                     shortened(caf::to_string(x.copy_content_to_message())));
        return make_error(errc::invalid_argument, "unexpected message");
      });
}

}  // namespace kv::actors
