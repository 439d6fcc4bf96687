// End to end through the public gRPC APIs of the running stack: registration with a
// digital-signature certificate at IAL3 (REG-3 SIM, REG-4 USB, REG-6 VNPT SmartCA) for citizens,
// businesses and state-agency officials (SUB-1..4), linking a certificate to an existing account
// (IAL-2), and certificate login (LGN-3 SIM, LGN-4 USB, LGN-7 SmartCA). The certificates are
// the test PKI's (tools/pki) with its real OCSP responders and CRLs; USB keys sit in SoftHSM2
// and sign through PKCS#11 (tests/e2e/pki.h); SIM and SmartCA signatures come from the MSSP and
// SmartCA simulators. Run by tools/test (the stack's flow TTL is 15 s).
//
// Each CCCD / MST can be registered once per stack, so every test uses its own certificates:
//   citizen-usb          REG-4 citizen, then LGN-4 (and "a citizen certificate as AGENCY")
//   business-usb         business by USB;  business-smartca: business by SmartCA, then LGN-7
//   agency-official-usb  agency by USB;    agency-official-sim: agency by SIM
//   citizen-sim          REG-3 citizen with a cancelled request, then LGN-3
//   citizen-ecdsa-usb    duplicate of a mobile-registered citizen, then linked (IAL 2 → 3)
//   business-branch-usb  never registered: the wrong-signature flow and the unregistered login
//   revoked-usb, expired-usb, untrusted-usb, revoked-sim: refused
// Login tests register their certificate first when an earlier test has not (EnsureRegistered),
// so any one of them also runs alone (--gtest_filter).
#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "tests/e2e/pki.h"
#include "tests/e2e/stack.h"

namespace dvc::e2e {
namespace {

namespace reg = ::dvc::registration::v1;
namespace auth = ::dvc::auth::v1;
namespace acc = ::dvc::accounts::v1;
namespace ev = ::dvc::events::v1;
using grpc::StatusCode;
using usb_signer::SignatureFormat;

constexpr char kPassword[] = "Quoc-Gia@2026x";
constexpr char kConsent[] = "2024-01";
constexpr char kClientIp[] = "203.0.113.77";
constexpr absl::Duration kRemoteWait = absl::Seconds(30);  // > the stack's remote_timeout (20 s)

// Where a refusal says which step failed: "CODE REASON: message".
std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), " ", ReasonOf(s), ": ", s.error_message());
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// The newest MSSP transaction for `msisdn` as the simulator's admin API shows it: what the phone
// displayed and which hash it was asked to sign.
struct MsspTransaction {
  std::string id, displayed, hash;
};

MsspTransaction NewestMsspTransaction(const std::string& msisdn) {
  MsspTransaction t;
  auto body = Http("GET", Env("SIM_MSSP_URL") + "/admin/mssp/transactions?msisdn=" + msisdn);
  EXPECT_TRUE(body.ok()) << body.status();
  if (!body.ok()) return t;
  // Newest first: the first occurrence of each field belongs to the newest transaction.
  auto first = [&](const char* field) {
    std::smatch m;
    const std::regex re(absl::StrCat("\"", field, "\"\\s*:\\s*\"([^\"]*)\""));
    return std::regex_search(*body, m, re) ? m[1].str() : std::string();
  };
  t.id = first("mssp_trans_id");
  t.displayed = first("data_to_be_displayed");
  t.hash = first("hash");
  return t;
}

class CertificateFlowsE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The phones approve by default; no scripted behaviour is left from another test binary.
    EXPECT_TRUE(Http("DELETE", Env("SIM_MSSP_URL") + "/admin/mssp/behaviour").ok());
    EXPECT_TRUE(Http("DELETE", Env("SIM_SMARTCA_URL") + "/admin/smartca/behaviour").ok());
  }

  void SetUp() override {
    ASSERT_FALSE(TheManifest().certs.empty()) << "no certificates in the PKI manifest";
  }

  // ---- registration ---------------------------------------------------------------------

  static reg::StartCertificateRegistrationRequest Usb(reg::SubjectKind kind,
                                                      const std::string& unit_code = "") {
    reg::StartCertificateRegistrationRequest r;
    r.set_method(reg::CERTIFICATE_METHOD_USB);
    r.set_subject_kind(kind);
    r.set_unit_code(unit_code);
    return r;
  }
  static reg::StartCertificateRegistrationRequest Sim(reg::SubjectKind kind,
                                                      const ManifestCert& mc,
                                                      const std::string& unit_code = "") {
    reg::StartCertificateRegistrationRequest r;
    r.set_method(reg::CERTIFICATE_METHOD_SIM);
    r.set_subject_kind(kind);
    r.set_phone(mc.domestic_phone());
    r.set_unit_code(unit_code);
    return r;
  }
  static reg::StartCertificateRegistrationRequest SmartCa(reg::SubjectKind kind,
                                                          const ManifestCert& mc) {
    reg::StartCertificateRegistrationRequest r;
    r.set_method(reg::CERTIFICATE_METHOD_SMARTCA);
    r.set_subject_kind(kind);
    r.set_smartca_user_id(mc.smartca_user_id);
    return r;
  }

  // Captcha (solved with the test stack's dev answer) + consent, then the start call.
  grpc::Status Start(reg::StartCertificateRegistrationRequest r, reg::Flow* out) {
    reg::Captcha c;
    grpc::Status s = stack_.registration().CreateCaptcha(Ctx().get(), {}, &c);
    EXPECT_TRUE(s.ok()) << Describe(s);
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_consent_version(kConsent);
    return stack_.registration().StartCertificateRegistration(Ctx().get(), r, out);
  }

  // Signs `data` (by default the flow's challenge) on `mc`'s token, as the plug-in does, and
  // submits it with the certificate and its intermediates.
  grpc::Status Submit(const reg::Flow& f, const ManifestCert& mc, reg::Flow* out,
                      const std::string* data = nullptr) {
    if (data == nullptr) {
      EXPECT_TRUE(f.has_challenge()) << "flow " << f.flow_id() << " has no live challenge";
    }
    reg::SubmitCertificateSignatureRequest r;
    r.set_flow_id(f.flow_id());
    r.set_format(mc.is_ecdsa() ? reg::SIGNATURE_FORMAT_ECDSA_SHA256
                               : reg::SIGNATURE_FORMAT_PKCS1_SHA256);
    r.set_signature(TokenSign(mc, data != nullptr ? *data : f.challenge().challenge(),
                              mc.is_ecdsa() ? SignatureFormat::kEcdsaSha256
                                            : SignatureFormat::kPkcs1Sha256));
    r.set_certificate(mc.der());
    for (const auto& d : mc.intermediates()) r.add_chain(d);
    return stack_.registration().SubmitCertificateSignature(Ctx().get(), r, out);
  }

  // SIM / SmartCA: polls (bounded) while the phone has not answered.
  grpc::Status PollUntilAnswered(const std::string& flow_id, reg::Flow* out) {
    const absl::Time deadline = absl::Now() + kRemoteWait;
    reg::FlowRef ref;
    ref.set_flow_id(flow_id);
    while (true) {
      grpc::Status s = stack_.registration().PollCertificateSignature(Ctx().get(), ref, out);
      if (!s.ok() || out->state() != reg::FLOW_STATE_SIGNATURE_PENDING) return s;
      if (absl::Now() > deadline) {
        return grpc::Status(StatusCode::DEADLINE_EXCEEDED, "signature still pending");
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  grpc::Status Complete(const std::string& flow_id, const std::string& email, reg::Flow* out) {
    reg::CompleteCertificateRegistrationRequest r;
    r.set_flow_id(flow_id);
    r.set_email(email);
    return stack_.registration().CompleteCertificateRegistration(Ctx().get(), r, out);
  }

  grpc::Status Renew(const std::string& flow_id, reg::Flow* out) {
    reg::FlowRef ref;
    ref.set_flow_id(flow_id);
    return stack_.registration().RenewChallenge(Ctx().get(), ref, out);
  }

  grpc::Status GetFlow(const std::string& flow_id, reg::Flow* out) {
    reg::FlowRef ref;
    ref.set_flow_id(flow_id);
    return stack_.registration().GetFlow(Ctx().get(), ref, out);
  }

  grpc::Status Link(const std::string& flow_id, const std::string& token, reg::Flow* out) {
    reg::LinkCertificateRequest r;
    r.set_flow_id(flow_id);
    r.set_access_token(token);
    return stack_.registration().LinkCertificate(Ctx().get(), r, out);
  }

  // Start → signature (USB on the token, SIM / SmartCA on the phone) → REVIEW.
  reg::Flow ToReview(const reg::StartCertificateRegistrationRequest& start,
                     const ManifestCert& mc) {
    reg::Flow f;
    grpc::Status s = Start(start, &f);
    EXPECT_TRUE(s.ok()) << mc.name << ": " << Describe(s);
    if (!s.ok()) return f;
    if (start.method() == reg::CERTIFICATE_METHOD_USB) {
      EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_REQUIRED);
      s = Submit(f, mc, &f);
    } else {
      EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_PENDING);
      s = PollUntilAnswered(f.flow_id(), &f);
    }
    EXPECT_TRUE(s.ok()) << mc.name << ": " << Describe(s);
    EXPECT_EQ(f.state(), reg::FLOW_STATE_REVIEW) << mc.name;
    return f;
  }

  // The whole registration; the completed flow.
  reg::Flow Register(const reg::StartCertificateRegistrationRequest& start, const ManifestCert& mc,
                     const std::string& email = "") {
    reg::Flow f = ToReview(start, mc);
    if (f.state() != reg::FLOW_STATE_REVIEW) return f;
    grpc::Status s = Complete(f.flow_id(), email, &f);
    EXPECT_TRUE(s.ok()) << mc.name << ": " << Describe(s);
    EXPECT_EQ(f.state(), reg::FLOW_STATE_COMPLETED);
    EXPECT_EQ(f.ial(), 3);
    EXPECT_FALSE(f.account_id().empty());
    return f;
  }

  // The account holding `mc`, registering it first if no earlier test did.
  std::string EnsureRegistered(const reg::StartCertificateRegistrationRequest& start,
                               const ManifestCert& mc, const std::string& email = "") {
    acc::FindByCertificateResponse held = FindByCertificate(mc);
    if (held.found()) return held.account_id();
    return Register(start, mc, email).account_id();
  }

  // ---- accounts ---------------------------------------------------------------------------

  acc::FindByCertificateResponse FindByCertificate(const ManifestCert& mc) {
    acc::FindByCertificateRequest r;
    r.set_fingerprint_sha256(mc.fingerprint_sha256);
    acc::FindByCertificateResponse out;
    grpc::Status s = stack_.accounts().FindByCertificate(Ctx().get(), r, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return out;
  }

  acc::LookupAccountIdResponse Lookup(const std::function<void(acc::FindAccountRequest&)>& key) {
    acc::FindAccountRequest r;
    key(r);
    acc::LookupAccountIdResponse out;
    grpc::Status s = stack_.accounts().LookupAccountId(Ctx().get(), r, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return out;
  }
  acc::LookupAccountIdResponse LookupCccd(const std::string& cccd) {
    return Lookup([&](acc::FindAccountRequest& r) { r.set_id_number(cccd); });
  }
  acc::LookupAccountIdResponse LookupMst(const std::string& mst) {
    return Lookup([&](acc::FindAccountRequest& r) { r.set_mst(mst); });
  }
  acc::LookupAccountIdResponse LookupOfficial(const std::string& unit, const std::string& cccd) {
    return Lookup([&](acc::FindAccountRequest& r) {
      r.set_unit_code(unit);
      r.set_official_cccd(cccd);
    });
  }

  acc::Account GetAccount(const std::string& id) {
    acc::GetAccountRequest r;
    r.set_account_id(id);
    acc::Account a;
    grpc::Status s = stack_.accounts().GetAccount(Ctx().get(), r, &a);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return a;
  }

  std::vector<acc::CertificateCredential> Certificates(const std::string& account_id) {
    acc::ListCertificatesRequest r;
    r.set_account_id(account_id);
    acc::ListCertificatesResponse out;
    grpc::Status s = stack_.accounts().ListCertificates(Ctx().get(), r, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return {out.certificates().begin(), out.certificates().end()};
  }

  // A refused registration created nothing: the certificate is nobody's, and nobody holds the
  // identity it carries (`lookup`).
  void ExpectNothingCreated(const ManifestCert& mc, const acc::LookupAccountIdResponse& lookup) {
    ASSERT_EQ(mc.fingerprint_sha256.size(), 64u) << mc.name;
    EXPECT_FALSE(FindByCertificate(mc).found()) << mc.name << " was registered";
    EXPECT_FALSE(lookup.found()) << mc.name << ": an account " << lookup.account_id();
  }

  // The review screen shows the certificate as issued.
  static void ExpectReviewShows(const reg::Flow& f, const ManifestCert& mc,
                                const std::string& identity_type, const std::string& masked) {
    ASSERT_TRUE(f.has_certificate()) << mc.name;
    ASSERT_FALSE(mc.common_name.empty() || mc.issuer_common_name.empty()) << mc.name;
    const reg::CertificateView& v = f.certificate();
    EXPECT_EQ(v.full_name(), mc.common_name);
    EXPECT_EQ(v.organization(), mc.organization);
    EXPECT_EQ(v.organizational_unit(), mc.organizational_unit);
    EXPECT_EQ(v.issuer_name(), mc.issuer_common_name);
    EXPECT_EQ(TimeOf(v.valid_from()), mc.not_before);
    EXPECT_EQ(TimeOf(v.valid_to()), mc.not_after);
    EXPECT_EQ(v.subject_kind(), f.subject_kind());
    EXPECT_EQ(v.identity_type(), identity_type);
    EXPECT_EQ(v.masked_identity_number(), masked);
  }

  // ---- auth -------------------------------------------------------------------------------

  grpc::Status StartLogin(auth::CertificateLoginMethod method, const std::string& subscriber,
                          auth::CertificateLoginFlow* out) {
    auth::StartCertificateLoginRequest r;
    r.set_method(method);
    if (method == auth::CERTIFICATE_LOGIN_METHOD_SIM) r.set_phone(subscriber);
    if (method == auth::CERTIFICATE_LOGIN_METHOD_SMARTCA) r.set_smartca_user_id(subscriber);
    r.mutable_client()->set_ip(kClientIp);
    r.mutable_client()->set_user_agent("e2e-certificate-test");
    r.mutable_client()->set_device("SoftHSM2");
    return stack_.auth().StartCertificateLogin(Ctx().get(), r, out);
  }

  auth::CompleteCertificateLoginRequest SignLogin(const auth::CertificateLoginFlow& lf,
                                                  const ManifestCert& mc) {
    auth::CompleteCertificateLoginRequest r;
    r.set_login_flow_id(lf.login_flow_id());
    r.set_format(mc.is_ecdsa() ? auth::SIGNATURE_FORMAT_ECDSA_SHA256
                               : auth::SIGNATURE_FORMAT_PKCS1_SHA256);
    r.set_signature(TokenSign(mc, lf.challenge(),
                              mc.is_ecdsa() ? SignatureFormat::kEcdsaSha256
                                            : SignatureFormat::kPkcs1Sha256));
    r.set_certificate(mc.der());
    for (const auto& d : mc.intermediates()) r.add_chain(d);
    return r;
  }

  // LGN-4: challenge → signature on the token → tokens (or the refusal).
  grpc::Status UsbLogin(const ManifestCert& mc, auth::TokenResponse* out) {
    auth::CertificateLoginFlow lf;
    grpc::Status s = StartLogin(auth::CERTIFICATE_LOGIN_METHOD_USB, "", &lf);
    if (!s.ok()) return s;
    return stack_.auth().CompleteCertificateLogin(Ctx().get(), SignLogin(lf, mc), out);
  }

  // LGN-3 / LGN-7: polls (bounded) until the phone answered.
  grpc::Status PollLogin(const std::string& login_flow_id, auth::TokenResponse* out) {
    const absl::Time deadline = absl::Now() + kRemoteWait;
    auth::LoginFlowRef ref;
    ref.set_login_flow_id(login_flow_id);
    while (true) {
      auth::PollCertificateLoginResponse r;
      grpc::Status s = stack_.auth().PollCertificateLogin(Ctx().get(), ref, &r);
      if (!s.ok()) return s;
      if (r.state() == auth::PollCertificateLoginResponse::STATE_DONE) {
        *out = r.tokens();
        return s;
      }
      EXPECT_EQ(r.state(), auth::PollCertificateLoginResponse::STATE_PENDING);
      if (absl::Now() > deadline) {
        return grpc::Status(StatusCode::DEADLINE_EXCEEDED, "login still pending");
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  auth::IntrospectResponse Introspect(const std::string& token) {
    auth::IntrospectRequest r;
    r.set_token(token);
    auth::IntrospectResponse out;
    grpc::Status s = stack_.auth().Introspect(Ctx().get(), r, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return out;
  }

  // The certificate login's tokens: level 3 whatever the account's, the method's amr, for the
  // holder's account; and the login is in the account's history.
  void ExpectCertificateSession(const auth::TokenResponse& t, const std::string& account_id,
                                const std::string& amr, const std::string& history_method) {
    EXPECT_FALSE(t.access_token().empty());
    EXPECT_FALSE(t.refresh_token().empty());
    EXPECT_EQ(t.token_type(), "Bearer");
    EXPECT_EQ(t.acr(), "urn:dvc:ial:3");
    EXPECT_EQ(t.amr(), amr);
    auth::IntrospectResponse in = Introspect(t.access_token());
    EXPECT_TRUE(in.active());
    EXPECT_EQ(in.sub(), account_id);
    EXPECT_EQ(in.acr(), "urn:dvc:ial:3");
    EXPECT_EQ(in.amr(), amr);
    EXPECT_EQ(in.session_id(), t.session_id());

    auth::ListLoginHistoryRequest hr;
    hr.set_account_id(account_id);
    auth::ListLoginHistoryResponse h;
    grpc::Status s = stack_.auth().ListLoginHistory(Ctx().get(), hr, &h);
    ASSERT_TRUE(s.ok()) << Describe(s);
    ASSERT_GT(h.records_size(), 0);
    const auth::LoginRecord& newest = h.records(0);
    EXPECT_EQ(newest.method(), history_method);
    EXPECT_TRUE(newest.success());
    EXPECT_EQ(newest.ip(), kClientIp);
  }

  // ---- REG-1 + LGN-1 (the mobile-registered account of the link scenario) ----------------

  std::string RegisterByMobile(const Person& p) {
    reg::Captcha c;
    EXPECT_TRUE(stack_.registration().CreateCaptcha(Ctx().get(), {}, &c).ok());
    reg::StartMobileRegistrationRequest r;
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_id_number(p.cccd);
    r.set_full_name(p.full_name);
    r.set_date_of_birth(p.date_of_birth);
    r.set_phone(p.phone);
    r.set_consent_version(kConsent);
    reg::Flow f;
    grpc::Status s = stack_.registration().StartMobileRegistration(Ctx().get(), r, &f);
    EXPECT_TRUE(s.ok()) << p.full_name << ": " << Describe(s);
    auto otp = stack_.LastOtp(p.phone);
    EXPECT_TRUE(otp.ok()) << otp.status();
    reg::VerifyOtpRequest vr;
    vr.set_flow_id(f.flow_id());
    vr.set_otp(otp.value_or(""));
    s = stack_.registration().VerifyOtp(Ctx().get(), vr, &f);
    EXPECT_TRUE(s.ok()) << Describe(s);
    reg::SetPasswordRequest sp;
    sp.set_flow_id(f.flow_id());
    sp.set_password(kPassword);
    sp.set_password_confirmation(kPassword);
    s = stack_.registration().SetPassword(Ctx().get(), sp, &f);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(f.state(), reg::FLOW_STATE_COMPLETED);
    EXPECT_EQ(f.ial(), 2);
    return f.account_id();
  }

  // Password + OTP login (LGN-1): an IAL-2 access token.
  std::string PasswordLogin(const Person& p) {
    const std::string previous = stack_.LastOtp(p.phone, "", absl::Milliseconds(1)).value_or("");
    auth::Captcha c;
    EXPECT_TRUE(stack_.auth().CreateCaptcha(Ctx().get(), {}, &c).ok());
    auth::StartPasswordLoginRequest r;
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_id_number(p.cccd);
    r.set_password(kPassword);
    r.mutable_client()->set_ip(kClientIp);
    auth::LoginFlow lf;
    grpc::Status s = stack_.auth().StartPasswordLogin(Ctx().get(), r, &lf);
    EXPECT_TRUE(s.ok()) << Describe(s);
    auto otp = stack_.LastOtp(p.phone, previous);
    EXPECT_TRUE(otp.ok()) << otp.status();
    auth::CompleteLoginRequest cr;
    cr.set_login_flow_id(lf.login_flow_id());
    cr.set_otp(otp.value_or(""));
    auth::TokenResponse t;
    s = stack_.auth().CompleteLogin(Ctx().get(), cr, &t);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(t.acr(), "urn:dvc:ial:2");
    EXPECT_EQ(t.amr(), "pwd+otp");
    return t.access_token();
  }

  Stack stack_;
};

// REG-4: a citizen registers with the USB token that also holds a business certificate (the
// plug-in lists both, the citizen's is picked), sees the certificate, and gets an IAL-3 account.
TEST_F(CertificateFlowsE2e, UsbCitizenRegistersAtIal3) {
  const ManifestCert& mc = PkiCert("citizen-usb");
  const ManifestCert& other = PkiCert("business-branch-usb");
  ASSERT_EQ(mc.token, other.token) << "the citizen's token holds two certificates";
  const std::string cccd = mc.Uid("CCCD");

  reg::Flow f;
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_CITIZEN), &f).ok());
  EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_REQUIRED);
  EXPECT_EQ(f.method(), "USB");
  EXPECT_EQ(f.subject_kind(), reg::SUBJECT_KIND_CITIZEN);
  ASSERT_TRUE(f.has_challenge());
  EXPECT_GE(f.challenge().challenge().size(), 16u);
  EXPECT_EQ(f.signature_requests_left(), 4);

  grpc::Status s = Submit(f, mc, &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(f.state(), reg::FLOW_STATE_REVIEW);
  ExpectReviewShows(f, mc, "CCCD", cccd.substr(0, 4) + "*****" + cccd.substr(9));
  EXPECT_EQ(f.certificate().full_name(), "Nguyễn Văn An");
  EXPECT_FALSE(f.has_challenge());
  // Reviewing creates nothing yet.
  ExpectNothingCreated(mc, LookupCccd(cccd));

  s = Complete(f.flow_id(), "nguyenvanan@example.vn", &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_COMPLETED);
  EXPECT_EQ(f.ial(), 3);
  const std::string id = f.account_id();
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(f.has_certificate()) << "the certificate data is wiped once the flow ends";

  acc::Account a = GetAccount(id);
  EXPECT_EQ(a.ial(), 3);
  EXPECT_EQ(a.subject_kind(), acc::SUBJECT_KIND_CITIZEN);
  EXPECT_EQ(a.status(), acc::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(a.verification_source(), "CERTIFICATE");
  EXPECT_EQ(a.registration_method(), "USB");
  EXPECT_FALSE(a.has_password());
  EXPECT_EQ(a.citizen().cccd(), cccd);
  EXPECT_EQ(a.citizen().full_name(), mc.common_name);
  EXPECT_EQ(a.citizen().email(), "nguyenvanan@example.vn");

  acc::FindByCertificateResponse held = FindByCertificate(mc);
  EXPECT_TRUE(held.found());
  EXPECT_EQ(held.account_id(), id);
  EXPECT_EQ(held.ial(), 3);
  EXPECT_EQ(held.method(), "USB");
  EXPECT_EQ(LookupCccd(cccd).account_id(), id);
  std::vector<acc::CertificateCredential> certs = Certificates(id);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].fingerprint_sha256(), mc.fingerprint_sha256);
  EXPECT_EQ(certs[0].issuer_cn(), mc.issuer_common_name);
  EXPECT_EQ(TimeOf(certs[0].not_after()), mc.not_after);
  // The other certificate on the same token was not touched.
  EXPECT_FALSE(FindByCertificate(other).found());

  // Replaying the last step answers the same account (even a retry after a lost answer).
  reg::Flow again;
  s = Complete(f.flow_id(), "nguyenvanan@example.vn", &again);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(again.state(), reg::FLOW_STATE_COMPLETED);
  EXPECT_EQ(again.account_id(), id);

  // AccountCreated (IAL 3, CERTIFICATE, USB) and the certificate credential reach Kafka, once.
  EventsSeen events = ReadAccountEventsUntil(
      [&](const EventsSeen& seen) {
        auto it = seen.by_account.find(id);
        if (it == seen.by_account.end()) return false;
        bool created = false, credential = false;
        for (const auto& e : it->second) {
          created |= e.has_account_created();
          credential |= e.has_credential_changed();
        }
        return created && credential;
      },
      absl::Seconds(30));
  int created = 0, credential = 0;
  for (const auto& e : events.by_account[id]) {
    EXPECT_EQ(events.event_id_count[e.event_id()], 1) << "event " << e.event_id() << " twice";
    if (e.has_account_created()) {
      ++created;
      EXPECT_EQ(e.account_created().ial(), 3);
      EXPECT_EQ(e.account_created().registration_method(), "USB");
      EXPECT_EQ(e.account_created().verification_source(), "CERTIFICATE");
      EXPECT_EQ(e.account_created().subject_kind(), ev::SUBJECT_KIND_CITIZEN);
    }
    if (e.has_credential_changed()) {
      ++credential;
      EXPECT_EQ(e.credential_changed().credential_type(), "CERTIFICATE");
      EXPECT_EQ(e.credential_changed().change(), "SET");
      EXPECT_EQ(e.credential_changed().method(), "USB");
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(credential, 1);
}

// SUB-2: a business's USB certificate; the email is required at the last step.
TEST_F(CertificateFlowsE2e, BusinessByUsbNeedsAnEmail) {
  const ManifestCert& mc = PkiCert("business-usb");
  const std::string mst = mc.Uid("MST");
  reg::Flow f = ToReview(Usb(reg::SUBJECT_KIND_BUSINESS), mc);
  ASSERT_EQ(f.state(), reg::FLOW_STATE_REVIEW);
  ExpectReviewShows(f, mc, "MST", mst.substr(0, 4) + "***" + mst.substr(7));
  EXPECT_EQ(f.certificate().email(), mc.email) << "the certificate's email prefills the form";
  EXPECT_FALSE(mc.email.empty());

  reg::Flow refused;
  grpc::Status s = Complete(f.flow_id(), "", &refused);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "EMAIL_REQUIRED");
  EXPECT_EQ(MetadataOf(s, "field"), "email");
  ExpectNothingCreated(mc, LookupMst(mst));
  ASSERT_TRUE(GetFlow(f.flow_id(), &f).ok());
  EXPECT_EQ(f.state(), reg::FLOW_STATE_REVIEW) << "the flow waits for the email";

  s = Complete(f.flow_id(), mc.email, &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_COMPLETED);
  EXPECT_EQ(f.ial(), 3);
  acc::Account a = GetAccount(f.account_id());
  EXPECT_EQ(a.ial(), 3);
  EXPECT_EQ(a.subject_kind(), acc::SUBJECT_KIND_BUSINESS);
  EXPECT_EQ(a.registration_method(), "USB");
  EXPECT_EQ(a.business().mst(), mst);
  EXPECT_EQ(a.business().name(), mc.organization);
  EXPECT_EQ(a.business().email(), mc.email);
  EXPECT_FALSE(a.has_citizen());
  EXPECT_EQ(LookupMst(mst).account_id(), f.account_id());
  acc::FindByCertificateResponse held = FindByCertificate(mc);
  EXPECT_TRUE(held.found());
  EXPECT_EQ(held.account_id(), f.account_id());
  EXPECT_EQ(held.subject_kind(), acc::SUBJECT_KIND_BUSINESS);
}

// REG-6: a business with VNPT SmartCA (confirmed in the SmartCA app).
TEST_F(CertificateFlowsE2e, BusinessBySmartCaRegisters) {
  const ManifestCert& mc = PkiCert("business-smartca");
  const std::string mst = mc.Uid("MST");
  reg::Flow f;
  ASSERT_TRUE(Start(SmartCa(reg::SUBJECT_KIND_BUSINESS, mc), &f).ok());
  EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_PENDING);
  EXPECT_EQ(f.method(), "SMARTCA");
  ASSERT_TRUE(f.has_remote_signature());
  EXPECT_EQ(f.remote_signature().verification_code().size(), 4u);
  grpc::Status s = PollUntilAnswered(f.flow_id(), &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(f.state(), reg::FLOW_STATE_REVIEW);
  ExpectReviewShows(f, mc, "MST", mst.substr(0, 4) + "***" + mst.substr(7));

  s = Complete(f.flow_id(), "ketoan@thanhdo-test.vn", &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.ial(), 3);
  acc::Account a = GetAccount(f.account_id());
  EXPECT_EQ(a.ial(), 3);
  EXPECT_EQ(a.subject_kind(), acc::SUBJECT_KIND_BUSINESS);
  EXPECT_EQ(a.registration_method(), "SMARTCA");
  EXPECT_EQ(a.business().mst(), mst);
  std::vector<acc::CertificateCredential> certs = Certificates(f.account_id());
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].method(), "SMARTCA");
  EXPECT_EQ(certs[0].subscriber(), mc.smartca_user_id);
  EXPECT_EQ(certs[0].fingerprint_sha256(), mc.fingerprint_sha256);
}

// SUB-3: an official with a government certificate (Ban Cơ yếu), by USB and by SIM, each under
// the unit code typed in the form.
TEST_F(CertificateFlowsE2e, AgencyOfficialsByUsbAndBySim) {
  struct Case {
    const char* cert;
    const char* unit_code;
    bool sim;
  };
  for (const Case& c : {Case{"agency-official-usb", "000.00.00.G22", false},
                        Case{"agency-official-sim", "000.00.00.H17", true}}) {
    SCOPED_TRACE(c.cert);
    const ManifestCert& mc = PkiCert(c.cert);
    const std::string cccd = mc.Uid("CCCD");
    ASSERT_EQ(mc.issuer, "gov-ca");
    reg::Flow f = ToReview(c.sim ? Sim(reg::SUBJECT_KIND_AGENCY, mc, c.unit_code)
                                 : Usb(reg::SUBJECT_KIND_AGENCY, c.unit_code),
                           mc);
    ASSERT_EQ(f.state(), reg::FLOW_STATE_REVIEW);
    ExpectReviewShows(f, mc, "CCCD", cccd.substr(0, 4) + "*****" + cccd.substr(9));
    EXPECT_EQ(f.certificate().unit_code(), c.unit_code);
    EXPECT_FALSE(f.certificate().organization().empty());
    EXPECT_FALSE(f.certificate().organizational_unit().empty());
    ExpectNothingCreated(mc, LookupOfficial(c.unit_code, cccd));

    grpc::Status s = Complete(f.flow_id(), "", &f);  // email optional for an agency
    ASSERT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(f.ial(), 3);
    acc::Account a = GetAccount(f.account_id());
    EXPECT_EQ(a.ial(), 3);
    EXPECT_EQ(a.subject_kind(), acc::SUBJECT_KIND_AGENCY);
    EXPECT_EQ(a.registration_method(), c.sim ? "SIM" : "USB");
    EXPECT_EQ(a.agency().unit_code(), c.unit_code);
    EXPECT_EQ(a.agency().organization_name(), mc.organization);
    EXPECT_EQ(a.agency().official_cccd(), cccd);
    EXPECT_EQ(a.agency().official_full_name(), mc.common_name);
    EXPECT_EQ(LookupOfficial(c.unit_code, cccd).account_id(), f.account_id());
    EXPECT_EQ(FindByCertificate(mc).account_id(), f.account_id());
  }
}

// SUB-3 rules: an agency needs a government certificate, and cannot use SmartCA; a business
// certificate is not a citizen's.
TEST_F(CertificateFlowsE2e, SubjectKindRulesRefuseTheWrongCertificate) {
  const std::string unit = "000.00.17.G22";
  const ManifestCert& citizen = PkiCert("citizen-usb");
  reg::Flow f;
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_AGENCY, unit), &f).ok());
  reg::Flow after;
  grpc::Status s = Submit(f, citizen, &after);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "CERTIFICATE_NOT_GOVERNMENT");
  EXPECT_EQ(MetadataOf(s, "field"), "certificate");
  EXPECT_EQ(MetadataOf(s, "flow_id"), f.flow_id());
  EXPECT_FALSE(LookupOfficial(unit, citizen.Uid("CCCD")).found());
  ASSERT_TRUE(GetFlow(f.flow_id(), &after).ok());
  EXPECT_EQ(after.state(), reg::FLOW_STATE_SIGNATURE_REQUIRED);
  EXPECT_FALSE(after.has_challenge()) << "the refused attempt used the challenge up";

  s = Start(SmartCa(reg::SUBJECT_KIND_AGENCY, PkiCert("citizen-smartca")), &after);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "METHOD_NOT_ALLOWED_FOR_SUBJECT");
  EXPECT_EQ(MetadataOf(s, "field"), "method");

  const ManifestCert& branch = PkiCert("business-branch-usb");
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_CITIZEN), &f).ok());
  s = Submit(f, branch, &after);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "CERTIFICATE_IS_BUSINESS");
  ExpectNothingCreated(branch, LookupCccd(branch.Uid("CCCD")));
}

// REG-3: SIM signature. The phone shows the code the screen shows; the user first cancels on
// the phone, asks for a new request, approves it, and registers.
TEST_F(CertificateFlowsE2e, SimCitizenCancelsThenRenewsAndRegisters) {
  const ManifestCert& mc = PkiCert("citizen-sim");
  const std::string cccd = mc.Uid("CCCD");
  const std::string mssp = Env("SIM_MSSP_URL");
  ASSERT_TRUE(Http("POST", mssp + "/admin/mssp/behaviour",
                   absl::StrCat(R"({"msisdn":")", mc.phone,
                                R"(","outcome":"cancel","delay_ms":100,"count":1})"))
                  .ok());
  reg::Flow f;
  grpc::Status s = Start(Sim(reg::SUBJECT_KIND_CITIZEN, mc), &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_PENDING);
  EXPECT_EQ(f.method(), "SIM");
  EXPECT_EQ(f.masked_phone().substr(0, 3), mc.domestic_phone().substr(0, 3));
  EXPECT_NE(f.masked_phone(), mc.domestic_phone());
  ASSERT_TRUE(f.has_remote_signature());
  const std::string first_code = f.remote_signature().verification_code();
  ASSERT_EQ(first_code.size(), 4u);
  const MsspTransaction first = NewestMsspTransaction(mc.phone);
  EXPECT_NE(first.displayed.find(first_code), std::string::npos)
      << "the phone displayed '" << first.displayed << "', the screen " << first_code;

  reg::Flow after;
  s = PollUntilAnswered(f.flow_id(), &after);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "SIGNER_USER_CANCELLED");
  EXPECT_EQ(MetadataOf(s, "flow_id"), f.flow_id());
  // That request is over: polling again asks for a renewal.
  s = PollUntilAnswered(f.flow_id(), &after);
  EXPECT_EQ(ReasonOf(s), "CHALLENGE_RENEWAL_REQUIRED") << Describe(s);
  ExpectNothingCreated(mc, LookupCccd(cccd));

  s = Renew(f.flow_id(), &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_PENDING);
  EXPECT_EQ(f.signature_requests_left(), 3);
  const std::string second_code = f.remote_signature().verification_code();
  const MsspTransaction second = NewestMsspTransaction(mc.phone);
  EXPECT_NE(second.id, first.id) << "a new signing request reached the phone";
  EXPECT_NE(second.hash, first.hash) << "over a new challenge";
  EXPECT_NE(second.displayed.find(second_code), std::string::npos)
      << "the phone displayed '" << second.displayed << "', the screen " << second_code;

  s = PollUntilAnswered(f.flow_id(), &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(f.state(), reg::FLOW_STATE_REVIEW);
  ExpectReviewShows(f, mc, "CCCD", cccd.substr(0, 4) + "*****" + cccd.substr(9));

  s = Complete(f.flow_id(), "", &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  acc::Account a = GetAccount(f.account_id());
  EXPECT_EQ(a.ial(), 3);
  EXPECT_EQ(a.registration_method(), "SIM");
  EXPECT_EQ(a.citizen().cccd(), cccd);
  std::vector<acc::CertificateCredential> certs = Certificates(f.account_id());
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].method(), "SIM");
  EXPECT_EQ(certs[0].subscriber(), mc.phone) << "kept as the MSISDN the MSSP knows";
}

TEST_F(CertificateFlowsE2e, RevokedSimCertificateIsRefused) {
  const ManifestCert& mc = PkiCert("revoked-sim");
  ASSERT_EQ(mc.expect, "CERT_REVOKED");
  reg::Flow f;
  ASSERT_TRUE(Start(Sim(reg::SUBJECT_KIND_CITIZEN, mc), &f).ok());
  reg::Flow after;
  grpc::Status s = PollUntilAnswered(f.flow_id(), &after);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "CERT_REVOKED");
  EXPECT_EQ(MetadataOf(s, "flow_id"), f.flow_id());
  ExpectNothingCreated(mc, LookupCccd(mc.Uid("CCCD")));
}

// Broken certificates on a token: each refused with the verifier's reason, nothing created, and
// the used challenge cannot be submitted again.
TEST_F(CertificateFlowsE2e, BrokenUsbCertificatesAreRefusedWithTheirReasons) {
  for (const char* name : {"revoked-usb", "expired-usb", "untrusted-usb"}) {
    SCOPED_TRACE(name);
    const ManifestCert& mc = PkiCert(name);
    ASSERT_NE(mc.expect, "ok");
    reg::Flow f;
    ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_CITIZEN), &f).ok());
    reg::Flow after;
    grpc::Status s = Submit(f, mc, &after);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
    EXPECT_EQ(ReasonOf(s), mc.expect);
    EXPECT_EQ(MetadataOf(s, "field"), "certificate");
    EXPECT_EQ(MetadataOf(s, "flow_id"), f.flow_id());
    s = Submit(f, mc, &after);  // the same challenge again
    EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(s);
    EXPECT_EQ(ReasonOf(s), "CHALLENGE_RENEWAL_REQUIRED");
    ExpectNothingCreated(mc, LookupCccd(mc.Uid("CCCD")));
  }
}

// A signature over another challenge (another flow's: a replay), the used challenge, a renewal,
// and a flow that expired before the signature came.
TEST_F(CertificateFlowsE2e, WrongSignatureReplayRenewalAndExpiry) {
  const ManifestCert& mc = PkiCert("business-branch-usb");
  // This flow is left to expire (the stack's flow TTL is 15 s) while the rest runs.
  reg::Flow late;
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_BUSINESS), &late).ok());

  reg::Flow f, other;
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_BUSINESS), &f).ok());
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_BUSINESS), &other).ok());
  ASSERT_NE(f.challenge().challenge(), other.challenge().challenge());
  reg::Flow after;
  grpc::Status s = Submit(f, mc, &after, &other.challenge().challenge());
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "SIGNATURE_INVALID");
  EXPECT_EQ(MetadataOf(s, "field"), "signature");
  // The right signature now: the challenge was used by the failed attempt.
  s = Submit(f, mc, &after);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "CHALLENGE_RENEWAL_REQUIRED");

  s = Renew(f.flow_id(), &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_SIGNATURE_REQUIRED);
  ASSERT_TRUE(f.has_challenge());
  EXPECT_NE(f.challenge().challenge(), other.challenge().challenge());
  EXPECT_EQ(f.signature_requests_left(), 3);
  const std::string renewed = f.challenge().challenge();
  s = Submit(f, mc, &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(f.state(), reg::FLOW_STATE_REVIEW);
  ExpectReviewShows(f, mc, "MST", "0401******-001");
  // Replaying the signature on the reviewed flow.
  s = Submit(f, mc, &after, &renewed);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "FLOW_WRONG_STATE");

  // The other flow's challenge is still live: only its own flow's signature counts.
  s = Submit(other, mc, &other);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(other.state(), reg::FLOW_STATE_REVIEW);

  // Past the flow's expiry a correct signature is refused, and nothing is created.
  const absl::Time expires = TimeOf(late.expires_at());
  if (absl::Now() < expires) absl::SleepFor(expires - absl::Now() + absl::Milliseconds(500));
  s = Submit(late, mc, &after);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "FLOW_EXPIRED");
  ExpectNothingCreated(mc, LookupMst(mc.Uid("MST")));
}

// SUB-4 + IAL-2: the citizen already has a mobile (IAL-2) account. Registering a certificate
// with the same CCCD creates nothing and offers the link, which only the holder's own login can
// make; the account then rises to IAL 3.
TEST_F(CertificateFlowsE2e, DuplicateCccdIsLinkedByTheHolderOnly) {
  const ManifestCert& mc = PkiCert("citizen-ecdsa-usb");
  // The certificate's holder as the population and the carrier know her (tools/sim/people.json).
  Person holder{mc.Uid("CCCD"), mc.common_name, "2001-05-09", "0942345678"};
  ASSERT_EQ(holder.cccd, "031301007788");
  stack_.AddPerson(holder);
  const std::string holder_id = RegisterByMobile(holder);
  ASSERT_FALSE(holder_id.empty());
  const std::string holder_token = PasswordLogin(holder);
  Person stranger = stack_.NewPerson();
  ASSERT_FALSE(RegisterByMobile(stranger).empty());
  const std::string stranger_token = PasswordLogin(stranger);

  reg::Flow f;
  ASSERT_TRUE(Start(Usb(reg::SUBJECT_KIND_CITIZEN), &f).ok());
  grpc::Status s = Submit(f, mc, &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(f.state(), reg::FLOW_STATE_EXISTING_ACCOUNT);
  EXPECT_EQ(f.notice().reason(), "ACCOUNT_EXISTS");
  EXPECT_NE(f.notice().message_vi().find("Quên mật khẩu"), std::string::npos)
      << f.notice().message_vi();
  EXPECT_NE(f.notice().message_vi().find("đăng nhập"), std::string::npos);
  EXPECT_FALSE(f.notice().message_en().empty());
  EXPECT_TRUE(f.account_id().empty()) << "the existing account is never shown";
  EXPECT_EQ(f.certificate().full_name(), mc.common_name);
  // Nothing created: no second account, the certificate is nobody's, the level unchanged.
  EXPECT_EQ(LookupCccd(holder.cccd).account_id(), holder_id);
  EXPECT_FALSE(FindByCertificate(mc).found());
  EXPECT_EQ(GetAccount(holder_id).ial(), 2);
  reg::Flow after;
  s = Complete(f.flow_id(), "", &after);
  EXPECT_EQ(ReasonOf(s), "FLOW_WRONG_STATE") << Describe(s);

  s = Link(f.flow_id(), "", &after);
  EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "ACCESS_TOKEN_REQUIRED");
  s = Link(f.flow_id(), "not-a-token", &after);
  EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "ACCESS_TOKEN_INVALID");
  s = Link(f.flow_id(), stranger_token, &after);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "ACCOUNT_MISMATCH");
  EXPECT_FALSE(FindByCertificate(mc).found());

  s = Link(f.flow_id(), holder_token, &f);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_COMPLETED);
  EXPECT_EQ(f.account_id(), holder_id);
  EXPECT_EQ(f.ial(), 3);
  reg::Flow again;
  s = Link(f.flow_id(), holder_token, &again);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(again.account_id(), holder_id);

  acc::Account a = GetAccount(holder_id);
  EXPECT_EQ(a.ial(), 3);
  EXPECT_TRUE(a.has_password()) << "the password stays a way in";
  EXPECT_EQ(a.registration_method(), "MOBILE");
  acc::FindByCertificateResponse held = FindByCertificate(mc);
  EXPECT_TRUE(held.found());
  EXPECT_EQ(held.account_id(), holder_id);
  EXPECT_EQ(held.method(), "USB");

  // AssuranceLevelChanged 2 → 3 on Kafka, once.
  auto raised = [&](const ev::AccountEvent& e) {
    return e.has_assurance_level_changed() && e.assurance_level_changed().to_ial() == 3;
  };
  EventsSeen events = ReadAccountEventsUntil(
      [&](const EventsSeen& seen) {
        auto it = seen.by_account.find(holder_id);
        if (it == seen.by_account.end()) return false;
        bool level = false, credential = false;
        for (const auto& e : it->second) {
          level |= raised(e);
          credential |= e.has_credential_changed() &&
                        e.credential_changed().credential_type() == "CERTIFICATE";
        }
        return level && credential;
      },
      absl::Seconds(30));
  int changes = 0, certificate_set = 0;
  for (const auto& e : events.by_account[holder_id]) {
    if (raised(e)) {
      ++changes;
      EXPECT_EQ(e.assurance_level_changed().from_ial(), 2);
      EXPECT_EQ(e.assurance_level_changed().reason(), "CERTIFICATE_ADDED");
      EXPECT_EQ(events.event_id_count[e.event_id()], 1);
    }
    if (e.has_credential_changed() && e.credential_changed().credential_type() == "CERTIFICATE") {
      ++certificate_set;
      EXPECT_EQ(e.credential_changed().method(), "USB");
    }
  }
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(certificate_set, 1);
}

// LGN-4: USB login with a registered certificate; the flow's single attempt; an unregistered
// and a revoked certificate.
TEST_F(CertificateFlowsE2e, UsbLogin) {
  const ManifestCert& mc = PkiCert("citizen-usb");
  const std::string id = EnsureRegistered(Usb(reg::SUBJECT_KIND_CITIZEN), mc);
  ASSERT_FALSE(id.empty());

  auth::CertificateLoginFlow lf;
  grpc::Status s = StartLogin(auth::CERTIFICATE_LOGIN_METHOD_USB, "", &lf);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(lf.method(), auth::CERTIFICATE_LOGIN_METHOD_USB);
  EXPECT_FALSE(lf.challenge().empty());
  const auth::CompleteCertificateLoginRequest signed_request = SignLogin(lf, mc);
  auth::TokenResponse t;
  s = stack_.auth().CompleteCertificateLogin(Ctx().get(), signed_request, &t);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectCertificateSession(t, id, "hwk+pin", "USB");

  // The same signed request again: the flow is done.
  auth::TokenResponse t2;
  s = stack_.auth().CompleteCertificateLogin(Ctx().get(), signed_request, &t2);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "LOGIN_FLOW_COMPLETED");

  // A valid certificate no account holds (the other one on the same token).
  const ManifestCert& unregistered = PkiCert("business-branch-usb");
  ASSERT_FALSE(FindByCertificate(unregistered).found());
  ASSERT_TRUE(StartLogin(auth::CERTIFICATE_LOGIN_METHOD_USB, "", &lf).ok());
  const auth::CompleteCertificateLoginRequest unregistered_request = SignLogin(lf, unregistered);
  s = stack_.auth().CompleteCertificateLogin(Ctx().get(), unregistered_request, &t2);
  EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "CERTIFICATE_NOT_REGISTERED");
  s = stack_.auth().CompleteCertificateLogin(Ctx().get(), unregistered_request, &t2);
  EXPECT_EQ(ReasonOf(s), "CHALLENGE_USED") << "one attempt per challenge: " << Describe(s);

  const ManifestCert& revoked = PkiCert("revoked-usb");
  s = UsbLogin(revoked, &t2);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_EQ(ReasonOf(s), "CERT_REVOKED");

  // A CMS signature from the plug-in carries the certificate itself.
  ASSERT_TRUE(StartLogin(auth::CERTIFICATE_LOGIN_METHOD_USB, "", &lf).ok());
  auth::CompleteCertificateLoginRequest cms;
  cms.set_login_flow_id(lf.login_flow_id());
  cms.set_format(auth::SIGNATURE_FORMAT_CMS_DETACHED);
  cms.set_signature(TokenSign(mc, lf.challenge(), SignatureFormat::kCmsDetached));
  for (const auto& d : mc.intermediates()) cms.add_chain(d);
  s = stack_.auth().CompleteCertificateLogin(Ctx().get(), cms, &t2);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(Introspect(t2.access_token()).sub(), id);
  EXPECT_NE(t2.session_id(), t.session_id());
}

// LGN-3: SIM login; the phone shows the screen's code.
TEST_F(CertificateFlowsE2e, SimLogin) {
  const ManifestCert& mc = PkiCert("citizen-sim");
  const std::string id = EnsureRegistered(Sim(reg::SUBJECT_KIND_CITIZEN, mc), mc);
  ASSERT_FALSE(id.empty());
  auth::CertificateLoginFlow lf;
  grpc::Status s = StartLogin(auth::CERTIFICATE_LOGIN_METHOD_SIM, mc.domestic_phone(), &lf);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(lf.verification_code().size(), 4u);
  EXPECT_FALSE(lf.transaction_id().empty());
  EXPECT_FALSE(lf.masked_phone().empty());
  EXPECT_NE(lf.masked_phone(), mc.domestic_phone());
  EXPECT_GT(lf.poll_interval_ms(), 0);
  const MsspTransaction tx = NewestMsspTransaction(mc.phone);
  EXPECT_NE(tx.displayed.find(lf.verification_code()), std::string::npos)
      << "the phone displayed '" << tx.displayed << "', the screen " << lf.verification_code();
  auth::TokenResponse t;
  s = PollLogin(lf.login_flow_id(), &t);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectCertificateSession(t, id, "sc+pin+mca", "SIM");
}

// LGN-7: VNPT SmartCA login of the business registered by SmartCA.
TEST_F(CertificateFlowsE2e, SmartCaLogin) {
  const ManifestCert& mc = PkiCert("business-smartca");
  const std::string id =
      EnsureRegistered(SmartCa(reg::SUBJECT_KIND_BUSINESS, mc), mc, "ketoan@thanhdo-test.vn");
  ASSERT_FALSE(id.empty());
  auth::CertificateLoginFlow lf;
  grpc::Status s = StartLogin(auth::CERTIFICATE_LOGIN_METHOD_SMARTCA, mc.smartca_user_id, &lf);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(lf.verification_code().size(), 4u);
  auth::TokenResponse t;
  s = PollLogin(lf.login_flow_id(), &t);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ExpectCertificateSession(t, id, "swk+pin+mca", "SMARTCA");
}

}  // namespace
}  // namespace dvc::e2e
