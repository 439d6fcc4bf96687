// End to end: the sigverify service in the running stack, against the test PKI (tools/pki) with
// its real OCSP responders and CRLs, USB keys held in SoftHSM2 and signed through PKCS#11 (the
// plug-in's role, tools/usb_signer), the MSSP simulator (ETSI TS 102 204) and the SmartCA
// simulator. Every certificate in the PKI's manifest is tried, with the outcome it declares.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/server/call.h"
#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
#include "tests/e2e/pki.h"
#include "tests/e2e/stack.h"

namespace dvc::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace pb = ::dvc::sigverify::v1;

pb::SubjectKind KindOf(const std::string& kind) {
  if (kind == "person") return pb::SUBJECT_KIND_PERSON;
  if (kind == "business") return pb::SUBJECT_KIND_BUSINESS;
  if (kind == "agency") return pb::SUBJECT_KIND_AGENCY;
  if (kind == "seal") return pb::SUBJECT_KIND_SEAL;
  return pb::SUBJECT_KIND_UNSPECIFIED;
}

class SigverifyE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    stub_ = pb::SigverifyService::NewStub(server::Dial(Env("SIGVERIFY_ADDR")));
    ASSERT_FALSE(TheManifest().certs.empty()) << "no certificates in the PKI manifest";
  }

  pb::Challenge Issue(const std::string& flow) {
    pb::IssueChallengeRequest req;
    req.set_flow_id(flow);
    req.set_purpose(pb::PURPOSE_REGISTRATION);
    pb::Challenge c;
    grpc::Status g = stub_->IssueChallenge(Ctx().get(), req, &c);
    EXPECT_TRUE(g.ok()) << g.error_message();
    return c;
  }

  grpc::Status Verify(const std::string& flow, const pb::Challenge& c, pb::SignatureFormat format,
                      const std::string& sig, const std::string& cert,
                      const std::vector<std::string>& chain, pb::VerifiedCertificate* out) {
    pb::VerifyChallengeSignatureRequest req;
    req.set_challenge_id(c.challenge_id());
    req.set_flow_id(flow);
    req.set_purpose(pb::PURPOSE_REGISTRATION);
    req.set_format(format);
    req.set_signature(sig);
    req.set_certificate(cert);
    for (const auto& d : chain) req.add_chain(d);
    return stub_->VerifyChallengeSignature(Ctx().get(), req, out);
  }

  // Starts a remote signature and polls until it is done or fails.
  grpc::Status Remote(pb::RemoteProvider provider, const std::string& subscriber,
                      pb::VerifiedCertificate* out, std::string* code = nullptr) {
    const std::string flow = absl::StrCat("e2e-remote-", absl::ToUnixNanos(absl::Now()));
    pb::StartRemoteSignatureRequest sreq;
    sreq.set_flow_id(flow);
    sreq.set_purpose(pb::PURPOSE_LOGIN);
    sreq.set_provider(provider);
    sreq.set_subscriber(subscriber);
    pb::RemoteSignatureTransaction tx;
    grpc::Status g = stub_->StartRemoteSignature(Ctx().get(), sreq, &tx);
    if (!g.ok()) return g;
    if (code != nullptr) *code = tx.verification_code();
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      pb::GetRemoteSignatureResultRequest preq;
      preq.set_transaction_id(tx.transaction_id());
      preq.set_flow_id(flow);
      preq.set_purpose(pb::PURPOSE_LOGIN);
      pb::RemoteSignatureResult r;
      g = stub_->GetRemoteSignatureResult(Ctx().get(), preq, &r);
      if (!g.ok()) return g;
      if (r.state() == pb::RemoteSignatureResult::STATE_DONE) {
        *out = r.certificate();
        return g;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "still pending after 30 s");
  }

  std::unique_ptr<pb::SigverifyService::Stub> stub_;
};

// Every USB certificate of the PKI, signed on its token, comes out as the manifest declares:
// verified with its identity, or refused with the exact reason.
TEST_F(SigverifyE2e, EveryTokenCertificateHasItsDeclaredOutcome) {
  int tried = 0;
  for (const auto& [name, mc] : TheManifest().certs) {
    if (mc.token.empty()) continue;
    SCOPED_TRACE(name);
    ++tried;
    const std::string flow = "e2e-usb-" + name;
    pb::Challenge c = Issue(flow);
    const bool ec = name.find("ecdsa") != std::string::npos;
    const std::string sig = TokenSign(mc, c.challenge(),
                                      ec ? usb_signer::SignatureFormat::kEcdsaSha256
                                         : usb_signer::SignatureFormat::kPkcs1Sha256);
    std::vector<std::string> chain(mc.chain_der.begin() + 1, mc.chain_der.end());
    pb::VerifiedCertificate out;
    grpc::Status g = Verify(flow, c,
                            ec ? pb::SIGNATURE_FORMAT_ECDSA_SHA256
                               : pb::SIGNATURE_FORMAT_PKCS1_SHA256,
                            sig, mc.chain_der.front(), chain, &out);
    if (mc.expect == "ok") {
      ASSERT_TRUE(g.ok()) << ReasonOf(g) << ": " << g.error_message();
      EXPECT_EQ(out.subject_kind(), KindOf(mc.kind));
      EXPECT_EQ(out.method(), "USB");
      EXPECT_FALSE(out.revocation_source().empty());
      EXPECT_EQ(out.anchor_kind(), mc.issuer == "gov-ca" ? pb::ANCHOR_KIND_GOVERNMENT
                                                         : pb::ANCHOR_KIND_PUBLIC);
      std::vector<std::string> uids;
      for (const auto& u : out.uids()) uids.push_back(u.prefix() + ":" + u.value());
      EXPECT_EQ(uids, mc.uids);
    } else {
      EXPECT_FALSE(g.ok());
      EXPECT_EQ(ReasonOf(g), mc.expect) << g.error_message();
    }
  }
  EXPECT_GE(tried, 10);
}

TEST_F(SigverifyE2e, CmsFromTheTokenCarriesTheSignerCertificate) {
  const ManifestCert& mc = TheManifest().certs.at("citizen-usb");
  for (auto [fmt, pfmt] :
       {std::pair{usb_signer::SignatureFormat::kCmsDetached, pb::SIGNATURE_FORMAT_CMS_DETACHED},
        std::pair{usb_signer::SignatureFormat::kCmsAttached, pb::SIGNATURE_FORMAT_CMS_ATTACHED}}) {
    pb::Challenge c = Issue("e2e-cms");
    const std::string cms = TokenSign(mc, c.challenge(), fmt);
    std::vector<std::string> chain(mc.chain_der.begin() + 1, mc.chain_der.end());
    pb::VerifiedCertificate out;
    grpc::Status g = Verify("e2e-cms", c, pfmt, cms, "", chain, &out);
    ASSERT_TRUE(g.ok()) << ReasonOf(g) << ": " << g.error_message();
    EXPECT_EQ(out.certificate_der(), mc.chain_der.front());

    // Truncated CMS: refused, never a crash.
    pb::Challenge c2 = Issue("e2e-cms");
    g = Verify("e2e-cms", c2, pfmt, cms.substr(0, cms.size() / 2), "", chain, &out);
    EXPECT_EQ(ReasonOf(g), "SIGNATURE_MALFORMED");
  }
}

TEST_F(SigverifyE2e, BadSignaturesChainsAndReplaysAreRefused) {
  const ManifestCert& mc = TheManifest().certs.at("citizen-usb");
  std::vector<std::string> chain(mc.chain_der.begin() + 1, mc.chain_der.end());
  pb::VerifiedCertificate out;

  // A signature over another challenge.
  pb::Challenge c1 = Issue("e2e-bad");
  pb::Challenge c2 = Issue("e2e-bad");
  std::string sig2 = TokenSign(mc, c2.challenge(), usb_signer::SignatureFormat::kPkcs1Sha256);
  EXPECT_EQ(ReasonOf(Verify("e2e-bad", c1, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig2,
                            mc.chain_der.front(), chain, &out)),
            "SIGNATURE_INVALID");
  // The right signature, replayed after a success.
  ASSERT_TRUE(Verify("e2e-bad", c2, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig2,
                     mc.chain_der.front(), chain, &out)
                  .ok());
  EXPECT_EQ(ReasonOf(Verify("e2e-bad", c2, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig2,
                            mc.chain_der.front(), chain, &out)),
            "CHALLENGE_USED");
  // The chain without its intermediate.
  pb::Challenge c3 = Issue("e2e-bad");
  EXPECT_EQ(ReasonOf(Verify("e2e-bad", c3, pb::SIGNATURE_FORMAT_PKCS1_SHA256,
                            TokenSign(mc, c3.challenge(),
                                      usb_signer::SignatureFormat::kPkcs1Sha256),
                            mc.chain_der.front(), {}, &out)),
            "CERT_CHAIN_INCOMPLETE");
  // Garbage and truncated certificates; an oversized chain.
  pb::Challenge c4 = Issue("e2e-bad");
  const std::string sig4 = TokenSign(mc, c4.challenge(), usb_signer::SignatureFormat::kPkcs1Sha256);
  EXPECT_EQ(ReasonOf(Verify("e2e-bad", c4, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig4,
                            "not a certificate", chain, &out)),
            "CERT_MALFORMED");
  EXPECT_EQ(ReasonOf(Verify("e2e-bad", c4, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig4,
                            mc.chain_der.front().substr(0, 300), chain, &out)),
            "CERT_MALFORMED");
  EXPECT_EQ(ReasonOf(Verify("e2e-bad", c4, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig4,
                            mc.chain_der.front(), std::vector<std::string>(20, chain.front()),
                            &out)),
            "CERT_CHAIN_TOO_LONG");
  // Those malformed requests did not spend the challenge.
  EXPECT_TRUE(Verify("e2e-bad", c4, pb::SIGNATURE_FORMAT_PKCS1_SHA256, sig4,
                     mc.chain_der.front(), chain, &out)
                  .ok());
}

// SIM signatures through the MSSP simulator: every SIM certificate, then each scripted
// behaviour of the user's phone, each with its typed outcome.
TEST_F(SigverifyE2e, SimSignaturesAndThePhonesBehaviours) {
  const std::string mssp = Env("SIM_MSSP_URL");
  ASSERT_TRUE(Http("DELETE", mssp + "/admin/mssp/behaviour").ok());
  int tried = 0;
  for (const auto& [name, mc] : TheManifest().certs) {
    if (mc.phone.empty()) continue;
    SCOPED_TRACE(name);
    ++tried;
    pb::VerifiedCertificate out;
    std::string code;
    grpc::Status g = Remote(pb::REMOTE_PROVIDER_SIM, mc.phone, &out, &code);
    if (mc.expect == "ok") {
      ASSERT_TRUE(g.ok()) << ReasonOf(g) << ": " << g.error_message();
      EXPECT_EQ(out.method(), "SIM");
      EXPECT_EQ(out.certificate_der(), mc.chain_der.front());
      // The phone showed the same verification code as our screen.
      auto txs = Http("GET", mssp + "/admin/mssp/transactions?msisdn=" + mc.phone);
      ASSERT_TRUE(txs.ok());
      EXPECT_NE(txs->find(code), std::string::npos) << code;
    } else {
      EXPECT_EQ(ReasonOf(g), mc.expect) << g.error_message();
    }
  }
  EXPECT_GE(tried, 3);

  const std::string phone = TheManifest().certs.at("citizen-sim").phone;
  for (auto [outcome, reason] : std::vector<std::pair<std::string, std::string>>{
           {"cancel", "SIGNER_USER_CANCELLED"},
           {"timeout", "SIGNER_TIMEOUT"},
           {"pin_blocked", "SIGNER_PIN_BLOCKED"},
           {"no_cert", "SIGNER_NO_CERTIFICATE"},
           {"unreachable", "SIGNER_UNREACHABLE"},
           {"bad_signature", "SIGNATURE_INVALID"}}) {
    SCOPED_TRACE(outcome);
    ASSERT_TRUE(Http("POST", mssp + "/admin/mssp/behaviour",
                     absl::StrCat(R"({"msisdn":")", phone, R"(","outcome":")", outcome,
                                  R"(","delay_ms":100,"count":1})"))
                    .ok());
    pb::VerifiedCertificate out;
    EXPECT_EQ(ReasonOf(Remote(pb::REMOTE_PROVIDER_SIM, phone, &out)), reason);
  }
  // An unknown phone number.
  pb::VerifiedCertificate out;
  grpc::Status g = Remote(pb::REMOTE_PROVIDER_SIM, "0399999999", &out);
  EXPECT_FALSE(g.ok());
  EXPECT_EQ(ReasonOf(g), "SIGNER_NO_CERTIFICATE") << g.error_message();
}

TEST_F(SigverifyE2e, SmartCaSignaturesAndRejection) {
  const std::string smartca = Env("SIM_SMARTCA_URL");
  ASSERT_TRUE(Http("DELETE", smartca + "/admin/smartca/behaviour").ok());
  int tried = 0;
  for (const auto& [name, mc] : TheManifest().certs) {
    if (mc.smartca_user_id.empty()) continue;
    SCOPED_TRACE(name);
    ++tried;
    pb::VerifiedCertificate out;
    grpc::Status g = Remote(pb::REMOTE_PROVIDER_SMARTCA, mc.smartca_user_id, &out);
    ASSERT_TRUE(g.ok()) << ReasonOf(g) << ": " << g.error_message();
    EXPECT_EQ(out.method(), "SMARTCA");
    EXPECT_EQ(out.subject_kind(), KindOf(mc.kind));
  }
  EXPECT_GE(tried, 2);
  const std::string user = TheManifest().certs.at("citizen-smartca").smartca_user_id;
  ASSERT_TRUE(Http("POST", smartca + "/admin/smartca/behaviour",
                   absl::StrCat(R"({"user_id":")", user,
                                R"(","outcome":"reject","delay_ms":100,"count":1})"))
                  .ok());
  pb::VerifiedCertificate out;
  EXPECT_EQ(ReasonOf(Remote(pb::REMOTE_PROVIDER_SMARTCA, user, &out)), "SIGNER_USER_CANCELLED");
}

// A root added to the trust-store folder is picked up without a restart, and removing it
// withdraws the trust again. The certificate it issues names OCSP and CRL locations where
// nothing answers: once its path is trusted, its revocation status cannot be established, and
// the fail-closed policy refuses it (CERT_REVOCATION_UNKNOWN, retryable) — "responder down".
TEST_F(SigverifyE2e, TrustStoreReloadsAndUnreachableRevocationFailsClosed) {
  const std::string dir = absl::StrCat(Env("TEST_TMPDIR"), "/reload");
  const std::string tag = absl::StrCat(absl::ToUnixNanos(absl::Now()));
  int closed_port = 0;
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    closed_port = ntohs(a.sin_port);
    close(fd);  // nothing listens there any more
  }
  const std::string ext = absl::StrCat(
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"
      "authorityInfoAccess=OCSP;URI:http://127.0.0.1:", closed_port, "/\n"
      "crlDistributionPoints=URI:http://127.0.0.1:", closed_port, "/root.crl\n");
  const std::string script = absl::StrCat(
      "set -e; mkdir -p ", dir, "; cd ", dir, "; printf '%s' '", ext, "' > leaf.ext; ",
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 "
      "-subj '/C=VN/O=DVC E2E/CN=Reload Test Root ", tag, "' "
      "-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' "
      "2>/dev/null; ",
      "openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -utf8 "
      "-subj '/C=VN/CN=Người Thử Tải Lại/UID=CCCD:001099000777' 2>/dev/null; ",
      "openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 "
      "-sha256 -extfile leaf.ext -out leaf.pem 2>/dev/null");
  ASSERT_EQ(std::system(script.c_str()), 0) << script;
  const std::string leaf = ReadFile(dir + "/leaf.pem");
  const std::string root = ReadFile(dir + "/root.pem");
  ASSERT_FALSE(leaf.empty());

  auto check = [&] {
    pb::CheckCertificateRequest req;
    req.set_certificate(leaf);
    req.set_purpose(pb::PURPOSE_LOGIN);
    pb::VerifiedCertificate out;
    return stub_->CheckCertificate(Ctx().get(), req, &out);
  };
  // Waits (bounded) until the answer's reason is `want`; the store is re-read every 2 s.
  auto await = [&](const std::string& want) {
    std::string got;
    for (int i = 0; i < 60; ++i) {
      got = ReasonOf(check());
      if (got == want) return got;
      absl::SleepFor(absl::Milliseconds(250));
    }
    return got;
  };
  EXPECT_EQ(ReasonOf(check()), "CERT_CHAIN_INCOMPLETE");

  const std::string anchor = absl::StrCat(Env("PKI_DIR"), "/trust/e2e-reload-", tag, ".pem");
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } guard{anchor};
  {
    std::ofstream out(anchor);
    out << root;
  }
  EXPECT_EQ(await("CERT_REVOCATION_UNKNOWN"), "CERT_REVOCATION_UNKNOWN");
  grpc::Status g = check();
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);

  std::remove(anchor.c_str());
  EXPECT_EQ(await("CERT_CHAIN_INCOMPLETE"), "CERT_CHAIN_INCOMPLETE");
}

}  // namespace
}  // namespace dvc::e2e
