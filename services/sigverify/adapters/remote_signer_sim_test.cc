// MsspClient and SmartCaClient against the real provider simulators (tools/sim/simulators.py,
// started here as a child process on free ports) with a small test PKI written to
// $TEST_TMPDIR as a Contract A manifest. Every scripted outcome of the simulators is driven
// through their admin API, and approved signatures are verified with the certificate's public
// key (PKCS#1 v1.5 over the SHA-256 DigestInfo).
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/crypto/encoding.h"
#include "libs/http/http_client.h"
#include "libs/jwt/json.h"
#include "libs/status/errors.h"
#include "services/sigverify/adapters/mssp_client.h"
#include "services/sigverify/adapters/smartca_client.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using testing::CertSpec;
using testing::TestCert;
using testing::TestPki;

constexpr char kPhone[] = "84987654321";
constexpr char kUnknownPhone[] = "84911111111";
constexpr char kSmartCaUser[] = "079200001234";

std::string Sha256(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

// PKCS#1 v1.5 verification of `sig` over DigestInfo(SHA-256(`digest`)) with `cert_der`'s key.
bool VerifyPkcs1(const std::string& cert_der, const std::string& digest, const std::string& sig) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert_der.data());
  std::unique_ptr<X509, decltype(&X509_free)> x(
      d2i_X509(nullptr, &p, static_cast<long>(cert_der.size())), X509_free);
  if (x == nullptr) return false;
  EVP_PKEY* key = X509_get0_pubkey(x.get());
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  const std::string tbs = Sha256DigestInfo(digest);
  return EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                         sig.size(), reinterpret_cast<const unsigned char*>(tbs.data()),
                         tbs.size()) == 1;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

std::string Runfile(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return rel;
  return absl::StrCat(srcdir, "/", ws != nullptr ? ws : "dvc_identity", "/", rel);
}

// The simulators process: started with every port 0, stopped (SIGTERM, then SIGKILL) at the end.
class Simulators final {
 public:
  bool Start(const std::string& manifest, std::string* error) {
    const std::string script = Runfile("tools/sim/simulators.py");
    if (access(script.c_str(), R_OK) != 0) {
      *error = "tools/sim/simulators.py not found at " + script;
      return false;
    }
    int out[2];
    if (pipe(out) != 0) {
      *error = "pipe failed";
      return false;
    }
    std::vector<std::string> args = {"python3",
                                     script,
                                     "--telco_port=0",
                                     "--population_port=0",
                                     "--sms_port=0",
                                     "--mssp_port=0",
                                     "--smartca_port=0",
                                     "--pki_manifest=" + manifest,
                                     "--mssp_default_delay_ms=150",
                                     "--smartca_default_delay_ms=150"};
    pid_ = fork();
    if (pid_ < 0) {
      *error = "fork failed";
      return false;
    }
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (access("/usr/bin/python3", X_OK) == 0) execv("/usr/bin/python3", argv.data());
      execvp("python3", argv.data());
      _exit(127);
    }
    close(out[1]);
    out_fd_ = out[0];
    // Wait for SIM_READY=1 (all SIM_*_URL lines come in one write before it).
    std::string buf;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!absl::StrContains(buf, "SIM_READY=1\n")) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        *error = "simulators did not print SIM_READY=1 within 60 s; stdout: " + buf;
        return false;
      }
      pollfd pfd{out_fd_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left))) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) {
        *error = "simulators exited before SIM_READY=1 (see stderr in the test log); stdout: " +
                 buf;
        return false;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
    for (absl::string_view line : absl::StrSplit(buf, '\n')) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (absl::StartsWith(kv.first, "SIM_") && absl::EndsWith(kv.first, "_URL")) {
        urls_[kv.first] = kv.second;
      }
    }
    return true;
  }

  ~Simulators() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      bool gone = false;
      for (int i = 0; i < 100 && !gone; ++i) {
        gone = waitpid(pid_, &st, WNOHANG) == pid_;
        if (!gone) absl::SleepFor(absl::Milliseconds(50));
      }
      if (!gone) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
      }
    }
    if (out_fd_ >= 0) close(out_fd_);
  }

  std::string Url(const std::string& name) const {
    auto it = urls_.find(name);
    return it == urls_.end() ? "" : it->second;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::map<std::string, std::string> urls_;
};

struct Env {
  TestPki pki;
  TestCert root, ca, sim_leaf, smartca_leaf;
  std::unique_ptr<Simulators> sims;
  std::string error;
};

Env* g_env = nullptr;

class RemoteSignerSimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_env = new Env();
    Env& e = *g_env;
    e.root = e.pki.Root("Vietnam National Root CA (TEST)");
    e.ca = e.pki.Intermediate(e.root, "Viettel-CA (TEST)");
    e.sim_leaf = e.pki.Issue(
        e.ca, CertSpec::Leaf({{"CN", "Trần Thị Bình"}, {"UID", "CCCD:079199012345"},
                              {"telephoneNumber", kPhone}}));
    e.smartca_leaf = e.pki.Issue(
        e.ca, CertSpec::Leaf({{"CN", "Lê Văn Cường"}, {"UID", "CCCD:079200001234"}}));

    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/remote_signer_pki");
    mkdir(dir.c_str(), 0700);
    auto write_cert = [&](const std::string& name, const TestCert& leaf) {
      WriteFile(dir + "/" + name + ".pem", leaf.Pem());
      WriteFile(dir + "/" + name + ".key", leaf.KeyPem());
      WriteFile(dir + "/" + name + ".chain.pem", leaf.Pem() + e.ca.Pem());
    };
    write_cert("citizen-sim", e.sim_leaf);
    write_cert("citizen-smartca", e.smartca_leaf);
    auto entry = [&](const std::string& name) {
      jwt::JsonObjectBuilder b;
      b.String("cert", dir + "/" + name + ".pem")
          .String("key", dir + "/" + name + ".key")
          .String("chain", dir + "/" + name + ".chain.pem")
          .String("issuer", "viettel-ca")
          .String("kind", "person")
          .String("expect", "ok");
      return b;
    };
    jwt::JsonObjectBuilder certs;
    certs.Object("citizen-sim", entry("citizen-sim").String("phone", kPhone));
    certs.Object("citizen-smartca",
                 entry("citizen-smartca").String("smartca_user_id", kSmartCaUser));
    const std::string manifest = dir + "/manifest.json";
    WriteFile(manifest, jwt::JsonObjectBuilder().Object("certs", certs).Build());

    e.sims = std::make_unique<Simulators>();
    if (!e.sims->Start(manifest, &e.error)) e.sims.reset();
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(g_env->sims, nullptr) << g_env->error;
    mssp_url_ = g_env->sims->Url("SIM_MSSP_URL");
    smartca_url_ = g_env->sims->Url("SIM_SMARTCA_URL");
    ASSERT_FALSE(mssp_url_.empty());
    ASSERT_FALSE(smartca_url_.empty());
    Admin(mssp_url_, "/admin/reset", "{}");
    Admin(smartca_url_, "/admin/reset", "{}");
  }

  void Admin(const std::string& base, const std::string& path, const std::string& body) {
    http::HttpRequest req;
    req.method = "POST";
    req.url = base + path;
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body;
    absl::StatusOr<http::HttpResponse> r = http_.Do(req);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << path << " " << r->body;
  }
  void MsspBehaviour(const std::string& outcome, int delay_ms = 100) {
    Admin(mssp_url_, "/admin/mssp/behaviour",
          jwt::JsonObjectBuilder()
              .String("msisdn", kPhone)
              .String("outcome", outcome)
              .Int("delay_ms", delay_ms)
              .Int("count", 1)
              .Build());
  }
  void SmartCaBehaviour(const std::string& outcome, int delay_ms = 100) {
    Admin(smartca_url_, "/admin/smartca/behaviour",
          jwt::JsonObjectBuilder()
              .String("user_id", kSmartCaUser)
              .String("outcome", outcome)
              .Int("delay_ms", delay_ms)
              .Int("count", 1)
              .Build());
  }

  MsspConfig Mssp() {
    MsspConfig c;
    c.url = mssp_url_ + "/soap";
    c.ap_id = "dvc-ap";
    c.ap_password = "dvc-ap-secret";
    c.mssp_id = "http://mssp.sim.dvc.local";
    c.request_timeout = absl::Seconds(10);
    return c;
  }
  SmartCaConfig SmartCa() {
    SmartCaConfig c;
    c.base_url = smartca_url_;
    c.sp_id = "dvc-sp";
    c.sp_password = "dvc-sp-secret";
    c.request_timeout = absl::Seconds(10);
    return c;
  }
  RemoteSignRequest Request(const std::string& subscriber, const std::string& what) {
    RemoteSignRequest r;
    r.subscriber = subscriber;
    r.digest_sha256 = Sha256(what);
    r.display_text = "Dịch vụ công: đăng nhập - Mã xác nhận: " + VerificationCode(r.digest_sha256);
    r.transaction_id = absl::StrCat("tx-", absl::ToUnixNanos(absl::Now()));
    r.timeout = absl::Seconds(30);
    return r;
  }

  // Start, then poll until a final outcome (pending at least once when delay > 0).
  absl::StatusOr<RemoteSignOutcome> SignAndWait(RemoteSigner& signer,
                                                const RemoteSignRequest& req,
                                                RemoteSignStarted* started_out = nullptr,
                                                int* pending_polls = nullptr) {
    absl::StatusOr<RemoteSignStarted> started = signer.Start(req);
    if (!started.ok()) return started.status();
    if (started_out != nullptr) *started_out = *started;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      absl::StatusOr<RemoteSignOutcome> out = signer.Poll(started->provider_transaction_id);
      if (!out.ok() || !out->pending) return out;
      if (pending_polls != nullptr) ++*pending_polls;
      absl::SleepFor(absl::Milliseconds(40));
    }
    return absl::DeadlineExceededError("still pending after 20 s");
  }

  std::string mssp_url_, smartca_url_;
  http::HttpClient http_;
  SystemClock clock_;
};

TEST_F(RemoteSignerSimTest, MsspApproveGivesAVerifiableSignatureAndTheChain) {
  MsspClient client(Mssp(), &http_, &clock_);
  MsspBehaviour("approve", 300);
  const RemoteSignRequest req = Request(kPhone, "challenge-approve");
  int pending = 0;
  absl::StatusOr<RemoteSignOutcome> out = SignAndWait(client, req, nullptr, &pending);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->pending);
  EXPECT_GT(pending, 0);
  ASSERT_EQ(out->chain_der.size(), 2u);
  EXPECT_EQ(out->chain_der[0], g_env->sim_leaf.Der());
  EXPECT_EQ(out->chain_der[1], g_env->ca.Der());
  EXPECT_TRUE(VerifyPkcs1(out->chain_der[0], req.digest_sha256, out->signature));
  // Over that digest only.
  EXPECT_FALSE(VerifyPkcs1(out->chain_der[0], Sha256("something else"), out->signature));
}

TEST_F(RemoteSignerSimTest, MsspScriptedOutcomes) {
  MsspClient client(Mssp(), &http_, &clock_);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cancel", "SIGNER_USER_CANCELLED"},   {"timeout", "SIGNER_TIMEOUT"},
      {"pin_blocked", "SIGNER_PIN_BLOCKED"}, {"no_cert", "SIGNER_NO_CERTIFICATE"},
      {"unreachable", "SIGNER_UNREACHABLE"},
  };
  for (const auto& [outcome, reason] : cases) {
    MsspBehaviour(outcome);
    absl::StatusOr<RemoteSignOutcome> out = SignAndWait(client, Request(kPhone, outcome));
    EXPECT_EQ(status::ReasonOf(out.status()), reason) << outcome << ": " << out.status();
  }
}

TEST_F(RemoteSignerSimTest, MsspBadSignatureDoesNotVerify) {
  MsspClient client(Mssp(), &http_, &clock_);
  MsspBehaviour("bad_signature");
  const RemoteSignRequest req = Request(kPhone, "challenge-bad");
  absl::StatusOr<RemoteSignOutcome> out = SignAndWait(client, req);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_FALSE(out->chain_der.empty());
  EXPECT_FALSE(out->signature.empty());
  EXPECT_FALSE(VerifyPkcs1(out->chain_der[0], req.digest_sha256, out->signature));
}

TEST_F(RemoteSignerSimTest, MsspUnknownPhoneWrongCredentialsAndProviderFailure) {
  MsspClient client(Mssp(), &http_, &clock_);
  absl::Status s = client.Start(Request(kUnknownPhone, "x")).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_NO_CERTIFICATE") << s;
  EXPECT_EQ(status::GetErrorInfo(s)->message_en,
            "This phone number has no SIM signature service.");

  MsspConfig bad = Mssp();
  bad.ap_password = "wrong";
  MsspClient wrong(bad, &http_, &clock_);
  EXPECT_EQ(status::ReasonOf(wrong.Start(Request(kPhone, "x")).status()),
            "SIGNER_PROVIDER_ERROR");

  Admin(mssp_url_, "/admin/faults", R"({"mode":"error","count":1})");
  s = client.Start(Request(kPhone, "x")).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);

  EXPECT_EQ(status::ReasonOf(client.Poll("mssp-no-such-transaction").status()),
            "SIGNER_PROVIDER_ERROR");
}

TEST_F(RemoteSignerSimTest, SmartCaApproveGivesAVerifiableSignatureAndTheChainAtStart) {
  SmartCaClient client(SmartCa(), &http_, &clock_);
  SmartCaBehaviour("approve", 300);
  const RemoteSignRequest req = Request(kSmartCaUser, "challenge-smartca");
  RemoteSignStarted started;
  int pending = 0;
  absl::StatusOr<RemoteSignOutcome> out = SignAndWait(client, req, &started, &pending);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_GT(pending, 0);
  ASSERT_EQ(started.chain_der.size(), 2u);
  EXPECT_EQ(started.chain_der[0], g_env->smartca_leaf.Der());
  EXPECT_EQ(started.chain_der[1], g_env->ca.Der());
  EXPECT_TRUE(VerifyPkcs1(started.chain_der[0], req.digest_sha256, out->signature));
  EXPECT_FALSE(VerifyPkcs1(started.chain_der[0], Sha256("other"), out->signature));
}

TEST_F(RemoteSignerSimTest, SmartCaScriptedOutcomes) {
  SmartCaClient client(SmartCa(), &http_, &clock_);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"reject", "SIGNER_USER_CANCELLED"},
      {"expire", "SIGNER_TIMEOUT"},
      {"fail", "SIGNER_PROVIDER_ERROR"},
  };
  for (const auto& [outcome, reason] : cases) {
    SmartCaBehaviour(outcome);
    absl::StatusOr<RemoteSignOutcome> out = SignAndWait(client, Request(kSmartCaUser, outcome));
    EXPECT_EQ(status::ReasonOf(out.status()), reason) << outcome << ": " << out.status();
  }

  SmartCaBehaviour("bad_signature");
  const RemoteSignRequest req = Request(kSmartCaUser, "bad");
  RemoteSignStarted started;
  absl::StatusOr<RemoteSignOutcome> out = SignAndWait(client, req, &started);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(VerifyPkcs1(started.chain_der[0], req.digest_sha256, out->signature));
}

TEST_F(RemoteSignerSimTest, SmartCaUnknownUserWrongCredentialsAndProviderFailure) {
  SmartCaClient client(SmartCa(), &http_, &clock_);
  EXPECT_EQ(status::ReasonOf(client.Start(Request("nobody-here", "x")).status()),
            "SIGNER_NO_CERTIFICATE");

  SmartCaConfig bad = SmartCa();
  bad.sp_password = "wrong";
  SmartCaClient wrong(bad, &http_, &clock_);
  EXPECT_EQ(status::ReasonOf(wrong.Start(Request(kSmartCaUser, "x")).status()),
            "SIGNER_PROVIDER_ERROR");

  Admin(smartca_url_, "/admin/faults", R"({"mode":"error","count":1})");
  absl::Status s = client.Start(Request(kSmartCaUser, "x")).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);

  EXPECT_EQ(status::ReasonOf(client.Poll("no-such-transaction").status()),
            "SIGNER_PROVIDER_ERROR");
}

}  // namespace
}  // namespace dvc::sigverify
