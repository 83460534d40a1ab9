#include "cluster/cluster_protocol.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <tuple>

namespace sg {

namespace {
std::string hex(const unsigned char* p, size_t n) {
  std::string out;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    out += b;
  }
  return out;
}
}  // namespace

std::string cluster_proof(const std::string& secret, const std::string& nonce,
                          const std::string& from, const std::string& to) {
  std::string data = nonce + "|" + from + "|" + to;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return hex(out, len);
}

bool same_proof(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool needs_transfer(const freshness& a, const std::string& a_id, const freshness& b,
                    const std::string& b_id) {
  bool a_behind = a.last_contact_ms < b.horizon_ms;
  bool b_behind = b.last_contact_ms < a.horizon_ms;
  if (!a_behind) return false;
  if (!b_behind) return true;
  return std::tie(a.last_contact_ms, a_id) < std::tie(b.last_contact_ms, b_id);
}

std::string random_nonce() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  return hex(b, sizeof b);
}

}  // namespace sg
