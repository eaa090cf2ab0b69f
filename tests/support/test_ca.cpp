#include "test_ca.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "child_process.h"

namespace custos::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, 30s);
  if (r.exit_code != 0)
    throw std::runtime_error("openssl " + args.front() + " failed (is the openssl CLI installed?): " + r.output);
}

const std::vector<std::string> kNewKey = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};

std::vector<std::string> join(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void owner_only(const std::string& path) {
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

}  // namespace

TestCa::TestCa(std::string dir) : dir_(std::move(dir)) {
  ca_file_ = dir_ + "/ca.crt";
  ca_key_ = dir_ + "/ca.key";
  openssl(join(join({"req", "-x509"}, kNewKey),
               {"-keyout", ca_key_, "-out", ca_file_, "-days", "2", "-subj", "/CN=custos-test-ca"}));
  owner_only(ca_key_);
}

IssuedCertificate TestCa::issue(const std::string& name, const std::string& common_name, bool server,
                                const std::string& key_password) const {
  IssuedCertificate out{dir_ + "/" + name + ".crt", dir_ + "/" + name + ".key"};
  const std::string csr = dir_ + "/" + name + ".csr", ext = dir_ + "/" + name + ".ext";
  {
    std::ofstream e(ext);
    if (server)
      e << "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n";
    else
      e << "extendedKeyUsage=clientAuth\n";
  }
  openssl(join(join({"req"}, kNewKey), {"-keyout", out.key_file, "-out", csr, "-subj", "/CN=" + common_name}));
  openssl({"x509", "-req", "-in", csr, "-CA", ca_file_, "-CAkey", ca_key_, "-CAcreateserial", "-out", out.cert_file,
           "-days", "2", "-extfile", ext});
  if (!key_password.empty()) {
    const std::string plain = out.key_file + ".plain";
    fs::rename(out.key_file, plain);
    openssl({"pkey", "-in", plain, "-aes256", "-passout", "pass:" + key_password, "-out", out.key_file});
    fs::remove(plain);
  }
  owner_only(out.key_file);
  std::error_code ec;
  fs::remove(csr, ec);
  fs::remove(ext, ec);
  return out;
}

}  // namespace custos::test
