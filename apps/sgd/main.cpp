// sgd: the server-group controller daemon. Wires the registry actor, group actors, the admin API
// and the proxy together; everything else lives in the libraries.
#include "actors/messages.hpp"
#include "actors/routing_table.hpp"
#include "apps/sgd/data_dir.hpp"
#include "apps/sgd/options.hpp"
#include "cluster/cluster_gate.hpp"
#include "cluster/files.hpp"
#include "cluster/peer_link.hpp"
#include "cluster/registry_actor.hpp"
#include "cluster/registry_store.hpp"
#include "http/admin_session.hpp"
#include "actors/event_hub.hpp"
#include "actors/url.hpp"
#include "http/health_prober.hpp"
#include "http/webhook.hpp"
#include "http/listener.hpp"
#include "http/metrics_endpoint.hpp"
#include "http/proxy.hpp"
#include "http/upstream.hpp"
#include "metrics/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

namespace {

int fail(const std::string& line, int code = 2) {
  std::cerr << "sgd: " << line << "\n";
  return code;
}

bool loopback(const std::string& host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

}  // namespace

namespace {
// Raises the fd limit to its hard maximum and keeps a quarter of it (at most 4096) for the admin
// listener, health checks, peers and the journal; each proxied connection needs two fds (the
// client's and the node's).
int64_t default_max_connections() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  auto fds = static_cast<int64_t>(std::min<rlim_t>(rl.rlim_cur, 1 << 24));
  auto reserve = std::min<int64_t>(fds / 4, 4096);
  return std::max<int64_t>(16, (fds - reserve) / 2);
}
}  // namespace

int main(int argc, char** argv) {
  using namespace sg;
  app::options opt;
  if (auto err = app::parse(argc, argv, opt); !err.empty()) return fail(err);
  if (opt.help) {
    std::cout << app::help_text();
    return 0;
  }
  if (opt.version) {
    std::cout << "sgd " << SGD_VERSION << "\n";
    return 0;
  }
  log::level lv;
  if (!log::parse_level(opt.log_level, lv))
    return fail("--log-level must be debug, info, warn, error or off, got '" + opt.log_level + "'");
  log::set_level(lv);

  std::string admin_host, proxy_host;
  uint16_t admin_port = 0, proxy_port = 0;
  if (!http::split_host_port(opt.admin, admin_host, admin_port))
    return fail("--admin must be HOST:PORT, got '" + opt.admin + "'");
  if (!http::split_host_port(opt.listen, proxy_host, proxy_port))
    return fail("--listen must be HOST:PORT, got '" + opt.listen + "'");
  if (opt.admin_token.empty() && !loopback(admin_host) && !opt.insecure_admin)
    return fail("refusing to serve the admin API on non-loopback " + opt.admin +
                " without --admin-token (or --insecure-admin)");

  std::string cluster_host;
  uint16_t cluster_port = 0;
  std::vector<std::string> peers;
  if (!opt.cluster_listen.empty()) {
    if (!http::split_host_port(opt.cluster_listen, cluster_host, cluster_port))
      return fail("--cluster-listen must be HOST:PORT, got '" + opt.cluster_listen + "'");
    if (opt.cluster_secret.empty() && !loopback(cluster_host))
      return fail("refusing to accept peers on non-loopback " + opt.cluster_listen +
                  " without --cluster-secret");
    std::string item;
    std::istringstream list(opt.peers);
    while (std::getline(list, item, ',')) {
      if (item.empty() || item == opt.cluster_listen) continue;  // our own entry
      std::string h;
      uint16_t p = 0;
      if (!http::split_host_port(item, h, p) || p == 0)
        return fail("--peers entries must be HOST:PORT, got '" + item + "'");
      peers.push_back(item);
    }
  } else if (!opt.peers.empty()) {
    return fail("--peers needs --cluster-listen");
  }
  std::optional<url_parts> webhook;
  if (!opt.alert_webhook.empty() && !(webhook = parse_url(opt.alert_webhook)))
    return fail("--alert-webhook must be an absolute http(s) URL, got '" + opt.alert_webhook + "'");
  if (auto err = app::prepare_data_dir(opt.data_dir); !err.empty()) return fail(err);
  std::string cid;
  if (auto err = app::controller_id(opt.data_dir, opt.controller_id, cid); !err.empty())
    return fail(err);
  std::unique_ptr<registry_store> store;
  journal_recovery recovery;
  store_options sopt{opt.data_dir, cid};
  sopt.tombstone_ttl_ms = static_cast<uint64_t>(opt.tombstone_ttl_s) * 1000;
  sopt.max_clock_offset_ms = static_cast<uint64_t>(opt.max_clock_offset_ms);
  if (auto err = registry_store::open(sopt, store, recovery); !err.empty()) return fail(err);
  log::info("registry loaded", {{"controller", cid},
                                {"records", std::to_string(store->state().record_count())},
                                {"journal_entries", std::to_string(recovery.entries)},
                                {"dropped_bytes", std::to_string(recovery.dropped_bytes)}});

  unsigned threads = opt.threads > 0 ? static_cast<unsigned>(opt.threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
  caf::actor_system_config cfg;
  // Work sharing with few workers: 15-20x faster request/response round trips on small machines
  // than the default work stealing (see docs/architecture.md).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::min<size_t>(threads, 4));
  add_actor_types(cfg);
  add_cluster_types(cfg);
  if (cluster_port) {
    cfg.load<caf::io::middleman>();
    // Detect a hung (e.g. SIGSTOPped) peer in about a second instead of never.
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(200)});
    cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(1500)});
  }
  caf::actor_system sys{cfg};

  http::io_pool io{threads};
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (auto err = http::make_client_tls(opt.upstream_ca, tls); !err.empty()) return fail(err);
  auto table = std::make_shared<routing_table>();
  auto probes = std::make_shared<http::health_prober>(io, tls);
  auto events = sys.spawn(event_hub, size_t{1024});
  if (webhook) {
    auto hook = std::make_shared<http::webhook_sender>(io, *webhook, tls);
    caf::anon_send(events, subscribe_atom::value, std::static_pointer_cast<event_sink>(hook),
                   uint64_t{0});
  }
  auto cstats = std::make_shared<cluster_stats>();
  registry_actor_args rargs;
  rargs.store = std::move(store);
  rargs.table = table;
  rargs.probes = probes;
  rargs.events = events;
  rargs.stats = cstats;
  rargs.cluster_address = opt.cluster_listen;
  rargs.peers = peers;
  auto registry = sys.spawn(registry_actor, rargs);
  std::vector<caf::actor> cluster_actors;
  // ~actor_system waits for every actor: take the long-lived ones down on every way out.
  auto stop_actors = [&] {
    for (auto& a : cluster_actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(events, caf::exit_reason::user_shutdown);
  };
  if (cluster_port) {
    auto gate = sys.spawn(cluster_gate, cid, opt.cluster_secret, registry);
    cluster_actors.push_back(gate);
    auto published = sys.middleman().publish(gate, cluster_port, cluster_host.c_str(), true);
    if (!published) {
      stop_actors();
      return fail("cluster: cannot listen on " + opt.cluster_listen + ": " +
                  sys.render(published.error()));
    }
    for (auto& p : peers)
      cluster_actors.push_back(sys.spawn(peer_link, p, cid, opt.cluster_secret, registry));
    log::info("cluster", {{"listen", opt.cluster_listen}, {"peers", std::to_string(peers.size())}});
  }

  http::admin_config acfg{
      cid, opt.admin, opt.listen, opt.data_dir, opt.admin_token, [table, cstats](bool draining) {
        return http::render_metrics(*table, http::controller_figures{draining, cstats.get()});
      }};
  if (!opt.metrics) acfg.metrics_text = nullptr;
  auto api =
      std::make_shared<http::admin_api>(sys, caf::actor_cast<registry_api>(registry), events, acfg);
  auto admin = std::make_shared<http::listener>(
      io, [api](http::tcp::socket s) { return http::admin_session(std::move(s), api); });
  if (auto err = admin->bind(admin_host, admin_port); !err.empty()) {
    stop_actors();
    return fail("admin: " + err);
  }
  auto pctx = std::make_shared<http::proxy_context>();
  pctx->table = table;
  pctx->tls = tls;
  pctx->metrics = opt.metrics;
  pctx->header_timeout = std::chrono::seconds(opt.client_header_timeout_s);
  pctx->max_header_bytes = static_cast<size_t>(opt.max_header_bytes);
  pctx->via = cid;
  pctx->max_connections = opt.max_connections ? opt.max_connections : default_max_connections();
  auto proxy = std::make_shared<http::listener>(
      io, [pctx](http::tcp::socket s) { return http::proxy_session(std::move(s), pctx); });
  if (auto err = proxy->bind(proxy_host, proxy_port); !err.empty()) {
    stop_actors();
    return fail("listen: " + err);
  }
  admin->start();
  proxy->start();
  auto admin_addr = admin_host + ":" + std::to_string(admin->port());
  auto proxy_addr = proxy_host + ":" + std::to_string(proxy->port());
  log::info("sgd ready", {{"controller", cid},
                          {"admin", admin_addr},
                          {"proxy", proxy_addr},
                          {"version", SGD_VERSION}});
  if (!opt.ready_file.empty()) {
    auto body = "{\"admin\":\"" + admin_addr + "\",\"proxy\":\"" + proxy_addr +
                "\",\"controllerId\":\"" + cid + "\"}\n";
    if (auto err = write_file_atomic(opt.ready_file, body); !err.empty())
      log::error("cannot write ready file", {{"error", err}});
  }

  // SIGTERM/SIGINT: drain gracefully (ping 418 for --drain-grace so outer load balancers move
  // away, close the listeners, let in-flight requests finish); a second signal stops at once.
  boost::asio::signal_set signals{io.at(0), SIGINT, SIGTERM};
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (stopping) {
          log::warn("second signal: stopping now", {{"signal", std::to_string(sig)}});
          io.stop();
          return;
        }
        stopping = true;
        signals.async_wait(on_signal);
        log::info("draining before stop", {{"signal", std::to_string(sig)},
                                           {"grace_s", std::to_string(opt.drain_grace_s)}});
        caf::anon_send(registry, ctl_drain_atom::value, true);
        boost::asio::co_spawn(
            io.at(0),
            [&]() -> boost::asio::awaitable<void> {
              namespace asio = boost::asio;
              asio::steady_timer t{io.at(0), std::chrono::seconds(opt.drain_grace_s)};
              co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
              admin->stop();
              pctx->stopping = true;
              proxy->stop();
              // Let the posted acceptor close (and its backlog drain) run before counting.
              co_await asio::post(io.at(0), asio::use_awaitable);
              auto deadline =
                  std::chrono::steady_clock::now() + std::chrono::seconds(opt.drain_timeout_s);
              while (pctx->active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
                t.expires_after(std::chrono::milliseconds(50));
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
              }
              log::info("stopping", {{"in_flight_left", std::to_string(pctx->active.load())}});
              io.stop();
            },
            boost::asio::detached);
      };
  signals.async_wait(on_signal);
  io.run([] { http::upstream_pool::this_thread().clear(); });
  stop_actors();
  // Node actors hold the prober, which posts to the I/O contexts: every actor must be gone
  // before `io` is destroyed at the end of this scope.
  sys.await_all_actors_done();
  log::info("stopped", {{"controller", cid}});
  return 0;
}
