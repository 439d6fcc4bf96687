// The revocation checker through the real HTTP adapter against a REAL `openssl ocsp` responder
// process: issuer-signed and delegated-responder answers, good and revoked, then the responder
// killed → fail closed. The responder is started with `-port 0` and its actual port is read
// from its "ACCEPT [::]:PORT" line, so there is no port race; it is always killed (RAII).
#include <fcntl.h>
#include <openssl/bn.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/http/http_client.h"
#include "libs/status/errors.h"
#include "services/sigverify/adapters/http_revocation_fetcher.h"
#include "services/sigverify/domain/revocation.h"
#include "services/sigverify/testing/test_pki.h"

extern char** environ;

namespace dvc::sigverify {
namespace {

using testing::CertSpec;
using testing::TestCert;
using testing::TestPki;

std::string TempDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  std::string base = d != nullptr ? d : "/tmp";
  std::string dir = base + "/ocsp.XXXXXX";
  std::vector<char> buf(dir.begin(), dir.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return base;
  return std::string(buf.data());
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string SerialHex(uint64_t serial) {  // as `openssl ocsp` looks it up (BN_bn2hex)
  BIGNUM* bn = BN_new();
  BN_set_word(bn, serial);
  char* hex = BN_bn2hex(bn);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string IndexTime(absl::Time t) {
  return absl::FormatTime("%y%m%d%H%M%SZ", t, absl::UTCTimeZone());
}

// An `openssl ocsp` responder child process; killed in the destructor.
class OcspResponder final {
 public:
  OcspResponder(const std::string& dir, const std::string& name, const std::string& signer,
                const std::string& key)
      : log_(dir + "/" + name + ".log") {
    const std::string index = dir + "/index.txt";
    const std::string ca = dir + "/ca.pem";
    std::vector<std::string> args = {"openssl",  "ocsp", "-index",   index, "-port", "0",
                                     "-rsigner", signer, "-rkey",    key,   "-CA",   ca,
                                     "-nmin",    "5",    "-timeout", "5"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~OcspResponder() { Kill(); }
  OcspResponder(const OcspResponder&) = delete;
  OcspResponder& operator=(const OcspResponder&) = delete;

  // Waits (≤ 10 s) until the responder printed its port and accepts connections; returns the
  // port, or 0 (with the log in `why`).
  int WaitReady(std::string* why) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    static const std::regex kAccept(R"(ACCEPT .*:(\d+))");
    while (absl::Now() < deadline && pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::smatch m;
      const std::string log = ReadFile(log_);
      // The line is printed once the socket listens. (Do not probe with an empty connection:
      // openssl 3.0's single-threaded responder then hangs on it until -timeout.)
      if (std::regex_search(log, m, kAccept)) {
        const int port = std::stoi(m[1].str());
        if (port > 0) return port;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    *why = "openssl ocsp did not start: " + ReadFile(log_);
    return 0;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

TEST(RevocationOpensslTest, RealOcspResponder) {
  const std::string dir = TempDir();
  TestPki pki;
  TestCert ca = pki.Root("OpenSSL OCSP Test CA");
  CertSpec responder_spec = CertSpec::Leaf({{"C", "VN"}, {"CN", "OpenSSL OCSP Test Responder"}});
  responder_spec.key_usage = testing::kDigitalSignature;
  responder_spec.extended_key_usage = {"OCSPSigning"};
  responder_spec.ocsp_no_check = true;
  TestCert responder = pki.Issue(ca, responder_spec);
  CertSpec no_eku_spec = responder_spec;
  no_eku_spec.extended_key_usage.clear();
  TestCert responder_no_eku = pki.Issue(ca, no_eku_spec);

  // Serials fixed in advance: the index must exist before the responder (whose port goes into
  // the certificates) starts.
  const uint64_t base = 0x5000000 + static_cast<uint64_t>(getpid() & 0xffff) * 16;
  const uint64_t good_serial = base + 1, revoked_serial = base + 2;
  const absl::Time expiry = absl::Now() + absl::Hours(24 * 365);
  const absl::Time revoked_at = absl::Now() - absl::Hours(3);
  WriteFile(dir + "/index.txt",
            absl::StrCat("V\t", IndexTime(expiry), "\t\t", SerialHex(good_serial),
                         "\tunknown\t/C=VN/CN=Good\n", "R\t", IndexTime(expiry), "\t",
                         IndexTime(revoked_at), ",keyCompromise\t", SerialHex(revoked_serial),
                         "\tunknown\t/C=VN/CN=Revoked\n"));
  WriteFile(dir + "/ca.pem", ca.Pem());
  WriteFile(dir + "/ca.key", ca.KeyPem());
  WriteFile(dir + "/responder.pem", responder.Pem());
  WriteFile(dir + "/responder.key", responder.KeyPem());
  WriteFile(dir + "/responder_no_eku.pem", responder_no_eku.Pem());
  WriteFile(dir + "/responder_no_eku.key", responder_no_eku.KeyPem());

  auto issue = [&](const char* cn, uint64_t serial, int port) {
    CertSpec spec = CertSpec::Leaf({{"C", "VN"}, {"CN", cn}});
    spec.serial = serial;
    spec.ocsp_url = absl::StrCat("http://127.0.0.1:", port, "/");
    return pki.Issue(ca, spec);
  };

  SystemClock clock;
  http::HttpClient client;
  HttpRevocationFetcher fetcher(&client);
  RevocationConfig config;
  config.ocsp_timeout = absl::Seconds(5);

  // 1. Issuer-signed answers.
  {
    OcspResponder server(dir, "issuer", dir + "/ca.pem", dir + "/ca.key");
    std::string why;
    const int port = server.WaitReady(&why);
    ASSERT_GT(port, 0) << why;
    TestCert good = issue("Good", good_serial, port);
    TestCert revoked = issue("Revoked", revoked_serial, port);
    TestCert absent = issue("Absent", base + 3, port);
    OcspCrlRevocationChecker checker(&fetcher, &clock, config);

    absl::StatusOr<RevocationStatus> r = checker.CheckPath(
        ValidatedPath{{good.cert, ca.cert}}, clock.Now(), RevocationPolicy::kFailClosed);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->state, RevocationStatus::State::kGood);
    EXPECT_EQ(r->source, "ocsp");
    // -nmin 5: nextUpdate five minutes after thisUpdate.
    EXPECT_EQ(r->next_update - r->this_update, absl::Minutes(5));

    r = checker.CheckPath(ValidatedPath{{revoked.cert, ca.cert}}, clock.Now(),
                          RevocationPolicy::kFailClosed);
    ASSERT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED") << r.status();
    auto info = status::GetErrorInfo(r.status());
    EXPECT_EQ(info->metadata["revoked_at"],
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", revoked_at, absl::UTCTimeZone()));
    EXPECT_EQ(info->metadata["reason"], "1");  // keyCompromise

    // Not in the index: `unknown` → not established → fail closed.
    r = checker.CheckPath(ValidatedPath{{absent.cert, ca.cert}}, clock.Now(),
                          RevocationPolicy::kFailClosed);
    EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOCATION_UNKNOWN");
  }

  // 2. A delegated responder certificate with EKU OCSPSigning.
  {
    OcspResponder server(dir, "delegated", dir + "/responder.pem", dir + "/responder.key");
    std::string why;
    const int port = server.WaitReady(&why);
    ASSERT_GT(port, 0) << why;
    TestCert good = issue("Good", good_serial, port);
    TestCert revoked = issue("Revoked", revoked_serial, port);
    OcspCrlRevocationChecker checker(&fetcher, &clock, config);
    absl::StatusOr<RevocationStatus> r = checker.CheckPath(
        ValidatedPath{{good.cert, ca.cert}}, clock.Now(), RevocationPolicy::kFailClosed);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->state, RevocationStatus::State::kGood);
    r = checker.CheckPath(ValidatedPath{{revoked.cert, ca.cert}}, clock.Now(),
                          RevocationPolicy::kFailClosed);
    EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED") << r.status();
  }

  // 3. A "delegated" responder without OCSPSigning is not believed.
  {
    OcspResponder server(dir, "no_eku", dir + "/responder_no_eku.pem",
                         dir + "/responder_no_eku.key");
    std::string why;
    const int port = server.WaitReady(&why);
    ASSERT_GT(port, 0) << why;
    TestCert revoked = issue("Revoked", revoked_serial, port);
    OcspCrlRevocationChecker checker(&fetcher, &clock, config);
    absl::StatusOr<RevocationStatus> r = checker.CheckPath(
        ValidatedPath{{revoked.cert, ca.cert}}, clock.Now(), RevocationPolicy::kFailClosed);
    EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOCATION_UNKNOWN") << r.status();
  }

  // 4. Responder killed: fail closed (and fail open yields kUnknown).
  {
    OcspResponder server(dir, "killed", dir + "/ca.pem", dir + "/ca.key");
    std::string why;
    const int port = server.WaitReady(&why);
    ASSERT_GT(port, 0) << why;
    TestCert good = issue("Good", good_serial, port);
    server.Kill();
    OcspCrlRevocationChecker checker(&fetcher, &clock, config);
    const absl::Time start = absl::Now();
    absl::StatusOr<RevocationStatus> r = checker.CheckPath(
        ValidatedPath{{good.cert, ca.cert}}, clock.Now(), RevocationPolicy::kFailClosed);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOCATION_UNKNOWN");
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    r = checker.CheckPath(ValidatedPath{{good.cert, ca.cert}}, clock.Now(),
                          RevocationPolicy::kFailOpen);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->state, RevocationStatus::State::kUnknown);
  }
}

}  // namespace
}  // namespace dvc::sigverify
