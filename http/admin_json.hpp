#pragma once
// JSON bodies of the admin API's answers: nodes, groups, group lists, the ping document.
#include "actors/views.hpp"
#include "cluster/cluster_protocol.hpp"

#include <string>
#include <vector>

namespace sg::http {

std::string to_json(const node_view& n);
std::string to_json(const std::vector<node_view>& nodes);
std::string to_json(const group_view& g);
std::string to_json(const std::vector<group_summary>& groups);
std::string to_json(const cluster_info& c);

}  // namespace sg::http
