#pragma once
// Certificates for the TLS tests, made with the openssl command-line tool in a temporary
// folder at test time: a CA, a server certificate for 127.0.0.1, ::1 and localhost, one for
// another address, a client certificate, and an unrelated second CA.

#include <string>

#include "test/support/temp_dir.hpp"

namespace kepler::test {

/// Paths of PEM files in a temporary folder that lives as long as the object.
class test_certs {
 public:
  /// Generates every file (EC P-256 keys, valid for two days); throws std::runtime_error
  /// with openssl's output when a command fails.
  test_certs();
  test_certs(const test_certs&) = delete;
  test_certs& operator=(const test_certs&) = delete;

  /// One set shared by every test of the process (generated on first use).
  static const test_certs& shared();

  temp_dir folder;
  std::string dir;                              ///< folder.root()
  std::string ca_cert, ca_key;                  ///< the CA the clients trust
  std::string server_cert, server_key;          ///< signed by the CA; IP:127.0.0.1, IP:::1, DNS:localhost
  std::string wrong_host_cert, wrong_host_key;  ///< signed by the CA; only IP:10.255.255.1
  std::string client_cert, client_key;          ///< signed by the CA; extendedKeyUsage clientAuth
  std::string other_ca_cert, other_ca_key;      ///< a CA unrelated to the others
};

}  // namespace kepler::test
