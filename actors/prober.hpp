#pragma once
// How node actors check health without knowing HTTP: http/ implements this on its I/O threads and
// calls `done` from there; the node actor turns that into a message to itself. Tests script it.
#include "actors/health_machine.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sg {

struct probe_result {
  probe_outcome outcome = probe_outcome::fail;
  int32_t http_status = 0;
  int32_t latency_ms = 0;
  int64_t latency_us = 0;  // the same, finer, for the latency histogram
  std::string error;       // empty when an HTTP answer arrived
};

class prober {
 public:
  virtual ~prober() = default;
  // Starts one check of `url`; calls `done` exactly once, from any thread, within `timeout`
  // (plus scheduling slack). Must not block.
  virtual void probe(const std::string& url, std::chrono::milliseconds timeout,
                     std::function<void(probe_result)> done) = 0;
};

using prober_ptr = std::shared_ptr<prober>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.outcome, x.http_status, x.latency_ms,
           x.latency_us, x.error);
}

}  // namespace sg
