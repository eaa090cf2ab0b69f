// A throw-away certificate authority for tests, made with the openssl CLI in a directory the
// caller owns: a CA certificate, then certificates it issues for servers (subjectAltName
// 127.0.0.1 and localhost, usable as client certificates too) and for clients (a common name,
// e.g. a PostgreSQL role for clientcert=verify-full). Keys are P-256, files mode 0600.
//
// Blocking (runs openssl); throws std::runtime_error when openssl fails.
#pragma once

#include <string>

namespace custos::test {

struct IssuedCertificate {
  std::string cert_file;
  std::string key_file;
};

class TestCa {
 public:
  // Makes <dir>/ca.crt and <dir>/ca.key (dir must exist).
  explicit TestCa(std::string dir);

  const std::string& ca_file() const { return ca_file_; }
  const std::string& dir() const { return dir_; }

  // <dir>/<name>.crt and <dir>/<name>.key with CN=common_name. `server`: subjectAltName
  // IP:127.0.0.1, DNS:localhost and both server and client usage; else client usage only.
  // A non-empty `key_password` encrypts the key (AES-256) with it.
  IssuedCertificate issue(const std::string& name, const std::string& common_name, bool server,
                          const std::string& key_password = "") const;

 private:
  std::string dir_, ca_file_, ca_key_;
};

}  // namespace custos::test
