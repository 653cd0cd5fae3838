#include "storage/codec.hpp"

#include <algorithm>
#include <climits>
#include <set>
#include <utility>

#include "messages/common.pb.h"
#include "messages/errc.hpp"
#include "messages/storage.pb.h"

namespace kv::storage {
namespace {

// Validation and conversion are split: problem_in() names what is wrong with a message (empty
// when nothing is), convert() assumes a well-formed one. checked() puts them together, so each
// decoder only chooses the subject its error messages are about.

// Objects come from peers and disks: counts a merge could never legitimately reach are refused
// before anything is converted. (Client writes stop far below: max_siblings, max_object_bytes.)
constexpr int max_object_siblings = 1 << 20;
constexpr int max_context_entries = 1 << 20;

std::string problem_in(const msg::VersionVector& in) {
  if (int64_t{in.entries_size()} + in.dots_size() > max_context_entries)
    return std::to_string(in.entries_size()) + " entries and " + std::to_string(in.dots_size()) +
           " exact dots";
  std::set<std::string_view> actors;
  for (const auto& e : in.entries()) {
    if (e.actor().empty()) return "empty actor";
    if (e.counter() == 0) return "zero counter for actor " + e.actor();
    if (!actors.insert(e.actor()).second) return "duplicate actor " + e.actor();
  }
  for (const auto& d : in.dots()) {
    if (d.actor().empty()) return "exact dot with an empty actor";
    if (d.counter() == 0) return "exact dot with a zero counter for actor " + d.actor();
  }
  return {};
}

std::string problem_in(const msg::Object& in) {
  if (in.siblings_size() > max_object_siblings)
    return std::to_string(in.siblings_size()) + " siblings";
  if (in.context().entries_size() > max_context_entries)
    return std::to_string(in.context().entries_size()) + " context entries";
  std::set<std::pair<std::string_view, uint64_t>> dots;
  for (const auto& s : in.siblings()) {
    if (!s.has_dot()) return "sibling without a dot";
    const auto& d = s.dot();
    if (d.actor().empty()) return "sibling dot with an empty actor";
    if (d.counter() == 0) return "sibling dot with a zero counter for actor " + d.actor();
    if (!dots.emplace(d.actor(), d.counter()).second)
      return "duplicate sibling dot " + d.actor() + ':' + std::to_string(d.counter());
  }
  // A stored context says which versions the object's replicas have seen, and merges trust it
  // to drop what it covers; only entries say that. Exact dots belong to clients' contexts.
  if (in.context().dots_size() > 0) return "exact dots in the context";
  auto context = problem_in(in.context());
  return context.empty() ? context : "context: " + context;
}

version_vector entries_of(const msg::VersionVector& in) {
  std::vector<version_vector::entry> entries;
  entries.reserve(in.entries_size());
  for (const auto& e : in.entries()) entries.push_back({e.actor(), e.counter(), e.updated_ms()});
  return version_vector::from_entries(std::move(entries));
}

causal_context convert(const msg::VersionVector& in) {
  std::vector<dot> dots;
  dots.reserve(in.dots_size());
  for (const auto& d : in.dots()) dots.push_back({d.actor(), d.counter()});
  return causal_context::from_parts(entries_of(in), std::move(dots));
}

object convert(const msg::Object& in) {
  std::vector<sibling> siblings;
  siblings.reserve(in.siblings_size());
  for (const auto& s : in.siblings())
    siblings.push_back(
        {{s.dot().actor(), s.dot().counter()}, s.value(), s.deleted(), s.timestamp_ms()});
  return object::from_parts(std::move(siblings), entries_of(in.context()));
}

caf::error malformed(std::string_view subject, std::string_view problem) {
  std::string text = "malformed ";
  text.append(subject).append(": ").append(problem);
  return make_error(errc::invalid_argument, std::move(text));
}

template <class Message>
auto checked(const Message& in, std::string_view subject) -> caf::expected<decltype(convert(in))> {
  if (auto problem = problem_in(in); !problem.empty()) return malformed(subject, problem);
  return convert(in);
}

bool parse(std::string_view bytes, google::protobuf::Message& out) {
  return bytes.size() <= INT_MAX &&
         out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

// Context tokens come from clients and must be exactly what encode_context produced: fields
// this build does not know would be dropped silently, turning a garbled token into a blind
// write.
bool has_unknown_fields(const msg::VersionVector& vv) {
  auto unknown = [](const google::protobuf::Message& m) {
    return !m.GetReflection()->GetUnknownFields(m).empty();
  };
  if (unknown(vv)) return true;
  for (const auto& e : vv.entries())
    if (unknown(e)) return true;
  for (const auto& d : vv.dots())
    if (unknown(d)) return true;
  return false;
}

// What a token may not hold though a peer's message might: more than `limits` allow, and
// counters past the plausible. Empty when nothing is wrong.
std::string beyond(const msg::VersionVector& in, const token_limits& limits) {
  auto count = static_cast<size_t>(in.entries_size()) + static_cast<size_t>(in.dots_size());
  if (count > limits.max_entries)
    return std::to_string(in.entries_size()) + " entries" +
           (in.dots_size() > 0 ? " and " + std::to_string(in.dots_size()) + " exact dots" : "") +
           "; at most " + std::to_string(limits.max_entries) + " are kept";
  auto event = [&limits](const std::string& actor, uint64_t counter,
                         std::string_view what) -> std::string {
    if (actor.size() > limits.max_actor_bytes)
      return std::string{what} + "an actor of " + std::to_string(actor.size()) + " bytes";
    if (counter >= max_counter)
      return std::string{what} + "counter " + std::to_string(counter) + " for actor " + actor +
             " is implausible (at or above 2^62)";
    return {};
  };
  for (const auto& e : in.entries())
    if (auto problem = event(e.actor(), e.counter(), ""); !problem.empty()) return problem;
  for (const auto& d : in.dots())
    if (auto problem = event(d.actor(), d.counter(), "an exact dot with "); !problem.empty())
      return problem;
  return {};
}

// Drops exact dots until at most `keep` remain: first those that are no dot of `siblings`
// (versions no longer held), then the others, each group in dot order.
void drop_dots(std::vector<dot>& dots, size_t keep, const std::vector<sibling>& siblings) {
  if (dots.size() <= keep) return;
  auto held = [&siblings](const dot& d) {
    return std::any_of(siblings.begin(), siblings.end(),
                       [&d](const sibling& s) { return s.id == d; });
  };
  std::stable_partition(dots.begin(), dots.end(), [&held](const dot& d) { return !held(d); });
  dots.erase(dots.begin(), dots.begin() + static_cast<std::ptrdiff_t>(dots.size() - keep));
}

}  // namespace

void to_proto(const version_vector& vv, msg::VersionVector& out) {
  out.Clear();
  out.mutable_entries()->Reserve(static_cast<int>(vv.size()));
  for (const auto& e : vv.entries()) {
    auto* entry = out.add_entries();
    entry->set_actor(e.actor);
    entry->set_counter(e.counter);
    entry->set_updated_ms(e.updated_ms);
  }
}

void to_proto(const causal_context& context, msg::VersionVector& out) {
  to_proto(context.vv(), out);
  out.mutable_dots()->Reserve(static_cast<int>(context.dots().size()));
  for (const auto& d : context.dots()) to_proto(d, *out.add_dots());
}

void to_proto(const dot& d, msg::Dot& out) {
  out.set_actor(d.actor);
  out.set_counter(d.counter);
}

void to_proto(const object& obj, msg::Object& out) {
  out.Clear();
  out.mutable_siblings()->Reserve(static_cast<int>(obj.siblings().size()));
  for (const auto& s : obj.siblings()) {
    auto* sibling = out.add_siblings();
    to_proto(s.id, *sibling->mutable_dot());
    sibling->set_value(s.value);
    sibling->set_deleted(s.deleted);
    sibling->set_timestamp_ms(s.timestamp_ms);
  }
  to_proto(obj.context(), *out.mutable_context());
}

caf::expected<causal_context> from_proto(const msg::VersionVector& in) {
  return checked(in, "context");
}

caf::expected<object> from_proto(const msg::Object& in) {
  return checked(in, "object");
}

std::string encode_object(const object& obj) {
  msg::StoredObject stored;
  to_proto(obj, *stored.mutable_object());
  return stored.SerializeAsString();
}

caf::expected<object> decode_object(std::string_view bytes) {
  msg::StoredObject stored;
  if (!parse(bytes, stored)) return malformed("stored object", "not a StoredObject message");
  if (!stored.has_object()) return malformed("stored object", "no object in it");
  return checked(stored.object(), "stored object");
}

std::string encode_context(const causal_context& context) {
  msg::VersionVector out;
  to_proto(context, out);
  return out.SerializeAsString();
}

caf::expected<causal_context> decode_context(std::string_view bytes, const token_limits& limits) {
  // An entry or a dot takes at least 4 bytes on the wire; a longer token cannot be within the
  // limits.
  if (bytes.size() > limits.max_entries * (limits.max_actor_bytes + 32))
    return malformed("context token", "of " + std::to_string(bytes.size()) + " bytes");
  msg::VersionVector in;
  if (!parse(bytes, in)) return malformed("context token", "not a serialized version vector");
  if (has_unknown_fields(in)) return malformed("context token", "fields this build does not know");
  if (auto problem = beyond(in, limits); !problem.empty())
    return malformed("context token", problem);
  return checked(in, "context token");
}

causal_context client_context(causal_context context, const std::vector<sibling>& siblings,
                              const token_limits& limits) {
  auto vv = context.vv();
  auto dots = context.dots();
  auto plausible = [](const version_vector& v) {
    return std::all_of(v.entries().begin(), v.entries().end(),
                       [](const auto& e) { return e.counter < max_counter; });
  };
  if (!plausible(vv)) {
    auto entries = vv.entries();
    for (auto& e : entries) e.counter = std::min(e.counter, max_counter - 1);
    vv = version_vector::from_entries(std::move(entries));
  }
  // No node issues such a dot (next_dot); dropping one is safe, like any token covering less.
  dots.erase(std::remove_if(dots.begin(), dots.end(),
                            [](const dot& d) { return d.counter >= max_counter; }),
             dots.end());
  if (vv.size() + dots.size() <= limits.max_entries)
    return causal_context::from_parts(std::move(vv), std::move(dots));
  // Exact dots go first: each covers one version, an entry a whole history of one actor.
  drop_dots(dots, limits.max_entries - std::min(vv.size(), limits.max_entries), siblings);
  if (dots.empty()) {
    vv.prune(limits.max_entries, [&siblings](std::string_view actor) {
      return std::any_of(siblings.begin(), siblings.end(),
                         [actor](const sibling& s) { return s.id.actor == actor; });
    });
    vv.prune(limits.max_entries, [](std::string_view) { return false; });
  }
  return causal_context::from_parts(std::move(vv), std::move(dots));
}

}  // namespace kv::storage
