#pragma once
// How node actors check health without knowing HTTP: http/ implements this on its I/O threads and
// calls `done` from there; the node actor turns that into a message to itself. Tests script it.
#include "actors/health_machine.hpp"
#include "actors/specs.hpp"
#include "actors/url.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace sg {

struct probe_result {
  probe_outcome outcome = probe_outcome::fail;
  int32_t http_status = 0;
  int32_t latency_ms = 0;
  int64_t latency_us = 0;  // the same, finer, for the latency histogram
  std::string error;       // why it failed; empty when it passed or asked for a drain
  std::string body;        // the answer's first bytes (body_excerpt), for the node's view
};

// What a node's checks go to and how they are judged: built by the node actor when its spec or
// its group's settings change, shared by every check until then (no per-check parsing).
struct check_target {
  std::string url;                 // as configured (healthUrl, or baseUrl + path)
  std::optional<url_parts> parts;  // nullopt: `url` is not an absolute http(s) URL
  health_settings settings;        // type, timeout, expectations
};

struct probe_request {
  std::shared_ptr<const check_target> target;
  std::chrono::milliseconds delay{0};  // before the first check
  uint32_t jitter_seed = 1;            // for the ± 10 % jitter of the intervals after it
  // Set when these checks are superseded (new settings) or the node actor is gone: no further
  // check starts, and a result that arrives after is dropped.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

class prober {
 public:
  virtual ~prober() = default;
  // Checks `req.target` after `req.delay`, then again every interval (± 10 % jitter, counted from
  // the start of the previous check, so a slow answer does not stretch it) until cancelled. Calls
  // `done` with each result, from any thread but never concurrently, within the check's timeout
  // (plus scheduling slack). Must not block. The schedule runs on the prober's own timers: a
  // check costs the node actor one message, its result.
  virtual void probe(probe_request req, std::function<void(probe_result)> done) = 0;
};

// The wait before the next check: `interval_ms` ± 10 % after the start of the previous one,
// `since_start` ago; never negative. The jitter spreads thousands of nodes registered together
// over the interval instead of checking them in lockstep.
std::chrono::milliseconds next_check_delay(int32_t interval_ms, std::minstd_rand& rng,
                                           std::chrono::milliseconds since_start);

using prober_ptr = std::shared_ptr<prober>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.outcome, x.http_status, x.latency_ms,
           x.latency_us, x.error, x.body);
}

}  // namespace sg
