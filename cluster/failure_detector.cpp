#include "cluster/failure_detector.hpp"

#include <algorithm>
#include <cmath>

namespace kv::cluster {
namespace {

double elapsed_ms(failure_detector::time_point from, failure_detector::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

const char* to_string(verdict v) {
  switch (v) {
    case verdict::alive:
      return "alive";
    case verdict::suspect:
      return "suspect";
    case verdict::down:
      return "down";
  }
  return "unknown";
}

void failure_detector::heard(const std::string& id, time_point now) {
  auto& h = members_[id];
  if (h.seen) {
    double interval = std::max(0.0, elapsed_ms(h.last, now));
    h.intervals_ms.push_back(interval);
    h.sum_ms += interval;
    if (h.intervals_ms.size() > opts_.window) {
      h.sum_ms -= h.intervals_ms.front();
      h.intervals_ms.pop_front();
    }
  }
  h.seen = true;
  h.last = now;
  h.connection_lost = false;
  // Whoever suspected it is contradicted: it spoke after their reports.
  for (auto& [reporter, r] : reports_)
    r.suspects.erase(std::remove(r.suspects.begin(), r.suspects.end(), id), r.suspects.end());
}

void failure_detector::connection_lost(const std::string& id) {
  members_[id].connection_lost = true;
}

void failure_detector::reported(const std::string& reporter,
                                const std::vector<std::string>& suspects, time_point now) {
  reports_[reporter] = report{suspects, now};
}

void failure_detector::forget(const std::string& id) {
  members_.erase(id);
  reports_.erase(id);
}

double failure_detector::phi(const std::string& id, time_point now) const {
  auto i = members_.find(id);
  if (i == members_.end() || !i->second.seen) return 0;
  const auto& h = i->second;
  double floor = static_cast<double>(opts_.min_interval.count());
  double mean = h.intervals_ms.empty() ? floor : h.sum_ms / h.intervals_ms.size();
  mean = std::max(mean, floor);
  // P(interval > t) = exp(-t / mean), so phi = -log10(exp(-t / mean)) = t / mean * log10(e).
  return elapsed_ms(h.last, now) / mean * std::log10(std::exp(1.0));
}

bool failure_detector::suspected(const history& h, time_point now) const {
  return h.connection_lost || !h.seen || now - h.last >= opts_.suspect_after;
}

bool failure_detector::others_agree(const std::string& id, time_point now) const {
  for (const auto& [reporter, r] : reports_) {
    if (reporter == id || now - r.at > opts_.suspect_after) continue;  // stale: it went quiet
    if (std::find(r.suspects.begin(), r.suspects.end(), id) != r.suspects.end()) return true;
  }
  return false;
}

verdict failure_detector::judge(const std::string& id, time_point now) const {
  auto i = members_.find(id);
  if (i == members_.end()) return verdict::alive;  // never tracked: nothing to go on
  if (!suspected(i->second, now)) return verdict::alive;
  if (others_agree(id, now) || phi(id, now) >= opts_.phi_threshold) return verdict::down;
  return verdict::suspect;
}

std::vector<std::string> failure_detector::suspects(time_point now) const {
  std::vector<std::string> result;
  for (const auto& [id, h] : members_)
    if (suspected(h, now)) result.push_back(id);
  return result;
}

int64_t failure_detector::silent_ms(const std::string& id, time_point now) const {
  auto i = members_.find(id);
  if (i == members_.end() || !i->second.seen) return -1;
  return static_cast<int64_t>(elapsed_ms(i->second.last, now));
}

}  // namespace kv::cluster
