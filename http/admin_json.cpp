#include "http/admin_json.hpp"

#include "actors/spec_json.hpp"

#include <ctime>

namespace sg::http {

namespace {

using json::writer;

std::string iso_time(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

void write_node(writer& w, const node_view& n) {
  w.StartObject();
  json::write_members(w, n.spec);
  w.Key("status"), w.String(to_string(n.health.status));
  w.Key("consecutiveFailures"), w.Int(n.health.consecutive_failures);
  w.Key("inFlight"), w.Int64(n.in_flight);
  w.Key("requests"), w.Uint64(n.requests);
  w.Key("lastCheck");
  auto& c = n.health.last_check;
  if (c.at_ms == 0) {
    w.Null();
  } else {
    w.StartObject();
    w.Key("at"), w.String(iso_time(c.at_ms));
    w.Key("latencyMs"), w.Int(c.latency_ms);
    w.Key("httpStatus");
    if (c.http_status)
      w.Int(c.http_status);
    else
      w.Null();
    w.Key("error");
    if (c.error.empty())
      w.Null();
    else
      w.String(c.error);
    w.Key("body"), w.String(c.body);
    w.EndObject();
  }
  w.EndObject();
}

void write_counts(writer& w, const status_counts& c) {
  w.StartObject();
  w.Key("total"), w.Int(c.total());
  w.Key("healthy"), w.Int(c.healthy);
  w.Key("degraded"), w.Int(c.degraded);
  w.Key("unhealthy"), w.Int(c.unhealthy);
  w.Key("draining"), w.Int(c.draining);
  w.EndObject();
}

// Group spec members plus extras, as one object.
template <class Extra>
void write_group(writer& w, const group_spec& spec, Extra extra) {
  w.StartObject();
  json::write_members(w, spec);
  extra(w);
  w.EndObject();
}

template <class F>
std::string render(F f) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  f(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string to_json(const node_view& n) {
  return render([&](writer& w) { write_node(w, n); });
}

std::string to_json(const std::vector<node_view>& nodes) {
  return render([&](writer& w) {
    w.StartObject();
    w.Key("nodes");
    w.StartArray();
    for (auto& n : nodes) write_node(w, n);
    w.EndArray();
    w.EndObject();
  });
}

std::string to_json(const group_view& g) {
  return render([&](writer& w) {
    write_group(w, g.spec, [&](writer& w) {
      status_counts counts;
      for (auto& n : g.nodes) counts.add(n.health.status);
      w.Key("nodeCounts");
      write_counts(w, counts);
      w.Key("nodes");
      w.StartArray();
      for (auto& n : g.nodes) write_node(w, n);
      w.EndArray();
    });
  });
}

std::string to_json(const std::vector<group_summary>& groups) {
  return render([&](writer& w) {
    w.StartObject();
    w.Key("groups");
    w.StartArray();
    for (auto& g : groups)
      write_group(w, g.spec, [&](writer& w) {
        w.Key("nodeCounts");
        write_counts(w, g.counts);
      });
    w.EndArray();
    w.EndObject();
  });
}

namespace {
// A figure that exists only once measured: null before.
void int_or_null(writer& w, bool known, int64_t v) {
  if (known)
    w.Int64(v);
  else
    w.Null();
}
}  // namespace

std::string to_json(const cluster_info& c) {
  return render([&](writer& w) {
    w.StartObject();
    w.Key("controllerId"), w.String(c.controller_id);
    w.Key("clusterAddress"), w.String(c.cluster_address);
    w.Key("registryDigest"), w.String(c.digest);
    w.Key("records"), w.Uint64(c.records);
    w.Key("tombstones"), w.Uint64(c.tombstones);
    w.Key("maxClockOffsetMs"), w.Int64(c.max_clock_offset_ms);
    w.Key("clockOffsetMs"), int_or_null(w, c.clock_measured, c.clock_offset_ms);
    w.Key("writesRefused"), w.Bool(c.writes_refused);
    w.Key("fullTransfers"), w.Uint64(c.full_transfers);
    w.Key("staleRecordsDropped"), w.Uint64(c.stale_records_dropped);
    w.Key("peers");
    w.StartArray();
    for (auto& p : c.peers) {
      w.StartObject();
      w.Key("address"), w.String(p.address);
      w.Key("controllerId"), w.String(p.controller_id);
      w.Key("state"), w.String(p.state);
      w.Key("lastSeen");
      if (p.last_seen_ms)
        w.String(iso_time(p.last_seen_ms));
      else
        w.Null();
      w.Key("lagMs"), w.Int64(p.lag_ms);
      w.Key("deltasSent"), w.Uint64(p.deltas_sent);
      w.Key("deltasReceived"), w.Uint64(p.deltas_received);
      w.Key("repairs"), w.Uint64(p.repairs);
      w.Key("clockOffsetMs"), int_or_null(w, p.clock_measured, p.clock_offset_ms);
      w.Key("rttMs"), int_or_null(w, p.clock_measured, p.rtt_ms);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

}  // namespace sg::http
