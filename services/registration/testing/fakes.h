// In-memory fakes of the registration domain's ports, for unit tests (and, behind fake gRPC
// servers, for the service test). They model the contracts of the real peers: accounts is
// idempotent on request_id, otp's SendOtp is idempotent on request_id, codes are single use with
// a bounded number of attempts, resends have a cooldown; the captcha is single use.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/status/errors.h"
#include "services/registration/domain/ports.h"

namespace dvc::registration::testing {

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
    std::lock_guard<std::mutex> l(mu_);
    calls_.push_back(q);
    if (!scripted_.empty()) {
      auto r = scripted_.front();
      scripted_.pop_front();
      return r;
    }
    SubscriberAnswer a;
    a.subscriber_found = true;
    a.match = true;
    a.carrier = "Viettel";
    return a;
  }
  // Queues the next answers (then: found + match).
  void Push(absl::StatusOr<SubscriberAnswer> r) {
    std::lock_guard<std::mutex> l(mu_);
    scripted_.push_back(std::move(r));
  }
  std::vector<SubscriberQuery> calls() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::deque<absl::StatusOr<SubscriberAnswer>> scripted_;
  std::vector<SubscriberQuery> calls_;
};

// ---------------------------------------------------------------------------------------------
class FakeAccounts final : public AccountsClient {
 public:
  absl::StatusOr<bool> Exists(const std::string& id_number) override {
    std::lock_guard<std::mutex> l(mu_);
    ++exists_calls_;
    if (!exists_errors_.empty()) {
      absl::Status s = exists_errors_.front();
      exists_errors_.pop_front();
      return s;
    }
    return by_id_number_.count(id_number) > 0;
  }
  absl::StatusOr<CreatedAccount> CreateCitizen(const NewCitizenAccount& a) override {
    std::lock_guard<std::mutex> l(mu_);
    ++create_calls_;
    if (!create_errors_.empty()) {  // fails before doing anything
      absl::Status s = create_errors_.front();
      create_errors_.pop_front();
      return s;
    }
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

  // Test helpers.
  void AddExisting(const std::string& id_number) {
    std::lock_guard<std::mutex> l(mu_);
    by_id_number_[id_number] = "existing";
  }
  void PushExistsError(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    exists_errors_.push_back(std::move(s));
  }
  void PushCreateError(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    create_errors_.push_back(std::move(s));
  }
  void LoseNextCreateResponse() {
    std::lock_guard<std::mutex> l(mu_);
    lose_next_response_ = true;
  }
  int accounts_created() {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(accounts_.size());
  }
  int create_calls() {
    std::lock_guard<std::mutex> l(mu_);
    return create_calls_;
  }
  int exists_calls() {
    std::lock_guard<std::mutex> l(mu_);
    return exists_calls_;
  }
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
  std::deque<absl::Status> exists_errors_, create_errors_;
  bool lose_next_response_ = false;
  int next_ = 0;
  int create_calls_ = 0;
  int exists_calls_ = 0;
};

// ---------------------------------------------------------------------------------------------
class FakeOtp final : public OtpClient {
 public:
  static constexpr int kAttempts = 3;
  explicit FakeOtp(Clock* clock) : clock_(clock) {}

  absl::StatusOr<OtpChallenge> Send(const std::string& request_id, const std::string& phone,
                                    const std::string& purpose,
                                    const std::string& subject) override {
    std::lock_guard<std::mutex> l(mu_);
    ++send_calls_;
    send_request_ids_.push_back(request_id);
    if (!send_errors_.empty()) {
      absl::Status s = send_errors_.front();
      send_errors_.pop_front();
      return s;
    }
    auto it = by_request_.find(request_id);
    if (it != by_request_.end()) return View(challenges_[it->second]);
    Challenge c;
    c.id = absl::StrCat("ch-", ++next_);
    c.phone = phone;
    c.purpose = purpose;
    c.subject = subject;
    c.code = code_;
    Arm(c);
    challenges_[c.id] = c;
    by_request_[request_id] = c.id;
    ++sms_sent_;
    return View(c);
  }
  absl::StatusOr<OtpChallenge> Resend(const std::string& challenge_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = challenges_.find(challenge_id);
    if (it == challenges_.end()) {
      return status::NotFound("OTP_CHALLENGE_NOT_FOUND", "", "Không tìm thấy.", "Not found.");
    }
    Challenge& c = it->second;
    const absl::Time now = clock_->Now();
    if (now < c.resend_after) {
      int wait = static_cast<int>(absl::ToInt64Seconds(c.resend_after - now)) + 1;
      return status::ResourceExhausted("OTP_RESEND_TOO_SOON", "Vui lòng chờ.", "Please wait.",
                                       wait);
    }
    c.code = code_;
    c.used = false;
    Arm(c);
    ++sms_sent_;
    return View(c);
  }
  absl::StatusOr<std::string> Verify(const std::string& challenge_id, const std::string& code,
                                     const std::string& purpose) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!verify_errors_.empty()) {
      absl::Status s = verify_errors_.front();
      verify_errors_.pop_front();
      return s;
    }
    auto it = challenges_.find(challenge_id);
    if (it == challenges_.end() || it->second.purpose != purpose) {
      return status::InvalidArgument("OTP_INVALID", "otp", "Sai mã.", "Wrong code.");
    }
    Challenge& c = it->second;
    if (c.used) {
      return status::FailedPrecondition("OTP_ALREADY_USED", "otp", "Đã dùng.", "Used.");
    }
    if (c.attempts_left <= 0) {
      return status::FailedPrecondition("OTP_ATTEMPTS_EXCEEDED", "otp", "Quá số lần.",
                                        "Too many attempts.");
    }
    if (clock_->Now() >= c.expires_at) {
      return status::FailedPrecondition("OTP_EXPIRED", "otp", "Hết hạn.", "Expired.");
    }
    if (code != c.code) {
      --c.attempts_left;
      if (c.attempts_left <= 0) {
        return status::FailedPrecondition("OTP_ATTEMPTS_EXCEEDED", "otp", "Quá số lần.",
                                          "Too many attempts.");
      }
      return status::WithMetadata(
          status::InvalidArgument("OTP_INVALID", "otp", "Sai mã.", "Wrong code."),
          "attempts_left", absl::StrCat(c.attempts_left));
    }
    c.used = true;
    return c.phone;
  }

  // Test helpers.
  void set_code(const std::string& code) {
    std::lock_guard<std::mutex> l(mu_);
    code_ = code;
  }
  void PushSendError(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    send_errors_.push_back(std::move(s));
  }
  void PushVerifyError(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    verify_errors_.push_back(std::move(s));
  }
  int sms_sent() {
    std::lock_guard<std::mutex> l(mu_);
    return sms_sent_;
  }
  int send_calls() {
    std::lock_guard<std::mutex> l(mu_);
    return send_calls_;
  }
  std::vector<std::string> send_request_ids() {
    std::lock_guard<std::mutex> l(mu_);
    return send_request_ids_;
  }
  std::string LastSubject() {
    std::lock_guard<std::mutex> l(mu_);
    return challenges_.empty() ? "" : challenges_.rbegin()->second.subject;
  }
  std::string LastPurpose() {
    std::lock_guard<std::mutex> l(mu_);
    return challenges_.empty() ? "" : challenges_.rbegin()->second.purpose;
  }

 private:
  struct Challenge {
    std::string id, phone, purpose, subject, code;
    absl::Time expires_at, resend_after;
    int attempts_left = kAttempts;
    bool used = false;
  };
  void Arm(Challenge& c) {
    const absl::Time now = clock_->Now();
    c.expires_at = now + absl::Minutes(5);
    c.resend_after = now + absl::Seconds(60);
    c.attempts_left = kAttempts;
  }
  static OtpChallenge View(const Challenge& c) {
    OtpChallenge o;
    o.challenge_id = c.id;
    o.masked_phone = c.phone.size() == 10 ? c.phone.substr(0, 3) + "****" + c.phone.substr(7)
                                          : "***";
    o.expires_at = c.expires_at;
    o.resend_after = c.resend_after;
    o.attempts_left = c.attempts_left;
    return o;
  }

  Clock* clock_;
  std::mutex mu_;
  std::map<std::string, Challenge> challenges_;
  std::map<std::string, std::string> by_request_;
  std::deque<absl::Status> send_errors_, verify_errors_;
  std::vector<std::string> send_request_ids_;
  std::string code_ = "246810";
  int next_ = 0;
  int sms_sent_ = 0;
  int send_calls_ = 0;
};

}  // namespace dvc::registration::testing
