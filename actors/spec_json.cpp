#include "actors/spec_json.hpp"

#include "actors/url.hpp"

#include <algorithm>
#include <climits>
#include <string_view>

namespace sg::json {

namespace {

void key(writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void str(writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string field_error(std::string_view field, std::string_view what) {
  return "field '" + std::string(field) + "' " + std::string(what);
}

// Reads an int member within [lo, hi].
std::string read_int(const rapidjson::Value& v, std::string_view field, int64_t lo, int64_t hi,
                     int32_t& out) {
  if (!v.IsInt64()) return field_error(field, "must be an integer");
  auto x = v.GetInt64();
  if (x < lo || x > hi)
    return field_error(field,
                       "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  out = static_cast<int32_t>(x);
  return {};
}

std::string read_url(const rapidjson::Value& v, std::string_view field, std::string& out) {
  if (!v.IsString()) return field_error(field, "must be a string");
  std::string_view s(v.GetString(), v.GetStringLength());
  if (!parse_url(s)) return field_error(field, "must be an absolute http:// or https:// URL");
  out.assign(s);
  return {};
}

std::string read_name(const rapidjson::Value& v, std::string_view field, std::string& out) {
  if (!v.IsString()) return field_error(field, "must be a string");
  std::string_view s(v.GetString(), v.GetStringLength());
  if (!valid_name(s)) return field_error(field, "must match [A-Za-z0-9._-]{1,128}");
  out.assign(s);
  return {};
}

// [200, "300-399", ...]: codes and inclusive "lo-hi" ranges.
std::string read_status_ranges(const rapidjson::Value& v, std::vector<status_range>& out) {
  constexpr std::string_view field = "healthCheck.expectStatus";
  auto bad = [&] {
    return field_error(field,
                       "must be an array of 1 to 16 status codes (200) or ranges (\"200-399\")");
  };
  if (!v.IsArray() || v.Empty() || v.Size() > max_status_ranges) return bad();
  std::vector<status_range> rs;
  for (auto& e : v.GetArray()) {
    status_range r;
    if (e.IsInt()) {
      r.lo = r.hi = e.GetInt();
    } else if (e.IsString()) {
      std::string_view t(e.GetString(), e.GetStringLength());
      auto dash = t.find('-');
      auto num = [](std::string_view d, int32_t& x) {
        if (d.size() != 3) return false;
        x = 0;
        for (char c : d) {
          if (c < '0' || c > '9') return false;
          x = x * 10 + (c - '0');
        }
        return true;
      };
      bool ok = dash == std::string_view::npos
                    ? num(t, r.lo) && num(t, r.hi)
                    : num(t.substr(0, dash), r.lo) && num(t.substr(dash + 1), r.hi);
      if (!ok) return bad();
    } else {
      return bad();
    }
    if (r.lo < 100 || r.hi > 599 || r.lo > r.hi)
      return field_error(field, "ranges must lie within 100-599, low end first");
    rs.push_back(r);
  }
  out = std::move(rs);
  return {};
}

std::string read_health(const rapidjson::Value& v, health_settings& h, uint32_t& set) {
  if (!v.IsObject()) return field_error("healthCheck", "must be an object");
  for (auto& m : v.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    std::string err;
    if (k == "intervalMs") {
      err = read_int(m.value, "healthCheck.intervalMs", 100, 3600000, h.interval_ms);
      set |= gf_interval;
    } else if (k == "timeoutMs") {
      err = read_int(m.value, "healthCheck.timeoutMs", 10, max_check_timeout_ms, h.timeout_ms);
      set |= gf_timeout;
    } else if (k == "unhealthyAfter") {
      err = read_int(m.value, "healthCheck.unhealthyAfter", 1, 100, h.unhealthy_after);
      set |= gf_unhealthy_after;
    } else if (k == "healthyAfter") {
      err = read_int(m.value, "healthCheck.healthyAfter", 1, 100, h.healthy_after);
      set |= gf_healthy_after;
    } else if (k == "type") {
      auto t =
          m.value.IsString()
              ? parse_check_type(std::string_view(m.value.GetString(), m.value.GetStringLength()))
              : std::nullopt;
      if (!t)
        err = field_error("healthCheck.type", "must be \"http\" or \"tcp\"");
      else
        h.type = *t;
      set |= gf_check_type;
    } else if (k == "path") {
      if (!m.value.IsString())
        err = field_error("healthCheck.path", "must be a string (\"\": each node's healthUrl)");
      else
        h.path.assign(m.value.GetString(), m.value.GetStringLength());
      set |= gf_check_path;
    } else if (k == "expectStatus") {
      err = read_status_ranges(m.value, h.expect_status);
      set |= gf_expect_status;
    } else if (k == "expectBody") {
      if (!m.value.IsString())
        err = field_error("healthCheck.expectBody", "must be a string (\"\": any body)");
      else
        h.expect_body.assign(m.value.GetString(), m.value.GetStringLength());
      set |= gf_expect_body;
    } else if (k == "deregisterAfterMs") {
      err = read_int(m.value, "healthCheck.deregisterAfterMs", 0, INT32_MAX, h.deregister_after_ms);
      set |= gf_deregister_after;
    } else {
      err = "unknown field 'healthCheck." + std::string(k) + "'";
    }
    if (!err.empty()) return err;
  }
  return {};
}

}  // namespace

void write(writer& w, const group_spec& g) {
  w.StartObject();
  write_members(w, g);
  w.EndObject();
}

void write_members(writer& w, const group_spec& g) {
  key(w, "name"), str(w, g.name);
  key(w, "strategy"), str(w, to_string(g.strategy));
  key(w, "healthCheck");
  w.StartObject();
  key(w, "intervalMs"), w.Int(g.health.interval_ms);
  key(w, "timeoutMs"), w.Int(g.health.timeout_ms);
  key(w, "unhealthyAfter"), w.Int(g.health.unhealthy_after);
  key(w, "healthyAfter"), w.Int(g.health.healthy_after);
  key(w, "type"), str(w, to_string(g.health.type));
  key(w, "path"), str(w, g.health.path);
  key(w, "expectStatus");
  w.StartArray();
  for (auto& r : g.health.expect_status) {
    if (r.lo == r.hi) {
      w.Int(r.lo);
    } else {
      auto t = std::to_string(r.lo) + "-" + std::to_string(r.hi);
      str(w, t);
    }
  }
  w.EndArray();
  key(w, "expectBody"), str(w, g.health.expect_body);
  key(w, "deregisterAfterMs"), w.Int(g.health.deregister_after_ms);
  w.EndObject();
  key(w, "stickyHeaders");
  w.StartArray();
  for (auto& h : g.sticky_headers) str(w, h);
  w.EndArray();
  key(w, "retries"), w.Int(g.retries);
  key(w, "connectTimeoutMs"), w.Int(g.connect_timeout_ms);
  key(w, "responseTimeoutMs"), w.Int(g.response_timeout_ms);
  key(w, "maxRequestBytes"), w.Uint64(g.max_request_bytes);
}

void write_members(writer& w, const node_spec& n) {
  key(w, "nodeId"), str(w, n.node_id);
  key(w, "groupName"), str(w, n.group);
  key(w, "name"), str(w, n.name);
  key(w, "baseUrl"), str(w, n.base_url);
  key(w, "healthUrl"), str(w, n.health_url);
  key(w, "weight"), w.Int(n.weight);
  key(w, "metadata");
  w.StartObject();
  for (auto& [k, v] : n.metadata) key(w, k), str(w, v);
  w.EndObject();
  key(w, "adminState"), str(w, to_string(n.admin));
}

std::string read_group(const rapidjson::Value& obj, group_spec& out, uint32_t& set) {
  if (!obj.IsObject()) return "request body must be a JSON object";
  for (auto& m : obj.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    auto& v = m.value;
    std::string err;
    if (k == "name") {
      err = read_name(v, "name", out.name);
      set |= gf_name;
    } else if (k == "strategy") {
      auto s = v.IsString() ? parse_strategy(std::string_view(v.GetString(), v.GetStringLength()))
                            : std::nullopt;
      if (!s)
        err = field_error("strategy",
                          "must be one of round_robin, weighted_round_robin, "
                          "least_connections, sticky_session");
      else
        out.strategy = *s;
      set |= gf_strategy;
    } else if (k == "healthCheck") {
      err = read_health(v, out.health, set);
    } else if (k == "stickyHeaders") {
      if (!v.IsArray() || v.Size() == 0 || v.Size() > 8) {
        err = field_error("stickyHeaders", "must be an array of 1 to 8 header names");
      } else {
        std::vector<std::string> hs;
        for (auto& h : v.GetArray()) {
          std::string name;
          if (!(err = read_name(h, "stickyHeaders[]", name)).empty()) break;
          hs.push_back(std::move(name));
        }
        if (err.empty()) out.sticky_headers = std::move(hs);
      }
      set |= gf_sticky_headers;
    } else if (k == "retries") {
      err = read_int(v, "retries", 0, 10, out.retries);
      set |= gf_retries;
    } else if (k == "connectTimeoutMs") {
      err = read_int(v, "connectTimeoutMs", 1, 600000, out.connect_timeout_ms);
      set |= gf_connect_timeout;
    } else if (k == "responseTimeoutMs") {
      err = read_int(v, "responseTimeoutMs", 1, 86400000, out.response_timeout_ms);
      set |= gf_response_timeout;
    } else if (k == "maxRequestBytes") {
      if (!v.IsUint64())
        err = field_error("maxRequestBytes", "must be a non-negative integer (0: no limit)");
      else
        out.max_request_bytes = v.GetUint64();
      set |= gf_max_request_bytes;
    } else {
      err = "unknown field '" + std::string(k) + "'";
    }
    if (!err.empty()) return err;
  }
  return {};
}

std::string read_node(const rapidjson::Value& obj, node_spec& out, uint32_t& set,
                      uint32_t allowed) {
  if (!obj.IsObject()) return "request body must be a JSON object";
  for (auto& m : obj.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    auto& v = m.value;
    uint32_t bit = 0;
    std::string err;
    if (k == "nodeId") {
      bit = nf_node_id;
      if (!v.IsString())
        err = field_error(k, "must be a string");
      else
        out.node_id.assign(v.GetString(), v.GetStringLength());
    } else if (k == "groupName") {
      bit = nf_group;
      err = read_name(v, k, out.group);
    } else if (k == "name") {
      bit = nf_name;
      err = read_name(v, k, out.name);
    } else if (k == "baseUrl") {
      bit = nf_base_url;
      err = read_url(v, k, out.base_url);
    } else if (k == "healthUrl") {
      bit = nf_health_url;
      err = read_url(v, k, out.health_url);
    } else if (k == "weight") {
      bit = nf_weight;
      err = read_int(v, k, min_weight, max_weight, out.weight);
    } else if (k == "metadata") {
      bit = nf_metadata;
      if (!v.IsObject()) {
        err = field_error(k, "must be an object of string values");
      } else if (v.MemberCount() > max_metadata_entries) {
        err = field_error(k, "has more than " + std::to_string(max_metadata_entries) + " entries");
      } else {
        std::map<std::string, std::string> md;
        for (auto& e : v.GetObject()) {
          std::string mk(e.name.GetString(), e.name.GetStringLength());
          if (mk.empty() || mk.size() > max_metadata_key) {
            err = field_error("metadata", "keys must be 1 to 128 characters");
            break;
          }
          if (!e.value.IsString()) {
            err = field_error("metadata." + mk, "must be a string");
            break;
          }
          if (e.value.GetStringLength() > max_metadata_value) {
            err = field_error("metadata." + mk, "is longer than 1024 characters");
            break;
          }
          md[mk].assign(e.value.GetString(), e.value.GetStringLength());
        }
        if (err.empty()) out.metadata = std::move(md);
      }
    } else if (k == "adminState") {
      bit = nf_admin;
      std::string_view s = v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : "";
      if (s == "active")
        out.admin = admin_state::active;
      else if (s == "draining")
        out.admin = admin_state::draining;
      else
        err = field_error(k, "must be \"active\" or \"draining\"");
    } else {
      return "unknown field '" + std::string(k) + "'";
    }
    if (!(allowed & bit)) return field_error(k, "cannot be set here");
    if (!err.empty()) return err;
    set |= bit;
  }
  return {};
}

void apply_group_fields(group_spec& dst, const group_spec& src, uint32_t set) {
  if (set & gf_name) dst.name = src.name;
  if (set & gf_strategy) dst.strategy = src.strategy;
  if (set & gf_interval) dst.health.interval_ms = src.health.interval_ms;
  if (set & gf_timeout) dst.health.timeout_ms = src.health.timeout_ms;
  if (set & gf_unhealthy_after) dst.health.unhealthy_after = src.health.unhealthy_after;
  if (set & gf_healthy_after) dst.health.healthy_after = src.health.healthy_after;
  if (set & gf_check_type) dst.health.type = src.health.type;
  if (set & gf_check_path) dst.health.path = src.health.path;
  if (set & gf_expect_status) dst.health.expect_status = src.health.expect_status;
  if (set & gf_expect_body) dst.health.expect_body = src.health.expect_body;
  if (set & gf_deregister_after) dst.health.deregister_after_ms = src.health.deregister_after_ms;
  // A shorter interval left without a timeout takes half of it as the timeout, which must stay
  // below the interval; a timeout the request names is checked as given.
  if ((set & gf_interval) && !(set & gf_timeout) && dst.health.timeout_ms >= dst.health.interval_ms)
    dst.health.timeout_ms = std::max(10, dst.health.interval_ms / 2);
  if (set & gf_sticky_headers) dst.sticky_headers = src.sticky_headers;
  if (set & gf_retries) dst.retries = src.retries;
  if (set & gf_connect_timeout) dst.connect_timeout_ms = src.connect_timeout_ms;
  if (set & gf_response_timeout) dst.response_timeout_ms = src.response_timeout_ms;
  if (set & gf_max_request_bytes) dst.max_request_bytes = src.max_request_bytes;
}

void apply_node_fields(node_spec& dst, const node_spec& src, uint32_t set) {
  if (set & nf_node_id) dst.node_id = src.node_id;
  if (set & nf_group) dst.group = src.group;
  if (set & nf_name) dst.name = src.name;
  if (set & nf_base_url) dst.base_url = src.base_url;
  if (set & nf_health_url) dst.health_url = src.health_url;
  if (set & nf_weight) dst.weight = src.weight;
  if (set & nf_metadata) dst.metadata = src.metadata;
  if (set & nf_admin) dst.admin = src.admin;
}

}  // namespace sg::json
