#pragma once
// Small helpers shared by the integration tests: admin-API calls (group PUT, node registration),
// reading who served a proxied request, JSON field access, temp dirs and files.
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace sg::test {

// An sgd that exits at once on SIGTERM (--drain-grace 0).
sgd_options quick_sgd();

// "http://127.0.0.1:<proxy port>" of `s`.
std::string proxy_url(const sgd_instance& s);

// PUT /api/server-groups/{g} with `body` as is; REQUIREs 200 or 201.
void put_group(const sgd_instance& s, const std::string& g, const std::string& body);
// The same with `fields` wrapped in {...}.
void put_group_fields(const sgd_instance& s, const std::string& g, const std::string& fields);

// {"name":..,"baseUrl":..[,extra]}
std::string registration_body(const std::string& name, const std::string& base_url,
                              const std::string& extra = "");
// "weight":W,"metadata":M — the usual extra registration fields.
std::string node_fields(int weight = 1, const std::string& metadata = "{}");

struct registered_node {
  std::string id;      // nodeId
  std::string status;  // the status the registration answered
};

// POSTs a registration to group `g`; REQUIREs 201 and a JSON object with nodeId and status.
registered_node register_node(const sgd_instance& s, const std::string& g, const std::string& name,
                              const std::string& base_url, const std::string& extra = node_fields());
registered_node register_node(const sgd_instance& s, const std::string& g,
                              const test_node_process& n, const std::string& extra = node_fields());

// Registers a node and REQUIREs the answered status to be `want_status`; returns its nodeId.
std::string add_node(const sgd_instance& s, const std::string& g, const test_node_process& n,
                     const std::string& want_status = "healthy",
                     const std::string& extra = node_fields());
std::string add_node_at(const sgd_instance& s, const std::string& g, const std::string& name,
                        const std::string& base_url, const std::string& extra = node_fields(),
                        const std::string& want_status = "healthy");

// The node that answered (test nodes set X-Node); REQUIREs a 200 and the header.
std::string served_by(const http_result& r);

// A string member of an object, "" if absent or not a string.
std::string str_field(const rapidjson::Value& v, const char* key);
bool has_field(const rapidjson::Value& v, const char* key);

// Compact JSON text of a value.
std::string to_text(const rapidjson::Value& v);

// Order-independent text of a JSON value without the per-controller runtime fields (health
// status, counters, last check); array elements are each followed by `array_sep`.
std::string canon(const rapidjson::Value& v, const std::string& array_sep = ",");

// "" when r is a `status` answer with a {"error":{"code","message"}} body (non-empty string
// code, string message) whose message contains `needle` ("" = any).
std::string error_problem(const http_result& r, int status, const std::string& needle = "");

// The lines of `text` (split at '\n'); empty lines only when `keep_empty`.
std::vector<std::string> lines_of(const std::string& text, bool keep_empty = false);

// Writes `text` to `path` (truncating); REQUIREs success.
void write_file(const std::string& path, const std::string& text);

// A temp dir (make_temp_dir(prefix)) removed with everything in it on scope exit.
struct temp_dir {
  std::string path;
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

// "ok" or the error's message, for a result-like value (operator bool, error().what()).
template <class R>
std::string describe(const R& r) {
  return r ? std::string("ok") : r.error().what();
}

}  // namespace sg::test
