#pragma once
// X-Route-Metadata: "region=eastus,gpu=A100" narrows a request's pool to nodes whose metadata
// match every pair.
#include "actors/routing_table.hpp"
#include "actors/strategies.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sg::http {

using metadata_pairs = std::vector<std::pair<std::string_view, std::string_view>>;

// "" or an error naming the malformed part. Spaces around keys and values are trimmed.
std::string parse_route_metadata(std::string_view header, metadata_pairs& out);

// Marks nodes that do not match every pair; returns how many nodes remain candidates.
size_t block_mismatches(const group_snapshot& snap, const metadata_pairs& pairs,
                        blocked_set& blocked);

}  // namespace sg::http
