#pragma once
// JSON form of group and node specs (camelCase, as in the seed), shared by the admin API and the
// journal so both speak one format. Readers check types and ranges and name the offending field;
// unknown fields are rejected so a typo never silently does nothing.
#include "actors/specs.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>

namespace sg::json {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Bits naming the group fields a request set (PUT leaves the others as they were).
enum group_field : uint32_t {
  gf_name = 1u << 0,
  gf_strategy = 1u << 1,
  gf_interval = 1u << 2,
  gf_timeout = 1u << 3,
  gf_unhealthy_after = 1u << 4,
  gf_healthy_after = 1u << 5,
  gf_sticky_headers = 1u << 6,
  gf_retries = 1u << 7,
  gf_connect_timeout = 1u << 8,
  gf_response_timeout = 1u << 9,
  gf_max_request_bytes = 1u << 10,
  gf_check_type = 1u << 11,
  gf_check_path = 1u << 12,
  gf_expect_status = 1u << 13,
  gf_expect_body = 1u << 14,
  gf_deregister_after = 1u << 15,
  gf_all = (1u << 16) - 1,
};

enum node_field : uint32_t {
  nf_node_id = 1u << 0,
  nf_group = 1u << 1,
  nf_name = 1u << 2,
  nf_base_url = 1u << 3,
  nf_health_url = 1u << 4,
  nf_weight = 1u << 5,
  nf_metadata = 1u << 6,
  nf_admin = 1u << 7,
  nf_all = (1u << 8) - 1,
  nf_registration = nf_name | nf_base_url | nf_health_url | nf_weight | nf_metadata,
  nf_patch = nf_weight | nf_metadata,
};

// Metadata bounds: entries, key and value lengths.
inline constexpr size_t max_metadata_entries = 64;
inline constexpr size_t max_metadata_key = 128;
inline constexpr size_t max_metadata_value = 1024;

// Writes the whole group spec as one object.
void write(writer& w, const group_spec& g);
// Writes group spec members into an object the caller opened (so it can add counts, nodes).
void write_members(writer& w, const group_spec& g);
// Writes node spec members into an object the caller opened (so it can add status fields).
void write_members(writer& w, const node_spec& n);

// Reads the members of `obj` into `out`, setting bits in `set`; returns "" or an error message.
std::string read_group(const rapidjson::Value& obj, group_spec& out, uint32_t& set);
// Only fields in `allowed` are accepted; others known ones get "cannot be set here".
std::string read_node(const rapidjson::Value& obj, node_spec& out, uint32_t& set, uint32_t allowed);

// Copies the fields named in `set` from `src` into `dst`.
void apply_group_fields(group_spec& dst, const group_spec& src, uint32_t set);
void apply_node_fields(node_spec& dst, const node_spec& src, uint32_t set);

}  // namespace sg::json
