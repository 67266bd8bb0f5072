#include "tls/certs.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace dfmcp::tls {

namespace {

struct BioDeleter {
  void operator()(BIO *p) const { BIO_free(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM *p) const { BN_free(p); }
};
struct ExtensionDeleter {
  void operator()(X509_EXTENSION *p) const { X509_EXTENSION_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, ExtensionDeleter>;

constexpr long kCaNotBeforeOffsetS = -3600;
constexpr long kCaNotAfterOffsetS = 30L * 86400;

[[noreturn]] void fail(const std::string &what) {
  // The OpenSSL error queue is per thread; draining it keeps a later, unrelated failure from
  // reporting this one.
  unsigned long code = ERR_get_error();
  std::string detail;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    detail = std::string(": ") + buf;
  }
  ERR_clear_error();
  throw std::runtime_error("tls: " + what + detail);
}

PkeyPtr generate_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key)
    fail("cannot generate an EC P-256 key");
  return key;
}

// A positive 128-bit random serial, as RFC 5280 asks for unpredictable serials of at most 20
// octets.
void set_random_serial(X509 *cert) {
  BignumPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
    fail("cannot generate a serial number");
  if (BN_is_zero(bn.get()) && BN_set_word(bn.get(), 1) != 1)
    fail("cannot generate a serial number");
  if (BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
    fail("cannot set the serial number");
}

void set_common_name(X509 *cert, const std::string &common_name) {
  X509_NAME *name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char *>(common_name.c_str()), -1,
                                 -1, 0) != 1)
    fail("cannot set the common name");
}

void set_validity(X509 *cert, long not_before_offset_s, long not_after_offset_s) {
  if (X509_gmtime_adj(X509_getm_notBefore(cert), not_before_offset_s) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), not_after_offset_s) == nullptr)
    fail("cannot set the validity period");
}

void add_extension(X509 *cert, X509V3_CTX *ctx, int nid, const std::string &value) {
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    fail("cannot add extension " + std::string(OBJ_nid2sn(nid)) + " = " + value);
}

X509Ptr new_certificate(EVP_PKEY *public_key, const std::string &common_name, long not_before_s,
                        long not_after_s) {
  X509Ptr cert(X509_new());
  if (!cert)
    fail("cannot allocate a certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1)
    fail("cannot set the certificate version");
  set_random_serial(cert.get());
  set_common_name(cert.get(), common_name);
  set_validity(cert.get(), not_before_s, not_after_s);
  if (X509_set_pubkey(cert.get(), public_key) != 1)
    fail("cannot set the public key");
  return cert;
}

void sign(X509 *cert, EVP_PKEY *issuer_key) {
  if (X509_sign(cert, issuer_key, EVP_sha256()) == 0)
    fail("cannot sign the certificate");
}

std::string subject_alt_names(const LeafOptions &options) {
  std::string out;
  for (const auto &dns : options.dns_names)
    out += (out.empty() ? "" : ",") + std::string("DNS:") + dns;
  for (const auto &ip : options.ip_addresses)
    out += (out.empty() ? "" : ",") + std::string("IP:") + ip;
  return out;
}

} // namespace

CertificateAuthority CertificateAuthority::generate(const std::string &common_name) {
  CertificateAuthority ca;
  ca.key_ = generate_key();
  ca.cert_ = new_certificate(ca.key_.get(), common_name, kCaNotBeforeOffsetS, kCaNotAfterOffsetS);
  X509 *cert = ca.cert_.get();
  if (X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1)
    fail("cannot set the CA issuer name");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
  sign(cert, ca.key_.get());
  return ca;
}

Leaf CertificateAuthority::issue(const LeafOptions &options) const {
  Leaf leaf;
  leaf.key = generate_key();
  leaf.cert = new_certificate(leaf.key.get(), options.common_name, options.not_before_offset_s,
                              options.not_after_offset_s);
  X509 *cert = leaf.cert.get();
  if (X509_set_issuer_name(cert, X509_get_subject_name(cert_.get())) != 1)
    fail("cannot set the leaf issuer name");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert_.get(), cert, nullptr, nullptr, 0);
  add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, &ctx, NID_key_usage, "critical,digitalSignature");
  add_extension(cert, &ctx, NID_ext_key_usage, "serverAuth");
  add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
  add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  if (std::string sans = subject_alt_names(options); !sans.empty())
    add_extension(cert, &ctx, NID_subject_alt_name, sans);
  sign(cert, key_.get());
  return leaf;
}

std::string CertificateAuthority::pem() const { return to_pem(cert_.get()); }

X509_STORE *CertificateAuthority::new_store() const {
  X509_STORE *store = X509_STORE_new();
  if (store == nullptr)
    fail("cannot allocate a certificate store");
  if (X509_STORE_add_cert(store, cert_.get()) != 1) {
    X509_STORE_free(store);
    fail("cannot add the CA to a certificate store");
  }
  return store;
}

std::string to_pem(X509 *cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    fail("cannot write the certificate as PEM");
  std::string out(BIO_ctrl_pending(bio.get()), '\0');
  if (!out.empty() &&
      BIO_read(bio.get(), out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size()))
    fail("cannot read the PEM text back");
  return out;
}

} // namespace dfmcp::tls
