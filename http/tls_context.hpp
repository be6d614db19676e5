#pragma once
// The server's TLS context (OpenSSL through Boost.Asio) built from `tls_server_config`.

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "base/result.hpp"
#include "http/web_config.hpp"

namespace kepler {

/// Loads the certificate, key and client CAs and applies the version, cipher, curve and
/// client-certificate settings. The error names the key whose value is at fault.
result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const tls_settings& tls);

}  // namespace kepler
