// Unit tests of the certificate registration flows (REG-3 SIM, REG-4 USB, REG-6 SmartCA) with
// fakes for every port (sigverify, accounts, auth, captcha, store) and a fake clock.
#include <gtest/gtest.h>

#include "libs/crypto/testing/fake_random.h"
#include "libs/status/errors.h"
#include "services/registration/domain/registration.h"
#include "services/registration/testing/fakes.h"

namespace dvc::registration {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;
namespace certs = ::dvc::registration::testing::certs;

constexpr char kCitizenDer[] = "DER:citizen";
constexpr char kBusinessDer[] = "DER:business";
constexpr char kBranchDer[] = "DER:branch";
constexpr char kOfficialDer[] = "DER:official";
constexpr char kSealDer[] = "DER:seal";
constexpr char kRevokedDer[] = "DER:revoked";
constexpr char kSimPhone[] = "0912345678";
constexpr char kUnitCode[] = "000.00.00.G22";

std::string FieldOf(const absl::Status& s) {
  auto info = GetErrorInfo(s);
  return info ? info->field : "";
}
std::string Meta(const absl::Status& s, const std::string& key) {
  auto info = GetErrorInfo(s);
  if (!info) return "";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "" : it->second;
}

class CertificateFlowTest : public ::testing::Test {
 protected:
  CertificateFlowTest()
      : otp_(&clock_, testing::OtpOptions()),
        sigverify_(&clock_),
        reg_(&store_, &captcha_, &idv_, &accounts_, &otp_, &sigverify_, &auth_, &clock_,
             &random_, Options{absl::Minutes(30), "index-key"}) {
    sigverify_.AddCertificate(kCitizenDer, certs::Citizen());
    sigverify_.AddCertificate(kBusinessDer, certs::Business());
    sigverify_.AddCertificate(kBranchDer, certs::Branch());
    sigverify_.AddCertificate(kOfficialDer, certs::Official());
    sigverify_.AddCertificate(kSealDer, certs::Seal());
    sigverify_.AddCertificate(kRevokedDer,
                              status::InvalidArgument("CERT_REVOKED", "certificate",
                                                      "Chứng thư số đã bị thu hồi.",
                                                      "The certificate has been revoked."));
    sigverify_.AddRemote(kSimPhone, certs::Citizen());
    sigverify_.AddRemote("0987654321", certs::Official());
    sigverify_.AddRemote("anbinh.smartca", certs::Business());
  }

  StartCertificateInput Form(const std::string& method, const std::string& kind) {
    StartCertificateInput in;
    in.captcha_id = captcha_.Issue()->captcha_id;
    in.captcha_answer = testing::FakeCaptcha::kAnswer;
    in.method = method;
    in.subject_kind = kind;
    if (method == "SIM") in.phone = "+84 912 345 678";
    if (method == "SMARTCA") in.smartca_user_id = "anbinh.smartca";
    if (kind == "AGENCY") in.unit_code = kUnitCode;
    in.consent_version = "2024-01";
    return in;
  }

  Flow StartUsb(const std::string& kind = "CITIZEN") {
    auto f = reg_.StartCertificate(Form("USB", kind));
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : Flow{};
  }

  // The token's signature over the flow's current challenge.
  CertificateSignatureInput Signed(const Flow& f, const std::string& der) {
    CertificateSignatureInput in;
    in.flow_id = f.flow_id;
    in.format = SignatureFormat::kPkcs1Sha256;
    in.signature = "signed:" + f.cert.challenge;
    in.certificate = der;
    in.chain = {"DER:vnpt-ca"};
    return in;
  }

  // USB start → signed → REVIEW (or wherever the certificate leads).
  absl::StatusOr<Flow> UsbToVerified(const std::string& kind, const std::string& der) {
    Flow f = StartUsb(kind);
    return reg_.SubmitCertificateSignature(Signed(f, der));
  }

  FakeClock clock_;
  crypto::testing::FakeRandom random_;
  testing::FakeFlowStore store_;
  testing::FakeCaptcha captcha_;
  testing::FakeIdv idv_;
  testing::FakeAccounts accounts_;
  testing::FakeOtp otp_;
  testing::FakeSigverify sigverify_;
  testing::FakeAuth auth_;
  Registration reg_;
};

// ---- start ----

TEST_F(CertificateFlowTest, UsbStartIssuesAChallengeBoundToTheFlow) {
  const absl::Time t0 = clock_.Now();
  auto f = reg_.StartCertificate(Form("usb", "citizen"));  // case-insensitive
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->method, "USB");
  EXPECT_EQ(f->cert.subject_kind, SubjectKind::kCitizen);
  EXPECT_EQ(f->state, FlowState::kSignatureRequired);
  EXPECT_EQ(f->cert.challenge_id, "chal-1");
  EXPECT_NE(f->cert.challenge.find(f->flow_id), std::string::npos);
  EXPECT_EQ(*f->cert.signature_expires_at, t0 + absl::Minutes(5));
  EXPECT_EQ(f->cert.signature_requests, 1);
  EXPECT_EQ(f->expires_at, t0 + absl::Minutes(30));
  EXPECT_EQ(f->consent_version, "2024-01");
  EXPECT_EQ(f->consent_at, t0);
  EXPECT_TRUE(f->masked_phone.empty());
  EXPECT_EQ(sigverify_.start_calls(), 0);
  auto stored = store_.Peek(f->flow_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, FlowState::kSignatureRequired);
  EXPECT_EQ(stored->cert.challenge_id, "chal-1");
}

TEST_F(CertificateFlowTest, SimStartSendsTheSigningRequestToTheNormalisedPhone) {
  auto f = reg_.StartCertificate(Form("SIM", "CITIZEN"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, FlowState::kSignaturePending);
  EXPECT_EQ(f->method, "SIM");
  EXPECT_EQ(f->masked_phone, "091****678");
  EXPECT_FALSE(f->cert.transaction_id.empty());
  EXPECT_FALSE(f->cert.verification_code.empty());
  EXPECT_EQ(*f->cert.signature_expires_at, clock_.Now() + absl::Minutes(2));
  ASSERT_EQ(sigverify_.starts().size(), 1u);
  const RemoteSignatureRequest r = sigverify_.starts()[0];
  EXPECT_EQ(r.flow_id, f->flow_id);
  EXPECT_EQ(r.provider, RemoteProvider::kSim);
  EXPECT_EQ(r.subscriber, kSimPhone);
  for (unsigned char c : r.display_text) EXPECT_LT(c, 0x80) << r.display_text;  // no diacritics
  EXPECT_FALSE(r.display_text.empty());
  EXPECT_EQ(sigverify_.issue_calls(), 0);
}

TEST_F(CertificateFlowTest, SmartCaStartUsesTheUserId) {
  auto f = reg_.StartCertificate(Form("SMARTCA", "BUSINESS"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, FlowState::kSignaturePending);
  EXPECT_EQ(sigverify_.starts()[0].provider, RemoteProvider::kSmartCa);
  EXPECT_EQ(sigverify_.starts()[0].subscriber, "anbinh.smartca");
}

struct BadStart {
  std::string name;
  std::function<void(StartCertificateInput&)> edit;
  std::string reason;
  std::string field;
};

TEST_F(CertificateFlowTest, EachBadStartFieldHasItsReasonAndNothingIsStarted) {
  const std::vector<BadStart> cases = {
      {"no method", [](auto& in) { in.method = ""; }, "METHOD_REQUIRED", "method"},
      {"bad method", [](auto& in) { in.method = "FAX"; }, "METHOD_INVALID", "method"},
      {"mobile method", [](auto& in) { in.method = "MOBILE"; }, "METHOD_INVALID", "method"},
      {"no subject", [](auto& in) { in.subject_kind = " "; }, "SUBJECT_KIND_REQUIRED",
       "subject_kind"},
      {"bad subject", [](auto& in) { in.subject_kind = "ALIEN"; }, "SUBJECT_KIND_INVALID",
       "subject_kind"},
      {"agency smartca",
       [](auto& in) {
         in.method = "SMARTCA";
         in.subject_kind = "AGENCY";
         in.smartca_user_id = "x";
         in.unit_code = kUnitCode;
       },
       "METHOD_NOT_ALLOWED_FOR_SUBJECT", "method"},
      {"sim no phone",
       [](auto& in) {
         in.method = "SIM";
         in.phone = "";
       },
       "PHONE_REQUIRED", "phone"},
      {"sim bad phone",
       [](auto& in) {
         in.method = "SIM";
         in.phone = "12345";
       },
       "PHONE_MALFORMED", "phone"},
      {"smartca no user",
       [](auto& in) { in.method = "SMARTCA"; }, "SMARTCA_USER_ID_REQUIRED", "smartca_user_id"},
      {"smartca bad user",
       [](auto& in) {
         in.method = "SMARTCA";
         in.smartca_user_id = "a b;drop";
       },
       "SMARTCA_USER_ID_MALFORMED", "smartca_user_id"},
      {"agency no unit", [](auto& in) { in.subject_kind = "AGENCY"; }, "UNIT_CODE_REQUIRED",
       "unit_code"},
      {"agency bad unit",
       [](auto& in) {
         in.subject_kind = "AGENCY";
         in.unit_code = "000.00.00.22";
       },
       "UNIT_CODE_MALFORMED", "unit_code"},
      {"no consent", [](auto& in) { in.consent_version = ""; }, "CONSENT_REQUIRED",
       "consent_version"},
      {"bad consent", [](auto& in) { in.consent_version = "v 1"; }, "CONSENT_VERSION_INVALID",
       "consent_version"},
  };
  for (const auto& c : cases) {
    StartCertificateInput in = Form("USB", "CITIZEN");
    c.edit(in);
    auto f = reg_.StartCertificate(in);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(ReasonOf(f.status()), c.reason) << c.name;
    EXPECT_EQ(FieldOf(f.status()), c.field) << c.name;
    auto info = GetErrorInfo(f.status());
    ASSERT_TRUE(info.has_value()) << c.name;
    EXPECT_FALSE(info->message_vi.empty()) << c.name;
    EXPECT_FALSE(info->message_en.empty()) << c.name;
  }
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(sigverify_.issue_calls() + sigverify_.start_calls(), 0);
}

TEST_F(CertificateFlowTest, AgencyMayUseUsbOrSimAndTheUnitCodeIsKept) {
  auto usb = reg_.StartCertificate(Form("USB", "AGENCY"));
  ASSERT_TRUE(usb.ok()) << usb.status();
  EXPECT_EQ(usb->cert.unit_code, kUnitCode);
  auto in = Form("SIM", "AGENCY");
  in.phone = "0987654321";
  in.unit_code = " 000.00.00.g22 ";  // normalised
  auto sim = reg_.StartCertificate(in);
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ(sim->cert.unit_code, kUnitCode);
}

TEST_F(CertificateFlowTest, WrongCaptchaIsRefusedFirstAndConsumed) {
  auto in = Form("USB", "");
  in.captcha_answer = "nope";
  EXPECT_EQ(ReasonOf(reg_.StartCertificate(in).status()), "CAPTCHA_INVALID");
  in.captcha_answer = testing::FakeCaptcha::kAnswer;
  in.subject_kind = "CITIZEN";
  EXPECT_EQ(ReasonOf(reg_.StartCertificate(in).status()), "CAPTCHA_INVALID");  // consumed
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(CertificateFlowTest, SigverifyDownAtStartKeepsTheFlowAndResumeIssuesTheChallenge) {
  sigverify_.PushIssueError(absl::UnavailableError("connection refused"));
  auto f = reg_.StartCertificate(Form("USB", "CITIZEN"));
  EXPECT_EQ(f.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(f.status()), "TEMPORARILY_UNAVAILABLE");
  const std::string id = Meta(f.status(), "flow_id");
  ASSERT_EQ(id.size(), 36u);
  auto got = reg_.Get(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, FlowState::kSignatureStartPending);
  EXPECT_EQ(got->cert.signature_requests, 0);
  auto resumed = reg_.Resume(id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state, FlowState::kSignatureRequired);
  EXPECT_EQ(resumed->cert.signature_requests, 1);
}

TEST_F(CertificateFlowTest, SimWithoutCertificateFailsTheFlowWithSigverifysReason) {
  auto in = Form("SIM", "CITIZEN");
  in.phone = "0977000111";  // no certificate on that SIM
  auto f = reg_.StartCertificate(in);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(f.status()), "SIGNER_NO_CERTIFICATE");
  const std::string id = Meta(f.status(), "flow_id");
  auto stored = store_.Peek(id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, FlowState::kFailed);
  EXPECT_EQ(stored->failure_reason, "SIGNER_NO_CERTIFICATE");
  EXPECT_TRUE(stored->cert.subscriber.empty());  // no personal data kept
  EXPECT_EQ(ReasonOf(reg_.RenewChallenge(id).status()), "FLOW_FAILED");
}

// ---- USB: signature, certificate, review, account ----

TEST_F(CertificateFlowTest, UsbCitizenHappyPathCreatesOneIal3AccountFromTheCertificate) {
  Flow f = StartUsb();
  auto v = reg_.SubmitCertificateSignature(Signed(f, kCitizenDer));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->state, FlowState::kReview);
  ASSERT_TRUE(v->cert.certificate.has_value());
  EXPECT_EQ(v->cert.certificate->common_name, "Nguyễn Văn An");
  EXPECT_TRUE(v->cert.challenge_id.empty());  // used
  const ChallengeSignature sent = sigverify_.last_signature();
  EXPECT_EQ(sent.challenge_id, f.cert.challenge_id);
  EXPECT_EQ(sent.flow_id, f.flow_id);
  EXPECT_EQ(sent.chain, std::vector<std::string>{"DER:vnpt-ca"});
  // Duplicate check by CCCD.
  ASSERT_EQ(accounts_.lookups().size(), 1u);
  EXPECT_EQ(accounts_.lookups()[0].kind, SubjectKind::kCitizen);
  EXPECT_EQ(accounts_.lookups()[0].id_number, "001090012345");

  auto done = reg_.CompleteCertificate({f.flow_id, "", ""});  // email optional for a citizen
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, FlowState::kCompleted);
  EXPECT_EQ(done->ial, 3);
  ASSERT_FALSE(done->account_id.empty());
  auto req = accounts_.CertRequest(done->account_id);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->request_id, f.flow_id);
  EXPECT_EQ(req->kind, SubjectKind::kCitizen);
  EXPECT_EQ(req->ial, 3);
  EXPECT_EQ(req->citizen.full_name, "Nguyễn Văn An");
  EXPECT_EQ(req->citizen.cccd, "001090012345");
  EXPECT_EQ(req->credential.method, "USB");
  EXPECT_EQ(req->credential.fingerprint_sha256, std::string(64, 'a'));
  EXPECT_EQ(req->credential.issuer_cn, "VNPT Certification Authority (TEST)");
  EXPECT_EQ(req->credential.not_after, absl::FromUnixSeconds(1850000000));
  EXPECT_EQ(req->consent_version, "2024-01");
  // Personal data is gone from the finished flow.
  auto stored = store_.Peek(f.flow_id);
  EXPECT_FALSE(stored->cert.certificate.has_value());

  // Replaying the final step answers the same account and creates nothing.
  auto replay = reg_.CompleteCertificate({f.flow_id, "", ""});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->account_id, done->account_id);
  EXPECT_EQ(accounts_.create_calls(), 1);
  EXPECT_EQ(accounts_.cert_accounts_created(), 1);
  // Other steps on the completed flow are refused as before.
  EXPECT_EQ(ReasonOf(reg_.RenewChallenge(f.flow_id).status()), "FLOW_COMPLETED");
}

TEST_F(CertificateFlowTest, SignatureShapeIsCheckedWithoutUsingTheChallenge) {
  Flow f = StartUsb();
  auto in = Signed(f, kCitizenDer);
  in.format.reset();
  auto s = reg_.SubmitCertificateSignature(in);
  EXPECT_EQ(ReasonOf(s.status()), "SIGNATURE_FORMAT_REQUIRED");
  EXPECT_EQ(FieldOf(s.status()), "format");
  in = Signed(f, kCitizenDer);
  in.signature.clear();
  EXPECT_EQ(ReasonOf(reg_.SubmitCertificateSignature(in).status()), "SIGNATURE_REQUIRED");
  in = Signed(f, "");
  s = reg_.SubmitCertificateSignature(in);
  EXPECT_EQ(ReasonOf(s.status()), "CERTIFICATE_REQUIRED");
  EXPECT_EQ(FieldOf(s.status()), "certificate");
  EXPECT_EQ(sigverify_.verify_calls(), 0);
  // The challenge is still there: a well-formed submit works.
  auto ok = reg_.SubmitCertificateSignature(Signed(f, kCitizenDer));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state, FlowState::kReview);
}

TEST_F(CertificateFlowTest, CmsMayCarryTheCertificateItself) {
  Flow f = StartUsb();
  auto in = Signed(f, "");
  in.format = SignatureFormat::kCmsDetached;
  auto s = reg_.SubmitCertificateSignature(in);
  // Reaches sigverify (which, in this fake, cannot find a certificate in "" and says so).
  EXPECT_EQ(ReasonOf(s.status()), "CERT_MALFORMED");
  EXPECT_EQ(sigverify_.verify_calls(), 1);
}

TEST_F(CertificateFlowTest, BadSignatureNeedsANewChallengeThenSucceeds) {
  Flow f = StartUsb();
  auto bad = Signed(f, kCitizenDer);
  bad.signature = "forged";
  auto s = reg_.SubmitCertificateSignature(bad);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s.status()), "SIGNATURE_INVALID");
  EXPECT_EQ(FieldOf(s.status()), "signature");
  EXPECT_EQ(Meta(s.status(), "flow_id"), f.flow_id);
  // The used challenge cannot be signed again.
  auto again = reg_.SubmitCertificateSignature(Signed(f, kCitizenDer));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(again.status()), "CHALLENGE_RENEWAL_REQUIRED");
  EXPECT_EQ(sigverify_.verify_calls(), 1);

  auto renewed = reg_.RenewChallenge(f.flow_id);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->state, FlowState::kSignatureRequired);
  EXPECT_NE(renewed->cert.challenge_id, f.cert.challenge_id);
  EXPECT_NE(renewed->cert.challenge, f.cert.challenge);
  EXPECT_EQ(renewed->cert.signature_requests, 2);
  auto ok = reg_.SubmitCertificateSignature(Signed(*renewed, kCitizenDer));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state, FlowState::kReview);
}

TEST_F(CertificateFlowTest, SigverifyCertificateErrorsPassThroughWithTheirReasons) {
  Flow f = StartUsb();
  auto s = reg_.SubmitCertificateSignature(Signed(f, kRevokedDer));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s.status()), "CERT_REVOKED");
  EXPECT_EQ(FieldOf(s.status()), "certificate");
  auto info = GetErrorInfo(s.status());
  EXPECT_EQ(info->message_vi, "Chứng thư số đã bị thu hồi.");

  // Revocation status unknown (sigverify: UNAVAILABLE with its own reason): passes through.
  Flow g = *reg_.RenewChallenge(f.flow_id);
  sigverify_.PushVerifyError(status::Unavailable("CERT_REVOCATION_UNKNOWN", "Chưa rõ.",
                                                 "Unknown."));
  s = reg_.SubmitCertificateSignature(Signed(g, kCitizenDer));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(s.status()), "CERT_REVOCATION_UNKNOWN");
  EXPECT_EQ(Meta(s.status(), "flow_id"), f.flow_id);

  // sigverify unreachable: TEMPORARILY_UNAVAILABLE, and the challenge must be renewed.
  g = *reg_.RenewChallenge(f.flow_id);
  sigverify_.PushVerifyError(absl::DeadlineExceededError("deadline"));
  s = reg_.SubmitCertificateSignature(Signed(g, kCitizenDer));
  EXPECT_EQ(ReasonOf(s.status()), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(ReasonOf(reg_.SubmitCertificateSignature(Signed(g, kCitizenDer)).status()),
            "CHALLENGE_RENEWAL_REQUIRED");
  EXPECT_EQ(accounts_.lookup_calls(), 0);
}

TEST_F(CertificateFlowTest, ExpiredChallengeIsSigverifysAnswerAndRenewalHelps) {
  Flow f = StartUsb();
  clock_.Advance(absl::Minutes(6));  // challenge (5 min) expired, flow (30 min) alive
  auto s = reg_.SubmitCertificateSignature(Signed(f, kCitizenDer));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "CHALLENGE_EXPIRED");
  auto renewed = reg_.RenewChallenge(f.flow_id);
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(reg_.SubmitCertificateSignature(Signed(*renewed, kCitizenDer)).ok());
}

TEST_F(CertificateFlowTest, SigningRequestsAreBoundedPerFlow) {
  Flow f = StartUsb();
  for (int i = 1; i < kMaxSignatureRequests; ++i) {
    auto r = reg_.RenewChallenge(f.flow_id);
    ASSERT_TRUE(r.ok()) << i << r.status();
    EXPECT_EQ(r->cert.signature_requests, i + 1);
  }
  auto s = reg_.RenewChallenge(f.flow_id);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "SIGNATURE_REQUESTS_EXCEEDED");
  EXPECT_EQ(sigverify_.issue_calls(), kMaxSignatureRequests);
  auto stored = store_.Peek(f.flow_id);
  EXPECT_EQ(stored->state, FlowState::kFailed);
  EXPECT_EQ(stored->failure_reason, "SIGNATURE_REQUESTS_EXCEEDED");
  EXPECT_EQ(ReasonOf(reg_.SubmitCertificateSignature(Signed(f, kCitizenDer)).status()),
            "FLOW_FAILED");
}

// ---- subject kind vs certificate (SUB-1..3) ----

struct Mismatch {
  std::string kind;
  std::string der;
  std::string reason;
};

TEST_F(CertificateFlowTest, CertificateMustMatchTheChosenSubjectKind) {
  const std::vector<Mismatch> cases = {
      {"CITIZEN", kBusinessDer, "CERTIFICATE_IS_BUSINESS"},
      {"CITIZEN", kBranchDer, "CERTIFICATE_IS_BUSINESS"},  // has a CCCD, but also an MST
      {"CITIZEN", kSealDer, "CERTIFICATE_NOT_PERSONAL"},
      {"BUSINESS", kCitizenDer, "CERTIFICATE_NOT_BUSINESS"},
      {"BUSINESS", kSealDer, "CERTIFICATE_NOT_BUSINESS"},
      {"AGENCY", kCitizenDer, "CERTIFICATE_NOT_GOVERNMENT"},  // CCCD, public CA
      {"AGENCY", kSealDer, "CERTIFICATE_NOT_OFFICIAL"},
  };
  for (const auto& c : cases) {
    Flow f = StartUsb(c.kind);
    auto s = reg_.SubmitCertificateSignature(Signed(f, c.der));
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << c.kind << c.der;
    EXPECT_EQ(ReasonOf(s.status()), c.reason) << c.kind << c.der;
    EXPECT_EQ(FieldOf(s.status()), "certificate");
    EXPECT_EQ(Meta(s.status(), "flow_id"), f.flow_id);
    auto stored = store_.Peek(f.flow_id);
    EXPECT_EQ(stored->state, FlowState::kSignatureRequired);  // pick another certificate
    EXPECT_FALSE(stored->cert.certificate.has_value());
    EXPECT_TRUE(stored->cert.challenge_id.empty());
  }
  EXPECT_EQ(accounts_.lookup_calls(), 0);
}

TEST_F(CertificateFlowTest, WrongCertificateOnATwoCertificateTokenThenTheRightOne) {
  Flow f = StartUsb("CITIZEN");
  EXPECT_EQ(ReasonOf(reg_.SubmitCertificateSignature(Signed(f, kBranchDer)).status()),
            "CERTIFICATE_IS_BUSINESS");
  Flow g = *reg_.RenewChallenge(f.flow_id);
  auto ok = reg_.SubmitCertificateSignature(Signed(g, kCitizenDer));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state, FlowState::kReview);
}

// ---- SIM / SmartCA ----

TEST_F(CertificateFlowTest, SimPollIsPendingUntilTheUserConfirms) {
  auto f = reg_.StartCertificate(Form("SIM", "CITIZEN"));
  ASSERT_TRUE(f.ok());
  const int saves = store_.saves();
  auto p = reg_.PollCertificateSignature(f->flow_id);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->state, FlowState::kSignaturePending);
  EXPECT_EQ(p->cert.verification_code, f->cert.verification_code);
  EXPECT_EQ(store_.saves(), saves);  // nothing to save while pending
  sigverify_.ConfirmLast();
  p = reg_.PollCertificateSignature(f->flow_id);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->state, FlowState::kReview);
  EXPECT_EQ(p->cert.certificate->method, "SIM");
  auto done = reg_.CompleteCertificate({f->flow_id, "an@example.vn", "0912345678"});
  ASSERT_TRUE(done.ok()) << done.status();
  auto req = accounts_.CertRequest(done->account_id);
  EXPECT_EQ(req->credential.method, "SIM");
  EXPECT_EQ(req->credential.subscriber, "84912345678");  // MSISDN form for accounts
  EXPECT_EQ(req->citizen.email, "an@example.vn");
  EXPECT_EQ(req->citizen.phone, "0912345678");
}

TEST_F(CertificateFlowTest, SimUserCancelledPassesThroughAndANewRequestCanBeSent) {
  auto f = reg_.StartCertificate(Form("SIM", "CITIZEN"));
  ASSERT_TRUE(f.ok());
  sigverify_.EndLast(status::FailedPrecondition("SIGNER_USER_CANCELLED", "", "Đã huỷ.",
                                                "Cancelled."));
  auto p = reg_.PollCertificateSignature(f->flow_id);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(p.status()), "SIGNER_USER_CANCELLED");
  EXPECT_EQ(Meta(p.status(), "flow_id"), f->flow_id);
  EXPECT_EQ(ReasonOf(reg_.PollCertificateSignature(f->flow_id).status()),
            "CHALLENGE_RENEWAL_REQUIRED");
  auto renewed = reg_.RenewChallenge(f->flow_id);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->state, FlowState::kSignaturePending);
  EXPECT_NE(renewed->cert.transaction_id, f->cert.transaction_id);
  EXPECT_EQ(sigverify_.start_calls(), 2);
  sigverify_.ConfirmLast();
  EXPECT_EQ(reg_.PollCertificateSignature(f->flow_id)->state, FlowState::kReview);
}

TEST_F(CertificateFlowTest, RemoteProviderUnreachableKeepsTheTransaction) {
  auto f = reg_.StartCertificate(Form("SIM", "CITIZEN"));
  ASSERT_TRUE(f.ok());
  sigverify_.PushPollError(status::Unavailable("SIGNER_UNREACHABLE", "Không liên lạc được.",
                                               "Unreachable."));
  auto p = reg_.PollCertificateSignature(f->flow_id);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(p.status()), "SIGNER_UNREACHABLE");
  sigverify_.PushPollError(absl::UnavailableError("connection refused"));
  EXPECT_EQ(ReasonOf(reg_.PollCertificateSignature(f->flow_id).status()),
            "TEMPORARILY_UNAVAILABLE");
  sigverify_.ConfirmLast();
  auto ok = reg_.PollCertificateSignature(f->flow_id);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state, FlowState::kReview);
  EXPECT_EQ(sigverify_.start_calls(), 1);
}

TEST_F(CertificateFlowTest, RevokedSimCertificatePassesThrough) {
  sigverify_.AddRemote("0911222333", status::InvalidArgument("CERT_REVOKED", "certificate",
                                                             "Đã thu hồi.", "Revoked."));
  auto in = Form("SIM", "CITIZEN");
  in.phone = "0911222333";
  auto f = reg_.StartCertificate(in);
  ASSERT_TRUE(f.ok());
  sigverify_.ConfirmLast();
  auto p = reg_.PollCertificateSignature(f->flow_id);
  EXPECT_EQ(ReasonOf(p.status()), "CERT_REVOKED");
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kSignaturePending);
}

TEST_F(CertificateFlowTest, StepsOfTheOtherMethodAreTheWrongState) {
  auto sim = reg_.StartCertificate(Form("SIM", "CITIZEN"));
  ASSERT_TRUE(sim.ok());
  CertificateSignatureInput in = Signed(*sim, kCitizenDer);
  auto s = reg_.SubmitCertificateSignature(in);
  EXPECT_EQ(ReasonOf(s.status()), "FLOW_WRONG_STATE");
  EXPECT_EQ(Meta(s.status(), "state"), "SIGNATURE_PENDING");
  Flow usb = StartUsb();
  s = reg_.PollCertificateSignature(usb.flow_id);
  EXPECT_EQ(ReasonOf(s.status()), "FLOW_WRONG_STATE");
  EXPECT_EQ(Meta(s.status(), "state"), "SIGNATURE_REQUIRED");
  EXPECT_EQ(ReasonOf(reg_.CompleteCertificate({usb.flow_id, "", ""}).status()),
            "FLOW_WRONG_STATE");
  EXPECT_EQ(ReasonOf(reg_.LinkCertificate(usb.flow_id, "tok").status()), "FLOW_WRONG_STATE");
  EXPECT_EQ(ReasonOf(reg_.VerifyOtp(usb.flow_id, "123456").status()), "FLOW_WRONG_STATE");
}

// ---- duplicates and linking ----

TEST_F(CertificateFlowTest, ExistingCitizenGoesToExistingAccountAndNothingIsCreated) {
  accounts_.AddExisting("001090012345", "acc-existing");
  auto f = UsbToVerified("CITIZEN", kCitizenDer);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, FlowState::kExistingAccount);
  const status::ErrorInfo n = ExistingAccountNotice(SubjectKind::kCitizen);
  EXPECT_EQ(n.reason, "ACCOUNT_EXISTS");
  EXPECT_NE(n.message_vi.find("Quên mật khẩu"), std::string::npos);
  EXPECT_NE(n.message_vi.find("quầy giao dịch"), std::string::npos);
  EXPECT_NE(n.message_vi.find("khiếu nại"), std::string::npos);
  // Completing is not an option; nothing was created.
  EXPECT_EQ(ReasonOf(reg_.CompleteCertificate({f->flow_id, "", ""}).status()),
            "FLOW_WRONG_STATE");
  EXPECT_EQ(accounts_.create_calls(), 0);
  EXPECT_EQ(accounts_.add_calls(), 0);
}

TEST_F(CertificateFlowTest, LinkNeedsTheExistingAccountHoldersToken) {
  accounts_.AddExisting("001090012345", "acc-existing");
  auth_.AddToken("token-of-holder", "acc-existing");
  auth_.AddToken("token-of-someone-else", "acc-other");
  auto f = UsbToVerified("CITIZEN", kCitizenDer);
  ASSERT_TRUE(f.ok());

  auto s = reg_.LinkCertificate(f->flow_id, " ");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(s.status()), "ACCESS_TOKEN_REQUIRED");
  EXPECT_EQ(FieldOf(s.status()), "access_token");
  EXPECT_EQ(auth_.calls(), 0);
  s = reg_.LinkCertificate(f->flow_id, "expired-or-forged");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(s.status()), "ACCESS_TOKEN_INVALID");
  s = reg_.LinkCertificate(f->flow_id, "token-of-someone-else");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(s.status()), "ACCOUNT_MISMATCH");
  auth_.PushError(absl::UnavailableError("auth down"));
  EXPECT_EQ(ReasonOf(reg_.LinkCertificate(f->flow_id, "token-of-holder").status()),
            "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(accounts_.add_calls(), 0);
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kExistingAccount);

  auto linked = reg_.LinkCertificate(f->flow_id, "token-of-holder");
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_EQ(linked->state, FlowState::kCompleted);
  EXPECT_EQ(linked->account_id, "acc-existing");
  EXPECT_EQ(linked->ial, 3);
  auto links = accounts_.links();
  ASSERT_EQ(links.size(), 1u);
  const CertificateLink& l = links.begin()->second;
  EXPECT_EQ(l.request_id, f->flow_id + ":link");
  EXPECT_EQ(l.account_id, "acc-existing");
  EXPECT_EQ(l.identity_number, "001090012345");
  EXPECT_EQ(l.credential.fingerprint_sha256, std::string(64, 'a'));
  EXPECT_EQ(l.credential.method, "USB");
  EXPECT_FALSE(store_.Peek(f->flow_id)->cert.certificate.has_value());

  // Replay: the same account, no second link.
  auto replay = reg_.LinkCertificate(f->flow_id, "token-of-holder");
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->account_id, "acc-existing");
  EXPECT_EQ(accounts_.add_calls(), 1);
  EXPECT_EQ(accounts_.create_calls(), 0);
}

TEST_F(CertificateFlowTest, AddCertificateFailurePassesThroughAndTheLinkCanBeRetried) {
  accounts_.AddExisting("001090012345", "acc-existing");
  auth_.AddToken("tok", "acc-existing");
  auto f = UsbToVerified("CITIZEN", kCitizenDer);
  ASSERT_TRUE(f.ok());
  accounts_.PushAddCertificateError(absl::UnavailableError("down"));
  EXPECT_EQ(ReasonOf(reg_.LinkCertificate(f->flow_id, "tok").status()),
            "TEMPORARILY_UNAVAILABLE");
  accounts_.PushAddCertificateError(status::AlreadyExists(
      "CERTIFICATE_ALREADY_REGISTERED", "certificate", "Đã đăng ký.", "Registered."));
  auto s = reg_.LinkCertificate(f->flow_id, "tok");
  EXPECT_EQ(ReasonOf(s.status()), "CERTIFICATE_ALREADY_REGISTERED");
  EXPECT_EQ(Meta(s.status(), "flow_id"), f->flow_id);
  EXPECT_TRUE(reg_.LinkCertificate(f->flow_id, "tok").ok());
}

TEST_F(CertificateFlowTest, BusinessDuplicateIsByMstAndAgencyByUnitCodeAndOfficial) {
  AccountKey biz;
  biz.kind = SubjectKind::kBusiness;
  biz.mst = "0100686209";
  accounts_.AddExistingKey(biz, "acc-biz");
  auto b = UsbToVerified("BUSINESS", kBusinessDer);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->state, FlowState::kExistingAccount);

  AccountKey agency;
  agency.kind = SubjectKind::kAgency;
  agency.unit_code = kUnitCode;
  agency.official_cccd = "079185004321";
  accounts_.AddExistingKey(agency, "acc-agency");
  auto a = UsbToVerified("AGENCY", kOfficialDer);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->state, FlowState::kExistingAccount);

  // The same official in another unit is a new account.
  auto in = Form("USB", "AGENCY");
  in.unit_code = "000.00.17.G22";
  auto other = reg_.StartCertificate(in);
  ASSERT_TRUE(other.ok());
  auto o = reg_.SubmitCertificateSignature(Signed(*other, kOfficialDer));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->state, FlowState::kReview);
  const AccountKey last = accounts_.lookups().back();
  EXPECT_EQ(last.kind, SubjectKind::kAgency);
  EXPECT_EQ(last.unit_code, "000.00.17.G22");
  EXPECT_EQ(last.official_cccd, "079185004321");
}

TEST_F(CertificateFlowTest, CitizenWithCccdAndCmndIsCheckedUnderBoth) {
  CertificateInfo both = certs::Citizen();
  both.cmnd = "123456789";
  sigverify_.AddCertificate("DER:both", both);
  accounts_.AddExisting("123456789", "acc-cmnd-only");
  auto f = UsbToVerified("CITIZEN", "DER:both");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->state, FlowState::kExistingAccount);
  ASSERT_EQ(accounts_.lookups().size(), 2u);
  EXPECT_EQ(accounts_.lookups()[0].id_number, "001090012345");
  EXPECT_EQ(accounts_.lookups()[1].id_number, "123456789");
}

TEST_F(CertificateFlowTest, AccountsDownAfterVerificationKeepsTheCertificateAndResumeChecks) {
  accounts_.PushLookupError(absl::UnavailableError("down"));
  Flow f = StartUsb();
  auto s = reg_.SubmitCertificateSignature(Signed(f, kCitizenDer));
  EXPECT_EQ(ReasonOf(s.status()), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(Meta(s.status(), "flow_id"), f.flow_id);
  auto got = reg_.Get(f.flow_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, FlowState::kDuplicateCheckPending);
  EXPECT_TRUE(got->cert.certificate.has_value());
  auto resumed = reg_.Resume(f.flow_id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state, FlowState::kReview);
  EXPECT_EQ(sigverify_.verify_calls(), 1);  // the signature is not asked again
}

// ---- the final step ----

TEST_F(CertificateFlowTest, BusinessNeedsAValidEmailAndGetsItsNameAndMst) {
  auto f = UsbToVerified("BUSINESS", kBusinessDer);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, FlowState::kReview);
  auto s = reg_.CompleteCertificate({f->flow_id, " ", ""});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s.status()), "EMAIL_REQUIRED");
  EXPECT_EQ(FieldOf(s.status()), "email");
  EXPECT_EQ(ReasonOf(reg_.CompleteCertificate({f->flow_id, "not-an-email", ""}).status()),
            "EMAIL_MALFORMED");
  s = reg_.CompleteCertificate({f->flow_id, "ketoan@anbinh.vn", "12"});
  EXPECT_EQ(ReasonOf(s.status()), "PHONE_MALFORMED");
  EXPECT_EQ(FieldOf(s.status()), "phone");
  EXPECT_EQ(accounts_.create_calls(), 0);

  auto done = reg_.CompleteCertificate({f->flow_id, "KeToan@AnBinh.VN", "+84912345678"});
  ASSERT_TRUE(done.ok()) << done.status();
  auto req = accounts_.CertRequest(done->account_id);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->kind, SubjectKind::kBusiness);
  EXPECT_EQ(req->business.mst, "0100686209");
  EXPECT_EQ(req->business.name, "Công ty Cổ phần An Bình");  // O before CN
  EXPECT_EQ(req->business.email, "KeToan@anbinh.vn");
  EXPECT_EQ(req->business.phone, "0912345678");
  EXPECT_EQ(req->business.address, "Cầu Giấy, Hà Nội");
  EXPECT_TRUE(req->business.representative_cccd.empty());
}

TEST_F(CertificateFlowTest, BranchCertificateNamesTheRepresentative) {
  auto f = UsbToVerified("BUSINESS", kBranchDer);
  ASSERT_TRUE(f.ok()) << f.status();
  auto done = reg_.CompleteCertificate({f->flow_id, "cn.danang@anbinh.vn", ""});
  ASSERT_TRUE(done.ok()) << done.status();
  auto req = accounts_.CertRequest(done->account_id);
  EXPECT_EQ(req->business.mst, "0100686209-199");
  EXPECT_EQ(req->business.name, "Chi nhánh Đà Nẵng, Công ty Cổ phần An Bình");  // CN, no O
  EXPECT_EQ(req->business.representative_cccd, "048190001122");
}

TEST_F(CertificateFlowTest, AgencyAccountTakesTheOrganisationOfficialAndUnitCode) {
  auto f = UsbToVerified("AGENCY", kOfficialDer);
  ASSERT_TRUE(f.ok()) << f.status();
  auto done = reg_.CompleteCertificate({f->flow_id, "binh.tt@chinhphu.vn", ""});
  ASSERT_TRUE(done.ok()) << done.status();
  auto req = accounts_.CertRequest(done->account_id);
  EXPECT_EQ(req->kind, SubjectKind::kAgency);
  EXPECT_EQ(req->agency.unit_code, kUnitCode);
  EXPECT_EQ(req->agency.organization_name, "Văn phòng Chính phủ");
  EXPECT_EQ(req->agency.official_full_name, "Trần Thị Bình");
  EXPECT_EQ(req->agency.official_cccd, "079185004321");
  EXPECT_EQ(req->agency.email, "binh.tt@chinhphu.vn");
  EXPECT_EQ(req->ial, 3);
}

TEST_F(CertificateFlowTest, LostCreateResponseRetriedGivesTheSameAccount) {
  auto f = UsbToVerified("CITIZEN", kCitizenDer);
  ASSERT_TRUE(f.ok());
  accounts_.LoseNextCreateResponse();
  auto lost = reg_.CompleteCertificate({f->flow_id, "", ""});
  EXPECT_EQ(ReasonOf(lost.status()), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kReview);
  auto retry = reg_.CompleteCertificate({f->flow_id, "", ""});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(accounts_.cert_accounts_created(), 1);
  EXPECT_EQ(accounts_.create_calls(), 2);
}

TEST_F(CertificateFlowTest, AccountCreatedByARaceMovesTheFlowToExistingAccount) {
  auto f = UsbToVerified("CITIZEN", kCitizenDer);
  ASSERT_TRUE(f.ok());
  accounts_.AddExisting("001090012345", "acc-raced");  // after our duplicate check
  auto s = reg_.CompleteCertificate({f->flow_id, "", ""});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(s.status()), "ACCOUNT_EXISTS");
  EXPECT_EQ(Meta(s.status(), "flow_id"), f->flow_id);
  auto stored = store_.Peek(f->flow_id);
  EXPECT_EQ(stored->state, FlowState::kExistingAccount);
  EXPECT_EQ(stored->account_id, "acc-raced");
  auth_.AddToken("tok", "acc-raced");
  EXPECT_TRUE(reg_.LinkCertificate(f->flow_id, "tok").ok());
}

TEST_F(CertificateFlowTest, CertificateAlreadyRegisteredElsewhereFailsTheFlow) {
  auto first = UsbToVerified("CITIZEN", kCitizenDer);
  ASSERT_TRUE(reg_.CompleteCertificate({first->flow_id, "", ""}).ok());
  // The same certificate, now claiming an identity with no account (fake: CCCD changed).
  CertificateInfo same = certs::Citizen();
  same.cccd = "079090001111";
  sigverify_.AddCertificate("DER:same-key", same);
  auto f = UsbToVerified("CITIZEN", "DER:same-key");
  ASSERT_TRUE(f.ok()) << f.status();
  auto s = reg_.CompleteCertificate({f->flow_id, "", ""});
  EXPECT_EQ(ReasonOf(s.status()), "CERTIFICATE_ALREADY_REGISTERED");
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kFailed);
  EXPECT_EQ(store_.Peek(f->flow_id)->failure_reason, "CERTIFICATE_ALREADY_REGISTERED");
}

// ---- expiry ----

TEST_F(CertificateFlowTest, EveryStepOnAnExpiredFlowIsRefusedAndNothingIsCreated) {
  auto review = UsbToVerified("CITIZEN", kCitizenDer);
  auto sim = reg_.StartCertificate(Form("SIM", "CITIZEN"));
  Flow usb = StartUsb();
  ASSERT_TRUE(review.ok() && sim.ok());
  clock_.Advance(absl::Minutes(30));
  EXPECT_EQ(ReasonOf(reg_.SubmitCertificateSignature(Signed(usb, kCitizenDer)).status()),
            "FLOW_EXPIRED");
  EXPECT_EQ(ReasonOf(reg_.RenewChallenge(usb.flow_id).status()), "FLOW_EXPIRED");
  EXPECT_EQ(ReasonOf(reg_.PollCertificateSignature(sim->flow_id).status()), "FLOW_EXPIRED");
  EXPECT_EQ(ReasonOf(reg_.CompleteCertificate({review->flow_id, "", ""}).status()),
            "FLOW_EXPIRED");
  EXPECT_EQ(ReasonOf(reg_.LinkCertificate(review->flow_id, "t").status()), "FLOW_EXPIRED");
  EXPECT_EQ(ReasonOf(reg_.Get(review->flow_id).status()), "FLOW_EXPIRED");
  EXPECT_EQ(accounts_.create_calls(), 0);
  EXPECT_EQ(sigverify_.verify_calls(), 1);
}

TEST_F(CertificateFlowTest, CompletedFlowAnswersItsAccountAfterExpiry) {
  auto f = UsbToVerified("CITIZEN", kCitizenDer);
  auto done = reg_.CompleteCertificate({f->flow_id, "", ""});
  ASSERT_TRUE(done.ok());
  clock_.Advance(absl::Hours(2));
  auto replay = reg_.CompleteCertificate({f->flow_id, "", ""});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->account_id, done->account_id);
}

TEST_F(CertificateFlowTest, CompleteIsNoReplayForAMobileFlow) {
  StartMobileInput in;
  in.captcha_id = captcha_.Issue()->captcha_id;
  in.captcha_answer = testing::FakeCaptcha::kAnswer;
  in.id_number = "001090012345";
  in.full_name = "Nguyễn Văn An";
  in.date_of_birth = "1990-05-17";
  in.phone = "0912345678";
  in.consent_version = "2024-01";
  auto f = reg_.StartMobile(in);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(ReasonOf(reg_.CompleteCertificate({f->flow_id, "", ""}).status()),
            "FLOW_WRONG_STATE");
  ASSERT_TRUE(reg_.VerifyOtp(f->flow_id, "246810").ok());
  ASSERT_TRUE(reg_.SetPassword(f->flow_id, "Quy!Nhon-7391", "Quy!Nhon-7391").ok());
  EXPECT_EQ(ReasonOf(reg_.CompleteCertificate({f->flow_id, "", ""}).status()),
            "FLOW_COMPLETED");
}

}  // namespace
}  // namespace dvc::registration
