// Data plane: HTTPS nodes, verified against --upstream-ca.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/tls_files.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

namespace {

using namespace sg::test;

constexpr const char* kSteadyHealth = R"("healthCheck":{"intervalMs":1000,"timeoutMs":900})";

}  // namespace

TEST_CASE("HTTPS nodes: verified with --upstream-ca and refused without it", "[dataplane]") {
  temp_dir dir{"sgd-dataplane-tls"};
  auto files = write_self_signed_cert(dir.path, "node");
  test_node_options o;
  o.name = "secure";
  o.tls_cert = files.cert;
  o.tls_key = files.key;
  test_node_process node(o);
  REQUIRE(node.base_url().rfind("https://127.0.0.1:", 0) == 0);
  REQUIRE(node.request("GET", "/health").status == 200);  // the node itself serves TLS

  {
    sgd_options so;
    so.extra_args = {"--upstream-ca", files.cert};
    sgd_instance sgd(so);
    put_group_fields(sgd, "tls", kSteadyHealth);
    REQUIRE(register_node(sgd, "tls", node).status == "healthy");
    for (int i = 0; i < 5; ++i) {
      auto r = sgd.proxy("POST", "/groups/tls/secure/path?i=" + std::to_string(i), "hello");
      INFO(r.status << " " << r.error << " " << r.body);
      REQUIRE(r.status == 200);
      CHECK(r.header("X-Node") == "secure");
      auto d = json(r);
      REQUIRE(d.IsObject());
      CHECK(std::string(d["path"].GetString()) == "/secure/path");
      CHECK(std::string(d["query"].GetString()) == "i=" + std::to_string(i));
      CHECK(d["bodyBytes"].GetUint64() == 5);
    }
    // Streams over TLS too.
    auto dl = download(sgd.proxy_port(), "/groups/tls/download?bytes=3000000");
    CHECK(dl.status == 200);
    CHECK(dl.body_bytes == 3000000);
  }

  {
    sgd_instance plain;  // trusts only the system CAs
    put_group_fields(plain, "tls", kSteadyHealth);
    CHECK(register_node(plain, "tls", node).status == "unhealthy");
    auto nodes = plain.admin("GET", "/api/server-groups/tls/nodes");
    INFO(nodes.body);
    auto r = plain.proxy("GET", "/groups/tls/x");
    INFO(r.status << " " << r.error << " " << r.body);
    CHECK(r.status == 503);
    CHECK(!r.header("Retry-After").empty());
    auto d = json(r);
    REQUIRE(d.IsObject());
    CHECK(std::string(d["error"]["code"].GetString()) == "no_routable_node");
  }
}
