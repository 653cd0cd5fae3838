#include "cluster/consistency.hpp"

#include "messages/errc.hpp"

namespace kv::cluster {
namespace {

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

// `what` is "r" or "w"; `configured` the namespace default for it.
caf::expected<quorum_plan> plan(const namespace_config& ns, const requested& req, char what,
                                uint32_t asked, uint32_t configured) {
  uint32_t n = req.n == 0 ? ns.n : req.n;
  if (n > ns.n)
    return invalid("n=" + std::to_string(n) + " is greater than namespace '" + ns.name +
                   "' has replicas (n=" + std::to_string(ns.n) + ")");
  if (req.lvl != level::unset && asked != 0)
    return invalid(std::string{"give either "} + what + " or a level, not both");
  quorum_plan result{n, 0, false};
  switch (req.lvl) {
    case level::one:
      result.required = 1;
      break;
    case level::quorum:
      result.required = majority(n);
      break;
    case level::all:
      result.required = n;
      break;
    case level::local_quorum:
      result.required = majority(n);
      result.local = true;
      break;
    case level::unset:
      result.required = asked != 0 ? asked : (configured != 0 ? configured : majority(n));
      break;
  }
  if (result.required > n)
    return invalid(std::string(1, what) + "=" + std::to_string(result.required) +
                   " is greater than n=" + std::to_string(n));
  return result;
}

}  // namespace

caf::expected<quorum_plan> plan_read(const namespace_config& ns, const requested& req) {
  return plan(ns, req, 'r', req.r, ns.r);
}

caf::expected<quorum_plan> plan_write(const namespace_config& ns, const requested& req) {
  return plan(ns, req, 'w', req.w, ns.w);
}

caf::error validate(const namespace_config& ns) {
  if (ns.name.empty() || ns.name.size() > 255)
    return invalid("a namespace name must be 1 to 255 bytes");
  if (ns.n == 0) return invalid("namespace '" + ns.name + "': n must be at least 1");
  if (ns.r > ns.n || ns.w > ns.n)
    return invalid("namespace '" + ns.name +
                   "': r and w must not exceed n=" + std::to_string(ns.n));
  return caf::none;
}

}  // namespace kv::cluster
