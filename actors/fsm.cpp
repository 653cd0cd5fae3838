#include "actors/fsm.hpp"

#include "messages/errc.hpp"

namespace kv::actors {

void failures::note(const std::string& replica, const caf::error& err) {
  if (!text_.empty()) text_ += "; ";
  text_ += replica + ": " + describe(err);
  internal_ = internal_ || code_of(err) == errc::internal;
}

caf::error failures::quorum_lost(char what, uint32_t required, uint32_t got,
                                 const char* verb) const {
  return make_error(internal_ ? errc::internal : errc::unavailable,
                    quorum_text(what, required, got, verb) + " (" + text_ + ")");
}

std::string quorum_text(char what, uint32_t required, uint32_t got, const char* verb) {
  return std::string(1, what) + "=" + std::to_string(required) + " needs " +
         std::to_string(required) + (required == 1 ? " replica, " : " replicas, ") +
         std::to_string(got) + " " + verb;
}

caf::error deadline_passed(const fsm_args& args, char what, uint32_t got, const char* verb) {
  std::string text = "deadline of " + std::to_string(args.timeout.count()) + " ms passed; " +
                     quorum_text(what, args.plan.required, got, verb);
  if (what == 'w') text += "; the write may or may not have been applied";
  return make_error(errc::timeout, std::move(text));
}

void count_answer(const fsm_args& args, op kind, errc code, caf::actor_clock::time_point now) {
  if (args.metrics)
    args.metrics->answered(
        kind, code, std::chrono::duration_cast<std::chrono::microseconds>(now - args.started));
}

}  // namespace kv::actors
