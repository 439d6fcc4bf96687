// An in-memory otp service behind the OtpClient port, for the tests of its callers (auth,
// registration). It follows the real service's rules where callers can observe them:
//   - Send is idempotent on request_id (the same challenge again, no second SMS);
//   - Resend waits for the cooldown, then replaces the code and arms the challenge again;
//   - Verify checks the purpose, expiry, attempts and single use; the step that consumed a code
//     may repeat the call with the same idempotency key and the right code before expiry and
//     gets the phone again; a wrong code spends an attempt (attempts_left in the metadata).
// Codes are fixed (`Options::code`, set_next_code), never random; expiry 5 min, cooldown 60 s.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/status/errors.h"
#include "libs/testing/recorder.h"
#include "services/otp/client/otp_client.h"

namespace dvc::otp::client::testing {

// One code handed to the "SMS gateway" (Send or Resend).
struct SentOtp {
  std::string request_id;  // "" for a resend
  std::string phone;
  std::string purpose;
  std::string subject;
  std::string challenge_id;
  std::string code;
};

class FakeOtpClient final : public OtpClient {
 public:
  struct Options {
    int attempts = 5;            // wrong codes allowed per challenge (otp's default)
    std::string code = "123456";  // the code of every send until set_next_code
  };
  explicit FakeOtpClient(Clock* clock) : FakeOtpClient(clock, Options{}) {}
  FakeOtpClient(Clock* clock, Options options)
      : clock_(clock), attempts_(options.attempts), code_(std::move(options.code)) {}

  absl::StatusOr<Challenge> Send(const std::string& request_id, const std::string& phone,
                                 const std::string& purpose,
                                 const std::string& subject) override {
    if (absl::Status s = send_.Call(request_id); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    if (!sticky_send_error_.ok()) return sticky_send_error_;
    auto it = by_request_.find(request_id);
    if (it != by_request_.end()) return View(challenges_[it->second]);
    State c;
    c.id = absl::StrCat("ch-", challenges_.size() + 1);
    c.phone = phone;
    c.purpose = purpose;
    c.subject = subject;
    Arm(c);
    challenges_[c.id] = c;
    by_request_[request_id] = c.id;
    sent_.push_back({request_id, phone, purpose, subject, c.id, c.code});
    return View(c);
  }

  absl::StatusOr<Challenge> Resend(const std::string& challenge_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = challenges_.find(challenge_id);
    if (it == challenges_.end()) {
      return status::NotFound("OTP_CHALLENGE_NOT_FOUND", "challenge_id",
                              "Không tìm thấy mã OTP.", "The OTP challenge was not found.");
    }
    State& c = it->second;
    const absl::Time now = clock_->Now();
    if (now < c.resend_after) {
      return status::ResourceExhausted(
          "OTP_RESEND_TOO_SOON", "Vui lòng chờ trước khi gửi lại mã.",
          "Please wait before asking for a new code.",
          static_cast<int>(absl::ToInt64Seconds(c.resend_after - now)) + 1);
    }
    c.used = false;
    c.used_key.clear();
    Arm(c);
    sent_.push_back({"", c.phone, c.purpose, c.subject, c.id, c.code});
    return View(c);
  }

  absl::StatusOr<std::string> Verify(const std::string& challenge_id, const std::string& code,
                                     const std::string& purpose,
                                     const std::string& idempotency_key) override {
    if (absl::Status s = verify_.Call(idempotency_key); !s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    auto it = challenges_.find(challenge_id);
    if (it == challenges_.end() || it->second.purpose != purpose) return Invalid();
    State& c = it->second;
    const absl::Time now = clock_->Now();
    if (c.used && !idempotency_key.empty() && idempotency_key == c.used_key &&
        code == c.code && now < c.expires_at) {
      return c.phone;  // the consuming step, retried
    }
    if (c.used) {
      return status::FailedPrecondition("OTP_ALREADY_USED", "otp", "Mã OTP đã được sử dụng.",
                                        "The OTP has already been used.");
    }
    if (c.attempts_left <= 0) return AttemptsExceeded();
    if (now >= c.expires_at) {
      return status::FailedPrecondition("OTP_EXPIRED", "otp", "Mã OTP đã hết hạn.",
                                        "The OTP has expired.");
    }
    if (code != c.code) {
      if (--c.attempts_left <= 0) return AttemptsExceeded();
      return status::WithMetadata(Invalid(), "attempts_left", absl::StrCat(c.attempts_left));
    }
    c.used = true;
    c.used_key = idempotency_key;
    if (lose_next_answer_) {
      lose_next_answer_ = false;
      return absl::DeadlineExceededError("fake otp: answer lost");
    }
    return c.phone;
  }

  // ---- test controls
  // The code of the sends and resends from now on.
  void set_next_code(std::string code) {
    std::lock_guard<std::mutex> l(mu_);
    code_ = std::move(code);
  }
  // Every Send answers `s` until it is set back to OK.
  void set_send_error(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    sticky_send_error_ = std::move(s);
  }
  // The next Send (or Verify) answers `s`, once, before anything else (queued in order).
  void PushSendError(absl::Status s) { send_.Push(std::move(s)); }
  void PushVerifyError(absl::Status s) { verify_.Push(std::move(s)); }
  // The next Verify that consumes a code does so, but answers DEADLINE_EXCEEDED (the answer was
  // lost on the way back).
  void LoseNextVerifyAnswer() {
    std::lock_guard<std::mutex> l(mu_);
    lose_next_answer_ = true;
  }

  // ---- what happened
  std::vector<SentOtp> sent() const {  // every SMS, in order
    std::lock_guard<std::mutex> l(mu_);
    return sent_;
  }
  int sms_sent() const {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(sent_.size());
  }
  // Of every Send call, failed ones too.
  std::vector<std::string> send_request_ids() const { return send_.requests(); }
  int send_calls() const { return send_.calls(); }
  // The idempotency key of every Verify call.
  std::vector<std::string> verify_keys() const { return verify_.requests(); }

 private:
  struct State {
    std::string id, phone, purpose, subject, code;
    absl::Time expires_at, resend_after;
    int attempts_left = 0;
    bool used = false;
    std::string used_key;  // the idempotency key of the consuming Verify
  };

  void Arm(State& c) {
    const absl::Time now = clock_->Now();
    c.code = code_;
    c.expires_at = now + absl::Minutes(5);
    c.resend_after = now + absl::Seconds(60);
    c.attempts_left = attempts_;
  }
  static Challenge View(const State& c) {
    Challenge o;
    o.challenge_id = c.id;
    o.masked_phone =
        c.phone.size() == 10 ? c.phone.substr(0, 3) + "****" + c.phone.substr(7) : "***";
    o.expires_at = c.expires_at;
    o.resend_after = c.resend_after;
    o.attempts_left = c.attempts_left;
    return o;
  }
  static absl::Status Invalid() {
    return status::InvalidArgument("OTP_INVALID", "otp", "Mã OTP không đúng.",
                                   "The OTP is incorrect.");
  }
  static absl::Status AttemptsExceeded() {
    return status::FailedPrecondition("OTP_ATTEMPTS_EXCEEDED", "otp",
                                      "Đã nhập sai mã OTP quá số lần cho phép.",
                                      "Too many wrong codes for this OTP.");
  }

  Clock* clock_;
  const int attempts_;
  mutable std::mutex mu_;
  std::string code_;
  std::map<std::string, State> challenges_;         // by challenge id
  std::map<std::string, std::string> by_request_;  // request id → challenge id
  std::vector<SentOtp> sent_;
  ::dvc::testing::Recorder<std::string> send_;    // by request id
  ::dvc::testing::Recorder<std::string> verify_;  // by idempotency key
  absl::Status sticky_send_error_ = absl::OkStatus();
  bool lose_next_answer_ = false;
};

}  // namespace dvc::otp::client::testing
