#include "http/tls_context.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string_view>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace kepler {
namespace {

namespace ssl = boost::asio::ssl;
using context_ptr = std::shared_ptr<ssl::context>;

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

/// "what: why" for an OpenSSL failure reported through Asio's error codes.
std::string failure(const std::string& what, const boost::system::error_code& ec) { return what + ": " + ec.message(); }

/// TLS 1.2 suites when the web config names none: forward secrecy (ECDHE) and AEAD ciphers
/// only, as Mozilla's "intermediate" profile without DHE. Go's crypto/tls default also offers
/// ECDHE with AES-CBC-SHA; static RSA key exchange, CBC-SHA256 (LUCKY13) and 3DES (SWEET32)
/// are offered by neither. TLS 1.3 keeps OpenSSL's suites, all of them AEAD.
constexpr const char* default_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// Key exchange groups when curve_preferences is not given: Go's, less P-521 (slow, and
/// nothing needs it).
constexpr const char* default_groups = "X25519:P-256:P-384";

/// Cipher suite names are Go's (IANA); OpenSSL names them its own way. They are looked up
/// among every suite this OpenSSL has, so that a user may still list a legacy suite (e.g.
/// TLS_RSA_WITH_AES_128_CBC_SHA for an old client) that the default leaves out. TLS 1.3 suites
/// are not configurable in Go and are skipped here too.
result<std::string> openssl_cipher_list(const std::vector<std::string>& names) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> all(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!all || SSL_CTX_set_cipher_list(all.get(), "ALL") != 1)
    return make_error("tls_server_config.cipher_suites: " + openssl_error());
  const STACK_OF(SSL_CIPHER)* available = SSL_CTX_get_ciphers(all.get());
  std::string list;
  for (const auto& name : names) {
    const SSL_CIPHER* found = nullptr;
    for (int i = 0; i < sk_SSL_CIPHER_num(available); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(available, i);
      if (name == SSL_CIPHER_standard_name(c)) found = c;
    }
    if (!found)
      return make_error("tls_server_config.cipher_suites: " + name + " is unknown or disabled in this OpenSSL");
    if (std::string_view(SSL_CIPHER_get_version(found)) == "TLSv1.3") continue;
    list += (list.empty() ? "" : ":") + std::string(SSL_CIPHER_get_name(found));
  }
  return list;
}

/// Every SAN of a certificate as Go prints it: DNS names, emails, IPs, URIs.
std::vector<std::string> subject_alt_names(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* text = name->d.ia5;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), ASN1_STRING_length(text));
    } else if (name->type == GEN_IPADD) {
      const int size = ASN1_STRING_length(name->d.ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((size == 4 || size == 16) &&
          inet_ntop(size == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(name->d.ip), text, sizeof text))
        out.emplace_back(text);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

/// Client CAs: trusted for verification and named to clients in the handshake.
result<bool> load_client_cas(SSL_CTX* native, const std::string& pem, const std::string& key) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    const bool ok =
        X509_STORE_add_cert(SSL_CTX_get_cert_store(native), cert) == 1 && SSL_CTX_add_client_CA(native, cert) == 1;
    X509_free(cert);
    if (!ok) {
      BIO_free(bio);
      return make_error(key + ": " + openssl_error());
    }
    ++count;
  }
  BIO_free(bio);
  ERR_clear_error();  // the read that ended the loop
  if (count == 0) return make_error(key + ": no PEM certificate found");
  return true;
}

result<std::string> read_file(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) return make_error(key + ": cannot read " + path);
  return text;
}

result<bool> load_identity(ssl::context& ctx, const tls_settings& tls) {
  boost::system::error_code ec;
  if (!tls.cert_file.empty()) ctx.use_certificate_chain_file(tls.cert_file, ec);
  else ctx.use_certificate_chain(boost::asio::buffer(tls.cert), ec);
  if (ec)
    return make_error(
        failure(tls.cert_file.empty() ? "tls_server_config.cert" : "tls_server_config.cert_file " + tls.cert_file, ec));
  if (!tls.key_file.empty()) ctx.use_private_key_file(tls.key_file, ssl::context::pem, ec);
  else ctx.use_private_key(boost::asio::buffer(tls.key), ssl::context::pem, ec);
  const auto key_name =
      tls.key_file.empty() ? std::string("tls_server_config.key") : "tls_server_config.key_file " + tls.key_file;
  if (ec) return make_error(failure(key_name, ec));
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return make_error(key_name + ": does not match the certificate (" + openssl_error() + ")");
  return true;
}

result<bool> apply_protocol(SSL_CTX* native, const tls_settings& tls) {
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their record buffers back (about 34 KiB each): a keep-alive client
  // between scrapes, or a flood of idle ones, costs little memory.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_min_proto_version(native, static_cast<int>(tls.min_version)) != 1)
    return make_error("tls_server_config.min_version: " + openssl_error());
  if (tls.max_version && SSL_CTX_set_max_proto_version(native, static_cast<int>(*tls.max_version)) != 1)
    return make_error("tls_server_config.max_version: " + openssl_error());
  std::string ciphers = default_tls12_ciphers;
  if (!tls.cipher_suites.empty()) {
    auto list = openssl_cipher_list(tls.cipher_suites);
    if (!list) return make_error(list.error_message());
    if (!list.value().empty()) ciphers = list.value();  // only TLS 1.3 names: the default for 1.2
  }
  if (SSL_CTX_set_cipher_list(native, ciphers.c_str()) != 1)
    return make_error("tls_server_config.cipher_suites: " + openssl_error());
  std::string groups = default_groups;
  if (!tls.curve_groups.empty()) {
    groups.clear();
    for (const auto& g : tls.curve_groups) groups += (groups.empty() ? "" : ":") + g;
  }
  if (SSL_CTX_set1_groups_list(native, groups.c_str()) != 1)
    return make_error("tls_server_config.curve_preferences: " + openssl_error());
  // Session resumption with client certificates needs an id context.
  static constexpr unsigned char session_context[] = "kepler";
  SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
  return true;
}

result<bool> apply_client_auth(ssl::context& ctx, const tls_settings& tls) {
  const bool verify = tls.client_auth_type == client_auth::verify_client_cert_if_given ||
                      tls.client_auth_type == client_auth::require_and_verify_client_cert;
  const bool require = tls.client_auth_type == client_auth::require_any_client_cert ||
                       tls.client_auth_type == client_auth::require_and_verify_client_cert;
  if (tls.client_auth_type == client_auth::no_client_cert) {
    ctx.set_verify_mode(ssl::verify_none);
    return true;
  }
  if (!tls.client_ca_file.empty() || !tls.client_ca.empty()) {
    const auto key = tls.client_ca_file.empty() ? std::string("tls_server_config.client_ca")
                                                : "tls_server_config.client_ca_file " + tls.client_ca_file;
    auto pem = tls.client_ca_file.empty() ? result<std::string>(tls.client_ca) : read_file(tls.client_ca_file, key);
    if (!pem) return make_error(pem.error_message());
    auto loaded = load_client_cas(ctx.native_handle(), pem.value(), key);
    if (!loaded) return loaded;
  }
  ctx.set_verify_mode(ssl::verify_peer | (require ? ssl::verify_fail_if_no_peer_cert : 0));
  ctx.set_verify_callback([verify, sans = tls.client_allowed_sans](bool preverified, ssl::verify_context& vc) {
    if (!verify) return true;  // Request/RequireAny: take whatever certificate is sent
    if (!preverified || sans.empty()) return preverified;
    X509_STORE_CTX* store = vc.native_handle();
    if (X509_STORE_CTX_get_error_depth(store) != 0) return true;  // SANs are the leaf's
    const auto names = subject_alt_names(X509_STORE_CTX_get_current_cert(store));
    const bool allowed = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return std::find(sans.begin(), sans.end(), n) != sans.end();
    });
    if (!allowed) X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return allowed;
  });
  return true;
}

}  // namespace

result<context_ptr> make_tls_context(const tls_settings& tls) {
  ERR_clear_error();
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    if (auto applied = apply_protocol(ctx->native_handle(), tls); !applied) return make_error(applied.error_message());
    if (auto loaded = load_identity(*ctx, tls); !loaded) return make_error(loaded.error_message());
    if (auto applied = apply_client_auth(*ctx, tls); !applied) return make_error(applied.error_message());
    return ctx;
  } catch (const std::exception& e) {
    return make_error(std::string("tls_server_config: ") + e.what());
  }
}

}  // namespace kepler
