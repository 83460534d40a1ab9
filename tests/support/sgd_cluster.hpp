// Several real sgd controllers clustered on 127.0.0.1 (CAF middleman), for integration tests:
// cluster ports picked up front with free_port(), every controller given the full peer list (its
// own entry included) and one secret. Members are started one by one (start()) so a test can run
// one alone first, or give one its own flags or environment (e.g. LD_PRELOAD).
// Also: /api/cluster reads, registry digests, connection and convergence waits, and /metrics
// sample lookup. Every read has a short timeout, so a SIGSTOPped controller does not hang a poll.
#pragma once

#include "tests/support/sgd_process.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sg::test {

class sgd_cluster {
 public:
  // Picks `n` cluster addresses; starts nothing. `common_args` go to every member after the
  // cluster flags (default: --tombstone-ttl 3600, as in the replication tests).
  explicit sgd_cluster(std::size_t n, std::string secret = "s3cret-cluster",
                       std::vector<std::string> common_args = {"--tombstone-ttl", "3600"});

  // Starts member i (REQUIREs it to become ready); `extra` adds flags and environment.
  sgd_instance& start(std::size_t i, const std::vector<std::string>& extra_args = {},
                      const std::map<std::string, std::string>& env = {});
  void start_all();

  std::size_t size() const { return addresses_.size(); }
  bool started(std::size_t i) const { return i < ctl_.size() && ctl_[i] != nullptr; }
  sgd_instance& operator[](std::size_t i) { return *ctl_.at(i); }
  const sgd_instance& operator[](std::size_t i) const { return *ctl_.at(i); }
  const std::string& address(std::size_t i) const { return addresses_.at(i); }
  const std::string& peer_list() const { return peer_list_; }

 private:
  std::string secret_;
  std::vector<std::string> common_args_, addresses_;
  std::string peer_list_;
  std::vector<std::unique_ptr<sgd_instance>> ctl_;
};

// GET /api/cluster parsed; a null document if it does not answer 200 within `timeout`.
rapidjson::Document cluster_status(const sgd_instance& s,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(2));
// Its "registryDigest", or "<none>".
std::string registry_digest(const sgd_instance& s,
                            std::chrono::milliseconds timeout = std::chrono::seconds(2));
// Peer address -> state ("connected", ...) as the controller reports them.
std::map<std::string, std::string> peer_states(const sgd_instance& s);

// Every started member of `c` (or the listed ones) reports every other one as connected.
bool all_connected(const sgd_cluster& c, const std::vector<std::size_t>& members = {});
bool wait_all_connected(const sgd_cluster& c, std::chrono::milliseconds timeout,
                        const std::vector<std::size_t>& members = {});
// The listed members (default: all) report one registry digest.
bool digests_equal(const sgd_cluster& c, const std::vector<std::size_t>& members = {});
bool wait_digests_equal(const sgd_cluster& c, std::chrono::milliseconds timeout,
                        const std::vector<std::size_t>& members = {});
// One line per member: its /api/cluster answer (for failure messages).
std::string describe_cluster(const sgd_cluster& c);

struct metric_line {
  std::string labels;  // "{a=\"b\",...}" as written, "" without labels
  double value = 0;
};
// The /metrics samples of family `name` (exactly that name, any labels); empty if none or if
// /metrics does not answer.
std::vector<metric_line> metric_samples(const sgd_instance& s, const std::string& name);
// The value of the first of them whose label text contains `label_part` ("" = any).
std::optional<double> metric_sample(const sgd_instance& s, const std::string& name,
                                    const std::string& label_part = "");

}  // namespace sg::test
