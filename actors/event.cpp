#include "actors/event.hpp"

#include "metrics/log.hpp"

namespace sg {

std::string to_json(const event& e) {
  std::string out = "{";
  auto field = [&](const char* k, const std::string& v, bool comma = true) {
    if (comma) out += ',';
    out += '"';
    out += k;
    out += "\":\"";
    log::append_json_escaped(out, v);
    out += '"';
  };
  out += "\"seq\":" + std::to_string(e.seq);
  field("type", e.type);
  field("group", e.group);
  field("nodeId", e.node_id);
  field("name", e.node_name);
  if (!e.from.empty()) field("from", e.from);
  field("to", e.to);
  if (!e.alert.empty()) field("alert", e.alert);
  if (!e.detail.empty()) field("detail", e.detail);
  out += ",\"consecutiveFailures\":" + std::to_string(e.consecutive_failures);
  out += ",\"atMs\":" + std::to_string(e.at_ms);
  out += '}';
  return out;
}

}  // namespace sg
