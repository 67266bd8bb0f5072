// In-memory X.509 material for loopback TLS: a throwaway certificate authority (EC P-256) and the
// leaf certificates it issues. Used by the sandbox upstream and by tests; nothing touches disk
// unless a caller writes the PEM out.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace dfmcp::tls {

struct X509Deleter {
  void operator()(X509 *p) const { X509_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct LeafOptions {
  std::string common_name = "datafast-mcp sandbox";
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1"};
  long not_before_offset_s = -300;       // relative to now
  long not_after_offset_s = 30L * 86400; // relative to now; negative gives an expired certificate
};

struct Leaf {
  X509Ptr cert;
  PkeyPtr key;
};

class CertificateAuthority {
public:
  // A fresh CA with an EC P-256 key, CA:TRUE, valid from an hour ago for 30 days. Throws
  // std::runtime_error if OpenSSL fails.
  static CertificateAuthority generate(const std::string &common_name);

  // A leaf certificate for a TLS server, signed by this CA.
  Leaf issue(const LeafOptions &options) const;

  std::string pem() const; // the CA certificate, PEM
  X509 *cert() const { return cert_.get(); }
  // A new X509_STORE that trusts this CA only. The caller owns it (SSL_CTX_set_cert_store takes it).
  X509_STORE *new_store() const;

private:
  X509Ptr cert_;
  PkeyPtr key_;
};

// PEM text of a certificate.
std::string to_pem(X509 *cert);

} // namespace dfmcp::tls
