#include "http/admin_api.hpp"

#include "actors/messages.hpp"
#include "actors/spec_json.hpp"
#include "cluster/cluster_protocol.hpp"
#include "actors/timeouts.hpp"
#include "cluster/registry_actor.hpp"
#include "http/actor_ask.hpp"
#include "http/admin_json.hpp"

#include <boost/beast/http/field.hpp>
#include <rapidjson/error/en.h>

#include <string_view>
#include <vector>

namespace sg::http {

namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using verb = bhttp::verb;
using namespace std::chrono_literals;

namespace {

constexpr auto ask_timeout = timeouts::ask;
constexpr auto write_timeout = timeouts::write;
constexpr std::string_view kReplicasHeader = "X-Sgd-Replicas";
constexpr auto register_timeout = timeouts::registration;

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool query_flag(std::string_view query, std::string_view name) {
  size_t i = 0;
  while (i <= query.size()) {
    auto j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    auto kv = query.substr(i, j - i);
    if (kv == std::string(name) + "=true" || kv == std::string(name) + "=1") return true;
    i = j + 1;
  }
  return false;
}

// Compares in time independent of where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b) {
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

response json_response(status st, std::string body, const request& req) {
  response res{st, req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

response bad_request(const request& req, std::string_view code, std::string_view msg) {
  return error_response(status::bad_request, code, msg, req.version(), req.keep_alive());
}

// Parses the body as a JSON object; on failure fills `err` with a 400 naming the offset.
bool parse_body(const request& req, rapidjson::Document& doc, response& err) {
  auto& body = req.body();
  if (body.empty()) {
    err = bad_request(req, "invalid_json", "request body is empty; expected a JSON object");
    return false;
  }
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    err = bad_request(req, "invalid_json",
                      "JSON parse error at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                          rapidjson::GetParseError_En(doc.GetParseError()));
    return false;
  }
  if (!doc.IsObject()) {
    err = bad_request(req, "invalid_json", "request body must be a JSON object");
    return false;
  }
  return true;
}

}  // namespace

struct admin_api::route {
  std::vector<std::string_view> seg;  // path segments after /api
  std::string_view query;
};

admin_api::admin_api(caf::actor_system& sys, registry_api registry, caf::actor events,
                     admin_config cfg)
    : sys_(sys), registry_(std::move(registry)), events_(std::move(events)), cfg_(std::move(cfg)) {}

bool admin_api::is_event_stream(const request& req, std::optional<response>& denied) const {
  std::string_view target(req.target().data(), req.target().size());
  if (target.substr(0, target.find('?')) != "/api/events") return false;
  if (req.method() != verb::get) return false;  // handle() answers 405
  if (!authorized(req)) {
    denied =
        error_response(status::unauthorized, "unauthorized",
                       "missing or wrong 'Authorization: Bearer <token>'", req.version(), false);
    denied->set(bhttp::field::www_authenticate, "Bearer");
  } else if (!events_) {
    denied =
        error_response(status::not_found, "not_found", "no event stream", req.version(), false);
  }
  return true;
}

bool admin_api::authorized(const request& req) const {
  if (cfg_.token.empty()) return true;
  auto h = req[bhttp::field::authorization];
  std::string_view v(h.data(), h.size());
  constexpr std::string_view prefix = "Bearer ";
  if (!v.starts_with(prefix)) return false;
  return constant_time_equal(v.substr(prefix.size()), cfg_.token);
}

asio::awaitable<response> admin_api::handle(const request& req) {
  std::string_view target(req.target().data(), req.target().size());
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? "" : target.substr(qpos + 1);
  auto method_not_allowed = [&](const char* allow) {
    auto res = error_response(status::method_not_allowed, "method_not_allowed",
                              std::string(req.method_string()) + " is not allowed on " +
                                  std::string(path) + "; allowed: " + allow,
                              req.version(), req.keep_alive());
    res.set(bhttp::field::allow, allow);
    return res;
  };

  if (path == "/api/octopusservernodes/ping") {
    if (req.method() != verb::get && req.method() != verb::head)
      co_return method_not_allowed("GET, HEAD");
    auto info = co_await ask<controller_info>(sys_, registry_, ask_timeout, ctl_info_atom::value);
    if (!info) co_return error_response(info.error(), req.version(), req.keep_alive());
    rapidjson::StringBuffer buf;
    json::writer w(buf);
    w.StartObject();
    w.Key("controllerId"), w.String(info->controller_id);
    w.Key("status"), w.String(info->draining ? "draining" : "online");
    w.Key("version"), w.String(SGD_VERSION);
    w.Key("adminAddress"), w.String(cfg_.admin_address);
    w.Key("proxyAddress"), w.String(cfg_.proxy_address);
    w.Key("dataDir"), w.String(cfg_.data_dir);
    w.Key("authentication"), w.Bool(!cfg_.token.empty());
    w.Key("groups"), w.Int(info->groups);
    w.Key("nodes"), w.Int(info->nodes);
    w.EndObject();
    auto res = json_response(info->draining ? status{418} : status::ok,
                             std::string(buf.GetString(), buf.GetSize()), req);
    if (req.method() == verb::head) res.body().clear();
    co_return res;
  }
  if (path == "/metrics") {
    if (!cfg_.metrics_text)
      co_return error_response(status::not_found, "metrics_off",
                               "this controller runs with --metrics off", req.version(),
                               req.keep_alive());
    if (req.method() != verb::get) co_return method_not_allowed("GET");
    auto info = co_await ask<controller_info>(sys_, registry_, ask_timeout, ctl_info_atom::value);
    if (!info) co_return error_response(info.error(), req.version(), req.keep_alive());
    response res{status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
    res.body() = cfg_.metrics_text(info->draining);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_return res;
  }
  if (!path.starts_with("/api/") && path != "/api")
    co_return error_response(status::not_found, "not_found", "no route for " + std::string(path),
                             req.version(), req.keep_alive());
  if (!authorized(req)) {
    auto res = error_response(status::unauthorized, "unauthorized",
                              "missing or wrong 'Authorization: Bearer <token>'", req.version(),
                              req.keep_alive());
    res.set(bhttp::field::www_authenticate, "Bearer");
    co_return res;
  }
  route r{split_path(path.substr(4)), query};
  co_return co_await dispatch(req, r);
}

asio::awaitable<response> admin_api::dispatch(const request& req, const route& r) {
  auto& seg = r.seg;
  auto m = req.method();
  auto not_found = [&] {
    return error_response(status::not_found, "not_found",
                          "no route for " + std::string(req.target()), req.version(),
                          req.keep_alive());
  };
  auto not_allowed = [&](const char* allow) {
    auto res =
        error_response(status::method_not_allowed, "method_not_allowed",
                       std::string(req.method_string()) + " is not allowed here; allowed: " + allow,
                       req.version(), req.keep_alive());
    res.set(bhttp::field::allow, allow);
    return res;
  };
  auto fail = [&](const caf::error& e) {
    return error_response(e, req.version(), req.keep_alive());
  };
  auto ok = [&](status st, std::string body) { return json_response(st, std::move(body), req); };
  // Writes say how many controllers hold them when answered.
  auto no_content = [&](int32_t replicas) {
    response res{status::no_content, req.version()};
    res.set(kReplicasHeader, std::to_string(replicas));
    res.keep_alive(req.keep_alive());
    return res;
  };
  auto written = [&](status st, std::string body, int32_t replicas) {
    // {"...":...} -> {"...":...,"replicas":N}
    if (!body.empty() && body.back() == '}')
      body.insert(body.size() - 1, ",\"replicas\":" + std::to_string(replicas));
    auto res = json_response(st, std::move(body), req);
    res.set(kReplicasHeader, std::to_string(replicas));
    return res;
  };
  auto check_name = [&](std::string_view what, std::string_view name, response& err) {
    if (valid_name(name)) return true;
    err = bad_request(req, "invalid_argument",
                      std::string(what) + " '" + std::string(name).substr(0, 140) +
                          "' must match [A-Za-z0-9._-]{1,128}");
    return false;
  };

  if (seg.size() == 1 && seg[0] == "events") co_return not_allowed("GET");
  if (seg.size() == 1 && seg[0] == "cluster") {
    if (m != verb::get) co_return not_allowed("GET");
    auto info = co_await ask<cluster_info>(sys_, registry_, ask_timeout, cl_info_atom::value);
    if (!info) co_return fail(info.error());
    co_return ok(status::ok, to_json(*info));
  }

  // /api/controller/{drain|activate}
  if (seg.size() == 2 && seg[0] == "controller" && (seg[1] == "drain" || seg[1] == "activate")) {
    if (m != verb::post) co_return not_allowed("POST");
    auto info = co_await ask<controller_info>(sys_, registry_, ask_timeout, ctl_drain_atom::value,
                                              seg[1] == "drain");
    if (!info) co_return fail(info.error());
    co_return ok(status::ok, std::string("{\"controllerId\":\"") + info->controller_id +
                                 "\",\"status\":\"" + (info->draining ? "draining" : "online") +
                                 "\"}");
  }
  if (seg.empty() || seg[0] != "server-groups") co_return not_found();

  // /api/server-groups
  if (seg.size() == 1) {
    if (m != verb::get) co_return not_allowed("GET");
    auto groups = co_await ask<std::vector<group_summary>>(sys_, registry_, ask_timeout,
                                                           grp_list_atom::value);
    if (!groups) co_return fail(groups.error());
    co_return ok(status::ok, to_json(*groups));
  }
  response err;
  std::string group(seg[1]);
  if (!check_name("group name", group, err)) co_return err;

  // /api/server-groups/{g}
  if (seg.size() == 2) {
    if (m == verb::get) {
      auto g = co_await ask<group_view>(sys_, registry_, ask_timeout, grp_get_atom::value, group);
      if (!g) co_return fail(g.error());
      co_return ok(status::ok, to_json(*g));
    }
    if (m == verb::put) {
      rapidjson::Document doc;
      if (!req.body().empty() && !parse_body(req, doc, err)) co_return err;
      group_spec fields;
      uint32_t set = 0;
      if (!req.body().empty())
        if (auto msg = json::read_group(doc, fields, set); !msg.empty())
          co_return bad_request(req, "invalid_argument", msg);
      if ((set & json::gf_name) && fields.name != group)
        co_return bad_request(
            req, "invalid_argument",
            "field 'name' ('" + fields.name + "') differs from the path ('" + group + "')");
      auto rep = co_await ask<group_put_reply>(sys_, registry_, write_timeout, grp_put_atom::value,
                                               group, fields, set);
      if (!rep) co_return fail(rep.error());
      co_return written(rep->created ? status::created : status::ok, to_json(rep->view),
                        rep->replicas);
    }
    if (m == verb::delete_) {
      auto rep = co_await ask<int32_t>(sys_, registry_, write_timeout, grp_del_atom::value, group,
                                       query_flag(r.query, "force"));
      if (!rep) co_return fail(rep.error());
      co_return no_content(*rep);
    }
    co_return not_allowed("GET, PUT, DELETE");
  }
  if (seg[2] != "nodes") co_return not_found();

  // /api/server-groups/{g}/nodes
  if (seg.size() == 3) {
    if (m == verb::get) {
      auto nodes = co_await ask<std::vector<node_view>>(sys_, registry_, ask_timeout,
                                                        node_list_atom::value, group);
      if (!nodes) co_return fail(nodes.error());
      co_return ok(status::ok, to_json(*nodes));
    }
    if (m == verb::post) {
      rapidjson::Document doc;
      if (!parse_body(req, doc, err)) co_return err;
      node_spec reg;
      uint32_t set = 0;
      if (auto msg = json::read_node(doc, reg, set, json::nf_registration); !msg.empty())
        co_return bad_request(req, "invalid_argument", msg);
      if (!(set & json::nf_name))
        co_return bad_request(req, "invalid_argument", "field 'name' is required");
      if (!(set & json::nf_base_url))
        co_return bad_request(req, "invalid_argument", "field 'baseUrl' is required");
      auto rep = co_await ask<register_result>(sys_, registry_, register_timeout,
                                               node_put_atom::value, group, reg, set);
      if (!rep) co_return fail(rep.error());
      co_return written(rep->created ? status::created : status::ok, to_json(rep->node),
                        rep->replicas);
    }
    co_return not_allowed("GET, POST");
  }
  std::string id(seg[3]);
  if (!check_name("node id", id, err)) co_return err;

  // /api/server-groups/{g}/nodes/{id}
  if (seg.size() == 4) {
    if (m == verb::get) {
      auto n =
          co_await ask<node_view>(sys_, registry_, ask_timeout, node_get_atom::value, group, id);
      if (!n) co_return fail(n.error());
      co_return ok(status::ok, to_json(*n));
    }
    if (m == verb::patch) {
      rapidjson::Document doc;
      if (!parse_body(req, doc, err)) co_return err;
      node_spec fields;
      uint32_t set = 0;
      if (auto msg = json::read_node(doc, fields, set, json::nf_patch); !msg.empty())
        co_return bad_request(req, "invalid_argument", msg);
      auto rep = co_await ask<register_result>(sys_, registry_, write_timeout,
                                               node_patch_atom::value, group, id, fields, set);
      if (!rep) co_return fail(rep.error());
      co_return written(status::ok, to_json(rep->node), rep->replicas);
    }
    if (m == verb::delete_) {
      auto rep =
          co_await ask<int32_t>(sys_, registry_, write_timeout, node_del_atom::value, group, id);
      if (!rep) co_return fail(rep.error());
      co_return no_content(*rep);
    }
    co_return not_allowed("GET, PATCH, DELETE");
  }

  // /api/server-groups/{g}/nodes/{id}/{drain|activate}
  if (seg.size() == 5 && (seg[4] == "drain" || seg[4] == "activate")) {
    if (m != verb::post) co_return not_allowed("POST");
    auto a = seg[4] == "drain" ? admin_state::draining : admin_state::active;
    auto rep = co_await ask<register_result>(sys_, registry_, write_timeout, node_admin_atom::value,
                                             group, id, a);
    if (!rep) co_return fail(rep.error());
    co_return written(status::ok, to_json(rep->node), rep->replicas);
  }
  co_return not_found();
}

}  // namespace sg::http
