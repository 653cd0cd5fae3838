// cluster/failure_detector.hpp
// Decides, from one node's point of view, which members are alive, suspected or down. Pure
// logic over an injected clock; the gossip actor feeds it and acts on its verdicts.
//
// A member is heard when its heartbeat goes up in this node's table, by whatever path the
// gossip came. It becomes suspected when it has been silent for `suspect_after`, or at once when
// the connection to it was lost (a killed process closes its sockets). A suspected member is
// declared down only when a second source agrees: another member currently suspects it too
// (every gossip message carries its sender's suspicions), or its phi-accrual score passes the
// threshold. Phi is -log10 of the probability that a heartbeat comes this late, with
// inter-arrival times modelled as exponential over a sliding window of observed intervals
// (Hayashibara et al.; the same model Cassandra uses). One slow node alone therefore never takes
// another down quickly; a real failure is seen by everyone and agreed within a gossip round.
// Hearing a member again clears every suspicion of it at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kv::cluster {

struct detector_options {
  std::chrono::milliseconds suspect_after{2000};  // silence before a member is suspected
  double phi_threshold = 8.0;                     // alone enough to declare a member down
  std::chrono::milliseconds min_interval{200};    // floor of the mean heartbeat interval
  size_t window = 100;                            // intervals remembered per member
};

enum class verdict : uint8_t { alive, suspect, down };

const char* to_string(verdict v);

class failure_detector {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  explicit failure_detector(detector_options opts = {}) : opts_(opts) {}

  const detector_options& options() const { return opts_; }

  // `id` was heard from now (its heartbeat went up). A member heard for the first time starts
  // with an empty window.
  void heard(const std::string& id, time_point now);

  // The connection to `id` was lost: it is suspected now, until heard again.
  void connection_lost(const std::string& id);

  // `reporter` suspects exactly `suspects` as of now (its whole current list, which replaces the
  // one it sent before).
  void reported(const std::string& reporter, const std::vector<std::string>& suspects,
                time_point now);

  // Stops tracking `id` (removed from the cluster).
  void forget(const std::string& id);

  double phi(const std::string& id, time_point now) const;
  verdict judge(const std::string& id, time_point now) const;

  // Members this node suspects now (for its gossip messages).
  std::vector<std::string> suspects(time_point now) const;

  // Milliseconds since `id` was last heard, or -1 if never.
  int64_t silent_ms(const std::string& id, time_point now) const;

 private:
  struct history {
    time_point last{};
    bool seen = false;
    bool connection_lost = false;
    std::deque<double> intervals_ms;
    double sum_ms = 0;
  };
  struct report {
    std::vector<std::string> suspects;
    time_point at{};
  };

  bool suspected(const history& h, time_point now) const;
  bool others_agree(const std::string& id, time_point now) const;

  detector_options opts_;
  std::map<std::string, history, std::less<>> members_;
  std::map<std::string, report, std::less<>> reports_;
};

}  // namespace kv::cluster
