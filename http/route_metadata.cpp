#include "http/route_metadata.hpp"

namespace sg::http {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string parse_route_metadata(std::string_view header, metadata_pairs& out) {
  size_t i = 0;
  while (i <= header.size()) {
    auto j = header.find(',', i);
    if (j == std::string_view::npos) j = header.size();
    auto item = trim(header.substr(i, j - i));
    i = j + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos || trim(item.substr(0, eq)).empty())
      return "X-Route-Metadata entries must be key=value, got '" + std::string(item) + "'";
    out.emplace_back(trim(item.substr(0, eq)), trim(item.substr(eq + 1)));
    if (out.size() > 32) return "X-Route-Metadata has more than 32 entries";
  }
  return {};
}

size_t block_mismatches(const group_snapshot& snap, const metadata_pairs& pairs,
                        blocked_set& blocked) {
  blocked.assign(snap.nodes.size(), 0);
  size_t left = snap.nodes.size();
  for (size_t i = 0; i < snap.nodes.size(); ++i) {
    auto& md = snap.nodes[i]->spec.metadata;
    for (auto& [k, v] : pairs) {
      auto it = md.find(std::string(k));
      if (it == md.end() || it->second != v) {
        blocked[i] = 1;
        --left;
        break;
      }
    }
  }
  return left;
}

}  // namespace sg::http
