// GrpcSigverifyClient against an in-process dvc.sigverify.v1 server that records what it was
// sent and answers what the test scripted: the struct ↔ proto mapping of every call, the
// handling of malformed answers, and sigverify's errors passing through unchanged.
#include "services/sigverify/client/grpc_sigverify_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"

namespace dvc::sigverify::client {
namespace {

constexpr int64_t kExpiry = 1795000000;

// Each RPC keeps its last request and answers `error` when set, else the scripted response.
class ScriptedSigverify final : public v1::SigverifyService::Service {
 public:
  grpc::Status IssueChallenge(grpc::ServerContext*, const v1::IssueChallengeRequest* req,
                              v1::Challenge* out) override {
    return Answer(*req, issued, challenge, out);
  }
  grpc::Status VerifyChallengeSignature(grpc::ServerContext*,
                                        const v1::VerifyChallengeSignatureRequest* req,
                                        v1::VerifiedCertificate* out) override {
    return Answer(*req, verified, certificate, out);
  }
  grpc::Status StartRemoteSignature(grpc::ServerContext*,
                                    const v1::StartRemoteSignatureRequest* req,
                                    v1::RemoteSignatureTransaction* out) override {
    return Answer(*req, started, transaction, out);
  }
  grpc::Status GetRemoteSignatureResult(grpc::ServerContext*,
                                        const v1::GetRemoteSignatureResultRequest* req,
                                        v1::RemoteSignatureResult* out) override {
    return Answer(*req, polled, result, out);
  }

  absl::Status error;
  v1::Challenge challenge;
  v1::VerifiedCertificate certificate;
  v1::RemoteSignatureTransaction transaction;
  v1::RemoteSignatureResult result;
  v1::IssueChallengeRequest issued;
  v1::VerifyChallengeSignatureRequest verified;
  v1::StartRemoteSignatureRequest started;
  v1::GetRemoteSignatureResultRequest polled;

 private:
  template <typename Request, typename Response>
  grpc::Status Answer(const Request& req, Request& seen, const Response& scripted, Response* out) {
    seen = req;
    *out = scripted;
    return status::ToGrpcStatus(error);
  }
};

v1::VerifiedCertificate FullCertificate() {
  v1::VerifiedCertificate c;
  c.set_fingerprint_sha256("ABCDEF0123");
  c.set_serial_hex("0a1b");
  c.set_subject("CN=Nguyễn Văn An,UID=CCCD:001090012345,C=VN");
  c.set_issuer_common_name("VNPT Certification Authority");
  c.mutable_not_before()->set_seconds(1790000000);
  c.mutable_not_after()->set_seconds(1850000000);
  c.mutable_not_after()->set_nanos(500000000);
  c.set_subject_kind(v1::SUBJECT_KIND_AGENCY);
  c.set_anchor_kind(v1::ANCHOR_KIND_GOVERNMENT);
  c.set_common_name("Nguyễn Văn An");
  c.set_organization("Văn phòng Chính phủ");
  c.set_organizational_unit("Cục Kiểm soát thủ tục hành chính");
  c.set_locality("Ba Đình");
  c.set_state("Hà Nội");
  c.set_email("an@chinhphu.vn");
  c.set_telephone("0912345678");
  c.set_cccd("001090012345");
  c.set_cmnd("012345678");
  c.set_passport("B1234567");
  c.set_mst("0100686209");
  c.set_mns("G01.001");
  c.set_method("SIM");
  return c;
}

class GrpcSigverifyClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&fake_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<GrpcSigverifyClient>(
        server::Dial(absl::StrCat("127.0.0.1:", port)), absl::Seconds(5));
  }
  void TearDown() override { server_->Shutdown(); }

  ScriptedSigverify fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcSigverifyClient> client_;
};

TEST_F(GrpcSigverifyClientTest, IssueChallengeSendsFlowAndPurpose) {
  fake_.challenge.set_challenge_id("chal-1");
  fake_.challenge.set_challenge(std::string("DVC\0LOGIN", 9));
  fake_.challenge.mutable_expires_at()->set_seconds(kExpiry);
  auto c = client_->IssueChallenge(Purpose::kRegistration, "flow-1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(fake_.issued.flow_id(), "flow-1");
  EXPECT_EQ(fake_.issued.purpose(), v1::PURPOSE_REGISTRATION);
  EXPECT_EQ(c->challenge_id, "chal-1");
  EXPECT_EQ(c->challenge, std::string("DVC\0LOGIN", 9));  // bytes, not a C string
  EXPECT_EQ(c->expires_at, absl::FromUnixSeconds(kExpiry));

  ASSERT_TRUE(client_->IssueChallenge(Purpose::kLogin, "flow-2").ok());
  EXPECT_EQ(fake_.issued.purpose(), v1::PURPOSE_LOGIN);
  ASSERT_TRUE(client_->IssueChallenge(Purpose::kLogin, "flow-3").ok());
  EXPECT_EQ(fake_.issued.purpose(), v1::PURPOSE_LOGIN);
  EXPECT_EQ(fake_.issued.flow_id(), "flow-3");
  ASSERT_TRUE(client_->IssueChallenge(Purpose::kAddMethod, "flow-4").ok());
  EXPECT_EQ(fake_.issued.purpose(), v1::PURPOSE_ADD_METHOD);
}

TEST_F(GrpcSigverifyClientTest, VerifySendsTheSignatureAndMapsEveryCertificateField) {
  fake_.certificate = FullCertificate();
  ChallengeSignature sig;
  sig.challenge_id = "chal-1";
  sig.flow_id = "flow-1";
  sig.format = SignatureFormat::kCmsDetached;
  sig.signature = "SIG";
  sig.certificate = "DER";
  sig.chain = {"INT1", "INT2"};
  auto c = client_->VerifyChallengeSignature(Purpose::kRegistration, sig);
  ASSERT_TRUE(c.ok()) << c.status();

  const v1::VerifyChallengeSignatureRequest& r = fake_.verified;
  EXPECT_EQ(r.challenge_id(), "chal-1");
  EXPECT_EQ(r.flow_id(), "flow-1");
  EXPECT_EQ(r.purpose(), v1::PURPOSE_REGISTRATION);
  EXPECT_EQ(r.format(), v1::SIGNATURE_FORMAT_CMS_DETACHED);
  EXPECT_EQ(r.signature(), "SIG");
  EXPECT_EQ(r.certificate(), "DER");
  ASSERT_EQ(r.chain_size(), 2);
  EXPECT_EQ(r.chain(0), "INT1");
  EXPECT_EQ(r.chain(1), "INT2");

  EXPECT_EQ(c->fingerprint_sha256, "abcdef0123");  // lower-cased: accounts keys on it
  EXPECT_EQ(c->serial_hex, "0a1b");
  EXPECT_EQ(c->subject, "CN=Nguyễn Văn An,UID=CCCD:001090012345,C=VN");
  EXPECT_EQ(c->issuer_common_name, "VNPT Certification Authority");
  EXPECT_EQ(c->not_before, absl::FromUnixSeconds(1790000000));
  EXPECT_EQ(c->not_after, absl::FromUnixSeconds(1850000000) + absl::Milliseconds(500));
  EXPECT_EQ(c->kind, "AGENCY");
  EXPECT_TRUE(c->government_anchor);
  EXPECT_EQ(c->common_name, "Nguyễn Văn An");
  EXPECT_EQ(c->organization, "Văn phòng Chính phủ");
  EXPECT_EQ(c->organizational_unit, "Cục Kiểm soát thủ tục hành chính");
  EXPECT_EQ(c->locality, "Ba Đình");
  EXPECT_EQ(c->state, "Hà Nội");
  EXPECT_EQ(c->email, "an@chinhphu.vn");
  EXPECT_EQ(c->telephone, "0912345678");
  EXPECT_EQ(c->cccd, "001090012345");
  EXPECT_EQ(c->cmnd, "012345678");
  EXPECT_EQ(c->passport, "B1234567");
  EXPECT_EQ(c->mst, "0100686209");
  EXPECT_EQ(c->mns, "G01.001");
  EXPECT_EQ(c->method, "SIM");
}

TEST_F(GrpcSigverifyClientTest, FormatsKindsAndAnchorsMapOneToOne) {
  const std::pair<SignatureFormat, v1::SignatureFormat> formats[] = {
      {SignatureFormat::kPkcs1Sha256, v1::SIGNATURE_FORMAT_PKCS1_SHA256},
      {SignatureFormat::kPssSha256, v1::SIGNATURE_FORMAT_PSS_SHA256},
      {SignatureFormat::kEcdsaSha256, v1::SIGNATURE_FORMAT_ECDSA_SHA256},
      {SignatureFormat::kCmsAttached, v1::SIGNATURE_FORMAT_CMS_ATTACHED},
      {SignatureFormat::kCmsDetached, v1::SIGNATURE_FORMAT_CMS_DETACHED},
  };
  for (const auto& [format, want] : formats) {
    ChallengeSignature sig;
    sig.format = format;
    ASSERT_TRUE(client_->VerifyChallengeSignature(Purpose::kLogin, sig).ok());
    EXPECT_EQ(fake_.verified.format(), want);
    EXPECT_EQ(fake_.verified.purpose(), v1::PURPOSE_LOGIN);
  }
  const std::pair<v1::SubjectKind, std::string> kinds[] = {
      {v1::SUBJECT_KIND_PERSON, "PERSON"}, {v1::SUBJECT_KIND_BUSINESS, "BUSINESS"},
      {v1::SUBJECT_KIND_AGENCY, "AGENCY"}, {v1::SUBJECT_KIND_SEAL, "SEAL"},
      {v1::SUBJECT_KIND_UNSPECIFIED, ""},
  };
  for (const auto& [kind, want] : kinds) {
    fake_.certificate.set_subject_kind(kind);
    fake_.certificate.set_anchor_kind(v1::ANCHOR_KIND_PUBLIC);
    auto c = client_->VerifyChallengeSignature(Purpose::kRegistration, ChallengeSignature{});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->kind, want);
    EXPECT_FALSE(c->government_anchor);
  }
}

TEST_F(GrpcSigverifyClientTest, StartRemoteSignatureMapsTheProvider) {
  fake_.transaction.set_transaction_id("tx-1");
  fake_.transaction.set_verification_code("4821");
  fake_.transaction.mutable_expires_at()->set_seconds(kExpiry);
  auto t = client_->StartRemoteSignature(
      Purpose::kRegistration,
      RemoteSignatureRequest{"flow-1", RemoteProvider::kSmartCa, "anbinh.smartca", "Dang ky"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(fake_.started.flow_id(), "flow-1");
  EXPECT_EQ(fake_.started.purpose(), v1::PURPOSE_REGISTRATION);
  EXPECT_EQ(fake_.started.provider(), v1::REMOTE_PROVIDER_SMARTCA);
  EXPECT_EQ(fake_.started.subscriber(), "anbinh.smartca");
  EXPECT_EQ(fake_.started.display_text(), "Dang ky");
  EXPECT_EQ(t->transaction_id, "tx-1");
  EXPECT_EQ(t->verification_code, "4821");
  EXPECT_EQ(t->expires_at, absl::FromUnixSeconds(kExpiry));

  ASSERT_TRUE(
      client_->StartRemoteSignature(
          Purpose::kLogin, {"flow-2", RemoteProvider::kSim, "0912345678", "Dang nhap"}).ok());
  EXPECT_EQ(fake_.started.provider(), v1::REMOTE_PROVIDER_SIM);
  EXPECT_EQ(fake_.started.purpose(), v1::PURPOSE_LOGIN);
  EXPECT_EQ(fake_.started.flow_id(), "flow-2");
  EXPECT_EQ(fake_.started.subscriber(), "0912345678");
}

TEST_F(GrpcSigverifyClientTest, RemoteResultIsPendingOrTheVerifiedSigner) {
  fake_.result.set_state(v1::RemoteSignatureResult::STATE_PENDING);
  auto r = client_->GetRemoteSignatureResult(Purpose::kRegistration, "tx-1", "flow-1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->pending);
  EXPECT_EQ(fake_.polled.transaction_id(), "tx-1");
  EXPECT_EQ(fake_.polled.flow_id(), "flow-1");
  EXPECT_EQ(fake_.polled.purpose(), v1::PURPOSE_REGISTRATION);

  fake_.result.set_state(v1::RemoteSignatureResult::STATE_DONE);
  *fake_.result.mutable_certificate() = FullCertificate();
  r = client_->GetRemoteSignatureResult(Purpose::kLogin, "tx-2", "flow-2");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(fake_.polled.purpose(), v1::PURPOSE_LOGIN);
  EXPECT_FALSE(r->pending);
  EXPECT_EQ(r->signer.fingerprint_sha256, "abcdef0123");
  EXPECT_EQ(r->signer.method, "SIM");
  EXPECT_EQ(r->signer.cccd, "001090012345");
}

TEST_F(GrpcSigverifyClientTest, MalformedRemoteResultIsAnUnavailableDependencyNotASuccess) {
  fake_.result.set_state(v1::RemoteSignatureResult::STATE_DONE);  // but no certificate
  auto r = client_->GetRemoteSignatureResult(Purpose::kLogin, "tx-1", "flow-1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(r.status()), "DEPENDENCY_UNAVAILABLE");

  fake_.result.set_state(v1::RemoteSignatureResult::STATE_UNSPECIFIED);
  *fake_.result.mutable_certificate() = FullCertificate();
  r = client_->GetRemoteSignatureResult(Purpose::kRegistration, "tx-1", "flow-1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(r.status()), "DEPENDENCY_UNAVAILABLE");
}

TEST_F(GrpcSigverifyClientTest, SigverifyErrorsPassThroughWithReasonFieldAndMessages) {
  fake_.error = status::InvalidArgument("CERT_REVOKED", "certificate", "Chứng thư đã bị thu hồi.",
                                        "The certificate has been revoked.");
  auto v = client_->VerifyChallengeSignature(Purpose::kRegistration, ChallengeSignature{});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  auto info = status::GetErrorInfo(v.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "CERT_REVOKED");
  EXPECT_EQ(info->field, "certificate");
  EXPECT_EQ(info->message_vi, "Chứng thư đã bị thu hồi.");
  EXPECT_EQ(info->message_en, "The certificate has been revoked.");

  fake_.error = status::FailedPrecondition("SIGNER_USER_CANCELLED", "", "Đã huỷ.", "Cancelled.");
  auto p = client_->GetRemoteSignatureResult(Purpose::kLogin, "tx-1", "flow-1");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ReasonOf(p.status()), "SIGNER_USER_CANCELLED");
  auto s = client_->StartRemoteSignature(Purpose::kLogin, RemoteSignatureRequest{});
  EXPECT_EQ(status::ReasonOf(s.status()), "SIGNER_USER_CANCELLED");
  auto c = client_->IssueChallenge(Purpose::kLogin, "flow-1");
  EXPECT_EQ(status::ReasonOf(c.status()), "SIGNER_USER_CANCELLED");
}

TEST(GrpcSigverifyClientUnreachableTest, AnUnreachableSigverifyIsUnavailableWithinTheDeadline) {
  GrpcSigverifyClient client(server::Dial("127.0.0.1:1"), absl::Seconds(2));
  const absl::Time start = absl::Now();
  auto c = client.IssueChallenge(Purpose::kRegistration, "flow-1");
  EXPECT_TRUE(c.status().code() == absl::StatusCode::kUnavailable ||
              c.status().code() == absl::StatusCode::kDeadlineExceeded)
      << c.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace dvc::sigverify::client
