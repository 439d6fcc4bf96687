// In-memory fakes of the registration domain's ports, for unit tests (and, behind fake gRPC
// servers, for the service test). They model the contracts of the real peers: accounts is
// idempotent on request_id, otp's SendOtp is idempotent on request_id, codes are single use with
// a bounded number of attempts, resends have a cooldown; the captcha is single use.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/testing/recorder.h"
#include "libs/status/errors.h"
#include "services/otp/client/testing/fake_otp_client.h"
#include "services/registration/domain/ports.h"

namespace dvc::registration::testing {

using ::dvc::testing::Recorder;

// ---------------------------------------------------------------------------------------------
class FakeFlowStore final : public FlowStore {
 public:
  absl::Status Insert(const Flow& flow) override {
    std::lock_guard<std::recursive_mutex> l(mu_);
    if (flows_.count(flow.flow_id)) return absl::AlreadyExistsError("flow id");
    if (!flow.start_request_id.empty()) {
      for (const auto& [id, f] : flows_) {
        if (f.start_request_id == flow.start_request_id) {
          return absl::AlreadyExistsError("start request id");
        }
      }
    }
    flows_[flow.flow_id] = flow;
    flows_[flow.flow_id].version = 1;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<Flow>> Get(const std::string& flow_id) override {
    std::lock_guard<std::recursive_mutex> l(mu_);
    auto it = flows_.find(flow_id);
    if (it == flows_.end()) return std::optional<Flow>();
    return std::optional<Flow>(it->second);
  }
  absl::StatusOr<std::optional<Flow>> FindByStartRequest(const std::string& request_id) override {
    std::lock_guard<std::recursive_mutex> l(mu_);
    for (const auto& [id, f] : flows_) {
      if (f.start_request_id == request_id) return std::optional<Flow>(f);
    }
    return std::optional<Flow>();
  }
  // One lock for the whole store: steps are serialised (stronger than per flow; fine here).
  absl::Status WithLockedFlow(const std::string& flow_id, const StepFn& fn) override {
    std::lock_guard<std::mutex> step(step_mu_);
    std::optional<Flow> copy;
    {
      std::lock_guard<std::recursive_mutex> l(mu_);
      auto it = flows_.find(flow_id);
      if (it != flows_.end()) copy = it->second;
    }
    StepResult r = fn(copy ? &*copy : nullptr);
    if (r.save && copy) {
      std::lock_guard<std::recursive_mutex> l(mu_);
      copy->version = flows_[flow_id].version + 1;
      flows_[flow_id] = *copy;
      ++saves_;
    }
    return r.status;
  }

  // Test helpers.
  std::optional<Flow> Peek(const std::string& flow_id) {
    std::lock_guard<std::recursive_mutex> l(mu_);
    auto it = flows_.find(flow_id);
    if (it == flows_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() {
    std::lock_guard<std::recursive_mutex> l(mu_);
    return flows_.size();
  }
  int saves() {
    std::lock_guard<std::recursive_mutex> l(mu_);
    return saves_;
  }

 private:
  std::recursive_mutex mu_;
  std::mutex step_mu_;
  std::map<std::string, Flow> flows_;
  int saves_ = 0;
};

// ---------------------------------------------------------------------------------------------
class FakeCaptcha final : public captcha::CaptchaChecker {
 public:
  static constexpr char kAnswer[] = "x7k2pq";

  absl::StatusOr<captcha::IssuedCaptcha> Issue() override {
    std::lock_guard<std::mutex> l(mu_);
    captcha::IssuedCaptcha c;
    c.captcha_id = absl::StrCat("cap-", ++next_);
    c.png = "\x89PNG fake";
    c.expires_at = absl::FromUnixSeconds(1795000000) + absl::Minutes(5);
    c.dev_answer = expose_ ? kAnswer : "";
    live_.insert(c.captcha_id);
    return c;
  }
  absl::Status Verify(const std::string& id, const std::string& answer) override {
    std::lock_guard<std::mutex> l(mu_);
    ++verifications_;
    if (id.empty() || answer.empty()) {
      return status::InvalidArgument("CAPTCHA_REQUIRED", "captcha_answer",
                                     "Bạn phải nhập mã xác thực.", "Enter the captcha.");
    }
    const bool known = live_.erase(id) > 0;  // consumed even when the answer is wrong
    if (!known || answer != kAnswer) {
      return status::InvalidArgument("CAPTCHA_INVALID", "captcha_answer",
                                     "Mã xác thực không đúng.", "The captcha is wrong.");
    }
    return absl::OkStatus();
  }
  void set_expose(bool e) { expose_ = e; }
  int verifications() {
    std::lock_guard<std::mutex> l(mu_);
    return verifications_;
  }

 private:
  std::mutex mu_;
  std::set<std::string> live_;
  int next_ = 0;
  int verifications_ = 0;
  bool expose_ = true;
};

// ---------------------------------------------------------------------------------------------
class FakeIdv final : public IdvClient {
 public:
  absl::StatusOr<SubscriberAnswer> CheckSubscriber(const SubscriberQuery& q) override {
    if (auto scripted = check_.CallScripted(q)) return *std::move(scripted);
    SubscriberAnswer a;
    a.subscriber_found = true;
    a.match = true;
    a.carrier = "Viettel";
    return a;
  }
  // Queues the next answers (then: found + match).
  void Push(absl::StatusOr<SubscriberAnswer> r) { check_.Push(std::move(r)); }
  std::vector<SubscriberQuery> calls() { return check_.requests(); }

 private:
  Recorder<SubscriberQuery, SubscriberAnswer> check_;
};

// ---------------------------------------------------------------------------------------------
class FakeAccounts final : public AccountsClient {
 public:
  absl::StatusOr<bool> Exists(const std::string& id_number) override {
    if (absl::Status s = exists_.Call(); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    return by_id_number_.count(id_number) > 0;
  }
  absl::StatusOr<CreatedAccount> CreateCitizen(const NewCitizenAccount& a) override {
    if (absl::Status s = create_.Call(); !s.ok()) return s;  // fails before doing anything
    std::lock_guard<std::mutex> l(mu_);
    CreatedAccount out;
    auto by_req = by_request_.find(a.request_id);
    if (by_req != by_request_.end()) {
      out = accounts_[by_req->second].created;
    } else {
      if (by_id_number_.count(a.identity.id_number)) {
        return status::AlreadyExists("ACCOUNT_EXISTS", "id_number", "Đã tồn tại.", "Exists.");
      }
      Stored st;
      st.request = a;
      st.created.account_id = absl::StrCat("00000000-0000-4000-8000-", 100000000000 + ++next_);
      st.created.ial = a.ial;
      accounts_[st.created.account_id] = st;
      by_request_[a.request_id] = st.created.account_id;
      by_id_number_[a.identity.id_number] = st.created.account_id;
      out = st.created;
    }
    if (lose_next_response_) {  // created, but the answer never reaches the caller
      lose_next_response_ = false;
      return absl::DeadlineExceededError("deadline exceeded");
    }
    return out;
  }

  absl::StatusOr<std::optional<std::string>> LookupAccountId(const AccountKey& key) override {
    if (absl::Status s = lookup_.Call(key); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(KeyOf(key));
    if (it == keys_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  absl::StatusOr<CreatedAccount> CreateCertificateAccount(const NewCertificateAccount& a) override {
    if (absl::Status s = create_.Call(); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    CreatedAccount out;
    auto by_req = by_request_.find(a.request_id);
    if (by_req != by_request_.end()) {
      out.account_id = by_req->second;
      out.ial = a.ial;
    } else {
      std::vector<std::string> keys = KeysOf(a);
      for (const auto& k : keys) {
        if (keys_.count(k)) {
          return status::AlreadyExists("ACCOUNT_EXISTS", "", "Đã tồn tại.", "Exists.");
        }
      }
      if (fingerprints_.count(a.credential.fingerprint_sha256)) {
        return status::AlreadyExists("CERTIFICATE_ALREADY_REGISTERED", "certificate",
                                     "Chứng thư đã đăng ký.", "Certificate registered.");
      }
      out.account_id = absl::StrCat("00000000-0000-4000-9000-", 100000000000 + ++next_);
      out.ial = a.ial;
      cert_accounts_[out.account_id] = a;
      by_request_[a.request_id] = out.account_id;
      for (const auto& k : keys) keys_[k] = out.account_id;
      fingerprints_[a.credential.fingerprint_sha256] = out.account_id;
    }
    if (lose_next_response_) {
      lose_next_response_ = false;
      return absl::DeadlineExceededError("deadline exceeded");
    }
    return out;
  }

  absl::StatusOr<CreatedAccount> AddCertificate(const CertificateLink& link) override {
    if (absl::Status s = add_.Call(); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    if (!existing_ids_.count(link.account_id) && !cert_accounts_.count(link.account_id)) {
      return status::NotFound("ACCOUNT_NOT_FOUND", "account_id", "Không tìm thấy.", "Not found.");
    }
    if (!links_.count(link.request_id)) {
      links_[link.request_id] = link;
      fingerprints_[link.credential.fingerprint_sha256] = link.account_id;
    }
    CreatedAccount out;
    out.account_id = link.account_id;
    out.ial = 3;
    return out;
  }

  // Test helpers.
  void AddExisting(const std::string& id_number, const std::string& account_id = "existing") {
    std::lock_guard<std::mutex> l(mu_);
    by_id_number_[id_number] = account_id;
    AccountKey k;
    k.kind = SubjectKind::kCitizen;
    k.id_number = id_number;
    keys_[KeyOf(k)] = account_id;
    existing_ids_.insert(account_id);
  }
  // The account holding a CCCD/CMND ("" when none).
  std::string AccountIdOf(const std::string& id_number) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = by_id_number_.find(id_number);
    return it == by_id_number_.end() ? "" : it->second;
  }
  void AddExistingKey(const AccountKey& key, const std::string& account_id) {
    std::lock_guard<std::mutex> l(mu_);
    keys_[KeyOf(key)] = account_id;
    existing_ids_.insert(account_id);
  }
  void PushLookupError(absl::Status s) { lookup_.Push(std::move(s)); }
  void PushAddCertificateError(absl::Status s) { add_.Push(std::move(s)); }
  int cert_accounts_created() {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(cert_accounts_.size());
  }
  std::optional<NewCertificateAccount> CertRequest(const std::string& account_id) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cert_accounts_.find(account_id);
    if (it == cert_accounts_.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, CertificateLink> links() {
    std::lock_guard<std::mutex> l(mu_);
    return links_;
  }
  int add_calls() { return add_.calls(); }
  int lookup_calls() { return lookup_.calls(); }
  std::vector<AccountKey> lookups() { return lookup_.requests(); }

  static std::string KeyOf(const AccountKey& k) {
    switch (k.kind) {
      case SubjectKind::kCitizen: return "citizen:" + k.id_number;
      case SubjectKind::kBusiness: return "business:" + k.mst;
      case SubjectKind::kAgency: return "agency:" + k.unit_code + "|" + k.official_cccd;
    }
    return "";
  }
  static std::vector<std::string> KeysOf(const NewCertificateAccount& a) {
    AccountKey k;
    k.kind = a.kind;
    std::vector<std::string> out;
    switch (a.kind) {
      case SubjectKind::kCitizen:
        for (const std::string* id : {&a.citizen.cccd, &a.citizen.cmnd}) {
          if (id->empty()) continue;
          k.id_number = *id;
          out.push_back(KeyOf(k));
        }
        break;
      case SubjectKind::kBusiness:
        k.mst = a.business.mst;
        out.push_back(KeyOf(k));
        break;
      case SubjectKind::kAgency:
        k.unit_code = a.agency.unit_code;
        k.official_cccd = a.agency.official_cccd;
        out.push_back(KeyOf(k));
        break;
    }
    return out;
  }
  void PushExistsError(absl::Status s) { exists_.Push(std::move(s)); }
  // CreateCitizen and CreateCertificateAccount share one queue and one count.
  void PushCreateError(absl::Status s) { create_.Push(std::move(s)); }
  void LoseNextCreateResponse() {
    std::lock_guard<std::mutex> l(mu_);
    lose_next_response_ = true;
  }
  int accounts_created() {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(accounts_.size());
  }
  int create_calls() { return create_.calls(); }
  int exists_calls() { return exists_.calls(); }
  std::optional<NewCitizenAccount> Request(const std::string& account_id) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = accounts_.find(account_id);
    if (it == accounts_.end()) return std::nullopt;
    return it->second.request;
  }

 private:
  struct Stored {
    NewCitizenAccount request;
    CreatedAccount created;
  };
  std::mutex mu_;
  std::map<std::string, Stored> accounts_;
  std::map<std::string, std::string> by_request_;
  std::map<std::string, std::string> by_id_number_;
  std::map<std::string, std::string> keys_;          // KeyOf → account id
  std::map<std::string, std::string> fingerprints_;  // certificate → account id
  std::set<std::string> existing_ids_;
  std::map<std::string, NewCertificateAccount> cert_accounts_;
  std::map<std::string, CertificateLink> links_;  // by request id
  Recorder<> exists_, create_, add_;
  Recorder<AccountKey> lookup_;
  bool lose_next_response_ = false;
  int next_ = 0;
};

// ---------------------------------------------------------------------------------------------
// sigverify: certificates are registered by the test under an opaque "DER" string (USB) or a
// subscriber (SIM / SmartCA). A valid signature over a challenge is "signed:" + the challenge.
// Challenges are single use (consumed by any verification), bound to the flow, and expire.
class FakeSigverify final : public SigverifyClient {
 public:
  using Purpose = sigverify::client::Purpose;
  explicit FakeSigverify(Clock* clock) : clock_(clock) {}

  absl::StatusOr<sigverify::client::Challenge> IssueChallenge(Purpose purpose,
                                                              const std::string& flow_id) override {
    if (absl::Status s = CheckPurpose(purpose); !s.ok()) return s;
    if (absl::Status s = issue_.Call(flow_id); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    sigverify::client::Challenge c;
    c.challenge_id = absl::StrCat("chal-", ++next_);
    c.challenge = absl::StrCat("DVC REGISTRATION ", c.challenge_id, " ", flow_id);
    c.expires_at = clock_->Now() + absl::Minutes(5);
    challenges_[c.challenge_id] = Challenge{flow_id, c.challenge, c.expires_at, false};
    return c;
  }

  absl::StatusOr<CertificateInfo> VerifyChallengeSignature(Purpose purpose,
                                                           const ChallengeSignature& s) override {
    if (absl::Status e = CheckPurpose(purpose); !e.ok()) return e;
    verify_.Record(s);
    std::lock_guard<std::mutex> l(mu_);
    auto it = challenges_.find(s.challenge_id);
    if (it == challenges_.end() || it->second.flow_id != s.flow_id) {
      return status::NotFound("CHALLENGE_NOT_FOUND", "challenge_id", "Không thấy.", "Not found.");
    }
    Challenge& c = it->second;
    if (c.used) {
      return status::FailedPrecondition("CHALLENGE_USED", "challenge_id", "Đã dùng.", "Used.");
    }
    c.used = true;  // one attempt per challenge, whatever the outcome
    if (absl::Status e = verify_.NextError(); !e.ok()) return e;
    if (clock_->Now() >= c.expires_at) {
      return status::FailedPrecondition("CHALLENGE_EXPIRED", "challenge_id", "Hết hạn.",
                                        "Expired.");
    }
    auto cert = certs_.find(s.certificate);
    if (cert == certs_.end()) {
      return status::InvalidArgument("CERT_MALFORMED", "certificate", "Hỏng.", "Malformed.");
    }
    if (!cert->second.ok()) return cert->second.status();
    if (s.signature != "signed:" + c.text) {
      return status::InvalidArgument("SIGNATURE_INVALID", "signature", "Sai chữ ký.",
                                     "Bad signature.");
    }
    CertificateInfo info = *cert->second;
    info.method = "USB";
    return info;
  }

  absl::StatusOr<sigverify::client::RemoteSignatureStarted> StartRemoteSignature(
      Purpose purpose, const RemoteSignatureRequest& r) override {
    if (absl::Status s = CheckPurpose(purpose); !s.ok()) return s;
    if (absl::Status s = start_.Call(r); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    auto cert = remote_certs_.find(r.subscriber);
    if (cert == remote_certs_.end()) {
      return status::FailedPrecondition("SIGNER_NO_CERTIFICATE", "", "Không có chứng thư.",
                                        "No certificate.");
    }
    sigverify::client::RemoteSignatureStarted out;
    out.transaction_id = absl::StrCat("tx-", ++next_);
    out.verification_code = absl::StrCat(1000 + next_);
    out.expires_at = clock_->Now() + absl::Minutes(2);
    Transaction t;
    t.flow_id = r.flow_id;
    t.method = r.provider == RemoteProvider::kSmartCa ? kMethodSmartCa : kMethodSim;
    t.certificate = cert->second;
    transactions_[out.transaction_id] = t;
    last_transaction_ = out.transaction_id;
    return out;
  }

  absl::StatusOr<sigverify::client::RemoteSignatureOutcome> GetRemoteSignatureResult(
      Purpose purpose, const std::string& transaction_id, const std::string& flow_id) override {
    if (absl::Status s = CheckPurpose(purpose); !s.ok()) return s;
    if (absl::Status s = poll_.Call(); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    auto it = transactions_.find(transaction_id);
    if (it == transactions_.end() || it->second.flow_id != flow_id) {
      return status::NotFound("TRANSACTION_NOT_FOUND", "transaction_id", "Không thấy.",
                              "Not found.");
    }
    Transaction& t = it->second;
    if (!t.outcome.ok()) return t.outcome;
    sigverify::client::RemoteSignatureOutcome out;
    out.pending = !t.confirmed;
    if (t.confirmed) {
      if (!t.certificate.ok()) return t.certificate.status();
      out.signer = *t.certificate;
      out.signer.method = t.method;
    }
    return out;
  }

  // Test helpers.
  void AddCertificate(const std::string& der, absl::StatusOr<CertificateInfo> info) {
    std::lock_guard<std::mutex> l(mu_);
    certs_[der] = std::move(info);
  }
  void AddRemote(const std::string& subscriber, absl::StatusOr<CertificateInfo> info) {
    std::lock_guard<std::mutex> l(mu_);
    remote_certs_[subscriber] = std::move(info);
  }
  // The user confirms (PIN) on the phone / in the app.
  void ConfirmLast() {
    std::lock_guard<std::mutex> l(mu_);
    transactions_[last_transaction_].confirmed = true;
  }
  // The transaction ends with this error (e.g. SIGNER_USER_CANCELLED).
  void EndLast(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    transactions_[last_transaction_].outcome = std::move(s);
  }
  void PushIssueError(absl::Status s) { issue_.Push(std::move(s)); }
  // Answered after the challenge is consumed.
  void PushVerifyError(absl::Status s) { verify_.Push(std::move(s)); }
  void PushStartError(absl::Status s) { start_.Push(std::move(s)); }
  void PushPollError(absl::Status s) { poll_.Push(std::move(s)); }
  int issue_calls() { return issue_.calls(); }
  int verify_calls() { return verify_.calls(); }
  int start_calls() { return start_.calls(); }
  int poll_calls() { return poll_.calls(); }
  std::vector<RemoteSignatureRequest> starts() { return start_.requests(); }
  ChallengeSignature last_signature() { return verify_.last(); }

 private:
  struct Challenge {
    std::string flow_id, text;
    absl::Time expires_at;
    bool used = false;
  };
  struct Transaction {
    std::string flow_id, method;
    absl::StatusOr<CertificateInfo> certificate;
    bool confirmed = false;
    absl::Status outcome;
  };
  // Registration calls sigverify for purpose REGISTRATION only.
  static absl::Status CheckPurpose(Purpose purpose) {
    if (purpose == Purpose::kRegistration) return absl::OkStatus();
    return absl::InternalError("fake sigverify: registration must call for purpose REGISTRATION");
  }

  Clock* clock_;
  std::mutex mu_;
  std::map<std::string, Challenge> challenges_;
  std::map<std::string, Transaction> transactions_;
  std::map<std::string, absl::StatusOr<CertificateInfo>> certs_, remote_certs_;
  Recorder<std::string> issue_;  // by flow id
  Recorder<ChallengeSignature> verify_;
  Recorder<RemoteSignatureRequest> start_;
  Recorder<> poll_;
  std::string last_transaction_;
  int next_ = 0;
};

// ---------------------------------------------------------------------------------------------
class FakeAuth final : public AuthClient {
 public:
  absl::StatusOr<TokenInfo> Introspect(const std::string& token) override {
    if (absl::Status s = introspect_.Call(); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    TokenInfo out;
    auto it = tokens_.find(token);
    if (it == tokens_.end()) return out;
    out.active = true;
    out.account_id = it->second;
    return out;
  }
  void AddToken(const std::string& token, const std::string& account_id) {
    std::lock_guard<std::mutex> l(mu_);
    tokens_[token] = account_id;
  }
  void PushError(absl::Status s) { introspect_.Push(std::move(s)); }
  int calls() { return introspect_.calls(); }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;
  Recorder<> introspect_;
};

// ---------------------------------------------------------------------------------------------
// The otp service: the shared in-memory fake, scripted as these tests expect it (3 wrong codes
// per challenge, code 246810).
using FakeOtp = otp::client::testing::FakeOtpClient;
inline FakeOtp::Options OtpOptions() { return {.attempts = 3, .code = "246810"}; }

// ---------------------------------------------------------------------------------------------
// Verified certificates as sigverify describes them (identity values valid per libs/validators).
namespace certs {

inline CertificateInfo Base(const std::string& fingerprint) {
  CertificateInfo c;
  c.fingerprint_sha256 = fingerprint;
  c.serial_hex = "0a1b2c3d";
  c.issuer_common_name = "VNPT Certification Authority (TEST)";
  c.not_before = absl::FromUnixSeconds(1790000000);
  c.not_after = absl::FromUnixSeconds(1850000000);
  return c;
}
inline CertificateInfo Citizen() {
  CertificateInfo c = Base(std::string(64, 'a'));
  c.kind = "PERSON";
  c.subject = "CN=Nguyễn Văn An,UID=CCCD:001090012345,C=VN";
  c.common_name = "Nguyễn Văn An";
  c.cccd = "001090012345";
  return c;
}
inline CertificateInfo Business() {
  CertificateInfo c = Base(std::string(64, 'b'));
  c.kind = "BUSINESS";
  c.common_name = "CÔNG TY CỔ PHẦN AN BÌNH";
  c.organization = "Công ty Cổ phần An Bình";
  c.locality = "Cầu Giấy";
  c.state = "Hà Nội";
  c.email = "ketoan@anbinh.vn";
  c.mst = "0100686209";
  return c;
}
// A branch: MST-branch and the representative's CCCD (two UIDs).
inline CertificateInfo Branch() {
  CertificateInfo c = Base(std::string(64, 'c'));
  c.kind = "BUSINESS";
  c.common_name = "Chi nhánh Đà Nẵng, Công ty Cổ phần An Bình";
  c.mst = "0100686209-199";
  c.cccd = "048190001122";
  return c;
}
inline CertificateInfo Official() {
  CertificateInfo c = Base(std::string(64, 'd'));
  c.kind = "PERSON";
  c.issuer_common_name = "CA phục vụ các cơ quan Nhà nước G2 (TEST)";
  c.government_anchor = true;
  c.common_name = "Trần Thị Bình";
  c.organization = "Văn phòng Chính phủ";
  c.organizational_unit = "Cục Kiểm soát thủ tục hành chính";
  c.cccd = "079185004321";
  return c;
}
inline CertificateInfo Seal() {
  CertificateInfo c = Base(std::string(64, 'e'));
  c.kind = "SEAL";
  c.common_name = "Công ty Cổ phần An Bình";
  c.organization = "Công ty Cổ phần An Bình";
  return c;
}

}  // namespace certs

}  // namespace dvc::registration::testing
