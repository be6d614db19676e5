#include "test/support/test_certs.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kepler::test {
namespace {

constexpr const char* openssl_config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = kepler-test
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
[wrong_host_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:10.255.255.1
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
)";

constexpr const char* new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc";

/// Runs one openssl command in `dir`; its output goes to a log that the error quotes.
void run(const std::string& dir, const std::string& arguments) {
  std::string log = dir + "/openssl.log";
  std::string command = "cd '" + dir + "' && openssl " + arguments + " > '" + log + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("openssl " + arguments + " failed: " + whole_file(log));
  }
}

void make_ca(const std::string& dir, const std::string& name) {
  run(dir, "req -x509 -config openssl.cnf -extensions ca_ext " + std::string(new_key) + " -keyout " + name +
               ".key -out " + name + ".crt -days 2 -subj '/CN=" + name + "'");
}

void make_leaf(const std::string& dir, const std::string& name, const std::string& extensions, int serial) {
  run(dir, "req -new -config openssl.cnf " + std::string(new_key) + " -keyout " + name + ".key -out " + name +
               ".csr -subj '/CN=" + name + "'");
  run(dir, "x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -set_serial " + std::to_string(serial) +
               " -days 2 -extfile openssl.cnf -extensions " + extensions + " -out " + name + ".crt");
}

}  // namespace

test_certs::test_certs() : dir(folder.root()) {
  write_text_file(dir + "/openssl.cnf", openssl_config);
  make_ca(dir, "other-ca");
  make_ca(dir, "ca");
  make_leaf(dir, "server", "server_ext", 2);
  make_leaf(dir, "wrong-host", "wrong_host_ext", 3);
  make_leaf(dir, "client", "client_ext", 4);
  auto path = [&](const char* file) { return dir + "/" + file; };
  ca_cert = path("ca.crt");
  ca_key = path("ca.key");
  server_cert = path("server.crt");
  server_key = path("server.key");
  wrong_host_cert = path("wrong-host.crt");
  wrong_host_key = path("wrong-host.key");
  client_cert = path("client.crt");
  client_key = path("client.key");
  other_ca_cert = path("other-ca.crt");
  other_ca_key = path("other-ca.key");
}

const test_certs& test_certs::shared() {
  static const test_certs certs;
  return certs;
}

}  // namespace kepler::test
