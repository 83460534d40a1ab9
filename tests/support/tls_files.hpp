// Self-signed TLS certificates for tests (HTTPS test nodes, TLS upstream checks), made with
// the OpenSSL API: EC P-256 key, CN and SAN 127.0.0.1 + localhost, CA:TRUE so it can serve as
// its own trust anchor (e.g. a CA file for verify_peer).
#pragma once

#include <string>

namespace sg::test {

struct tls_files {
  std::string cert;  // PEM certificate path
  std::string key;   // PEM private key path
};

// Writes <dir>/<stem>.crt and <dir>/<stem>.key, valid from now-1h for 10 days; REQUIREs success.
tls_files write_self_signed_cert(const std::string& dir, const std::string& stem = "test",
                                 const std::string& common_name = "127.0.0.1");

}  // namespace sg::test
