#include "tests/support/tls_files.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

namespace sg::test {

namespace {

struct deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(std::FILE* f) const { std::fclose(f); }
};
template <class T>
using owned = std::unique_ptr<T, deleter>;

bool add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool make(const std::string& cert_path, const std::string& key_path, const std::string& cn) {
  owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  owned<X509> cert(X509_new());
  if (!key || !cert) return false;
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_ext(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_ext(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return false;
  owned<std::FILE> kf(std::fopen(key_path.c_str(), "w"));
  owned<std::FILE> cf(std::fopen(cert_path.c_str(), "w"));
  return kf && cf &&
         PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
         PEM_write_X509(cf.get(), cert.get()) == 1;
}

}  // namespace

tls_files write_self_signed_cert(const std::string& dir, const std::string& stem,
                                 const std::string& common_name) {
  tls_files f{dir + "/" + stem + ".crt", dir + "/" + stem + ".key"};
  bool ok = make(f.cert, f.key, common_name);
  INFO("writing " << f.cert << " and " << f.key);
  REQUIRE(ok);
  return f;
}

}  // namespace sg::test
