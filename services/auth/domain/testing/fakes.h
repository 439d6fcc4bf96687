// In-memory fakes of the auth ports for unit tests (single process; thread-safe).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "services/auth/domain/ports.h"

namespace dvc::auth::testing {

class FakeAuthStore final : public AuthStore {
 public:
  absl::Status CreateLoginFlow(const LoginFlow& flow) override;
  absl::StatusOr<std::optional<LoginFlow>> GetLoginFlow(const std::string& flow_id) override;
  absl::StatusOr<bool> CompleteLoginFlow(const std::string& flow_id, absl::Time now) override;
  absl::Status UpdateThrottles(
      const std::vector<std::string>& keys,
      const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) override;
  absl::StatusOr<int> IncrementWindow(const std::string& key, absl::Time window_start) override;
  absl::Status AppendLoginRecord(const LoginRecord& record) override;
  absl::StatusOr<std::vector<LoginRecord>> ListLoginRecords(const std::string& account_id,
                                                            int limit) override;
  absl::Status CreateSession(const Session& session, const RefreshRecord& first) override;
  absl::StatusOr<RotateResult> RotateRefreshToken(const std::string& old_hmac, RefreshRecord next,
                                                  absl::Time now) override;
  absl::StatusOr<std::optional<std::string>> RevokeSessionByRefresh(
      const std::string& token_hmac, absl::Time now, const std::string& reason) override;
  absl::StatusOr<SessionState> GetSessionState(const std::string& session_id) override;
  absl::StatusOr<std::vector<std::string>> RevokeSessionsOfAccount(
      const std::string& account_id, absl::Time created_before, absl::Time now,
      const std::string& reason) override;
  absl::StatusOr<int64_t> PurgeExpired(absl::Time now, absl::Duration keep,
                                       absl::Duration trust_keep) override;

  // Inspection / fault injection.
  int session_state_queries() const;
  std::optional<ThrottleState> Throttle(const std::string& key) const;
  std::vector<LoginRecord> AllRecords() const;
  // Revokes directly (as another replica would).
  void RevokeSession(const std::string& session_id, absl::Time now);
  void set_fail_session_state(bool fail) { fail_session_state_ = fail; }
  void set_fail_revoke(bool fail) { fail_revoke_ = fail; }
  // The revoke_reason of a session ("" when not revoked or unknown).
  std::string RevokeReason(const std::string& session_id) const;

 private:
  struct Token {
    RefreshRecord record;
    std::optional<absl::Time> used_at;
  };
  mutable std::mutex mu_;
  std::map<std::string, LoginFlow> flows_;
  std::map<std::string, ThrottleState> throttles_;
  std::map<std::pair<std::string, int64_t>, int> windows_;
  std::vector<LoginRecord> records_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, Token> tokens_;
  int session_state_queries_ = 0;
  bool fail_session_state_ = false;
  bool fail_revoke_ = false;
  std::map<std::string, std::string> revoke_reasons_;  // session id → reason
};

struct FakeAccount {
  std::string id_number;
  std::string password;
  std::string account_id;
  int ial = 2;
  std::string phone = "0912345678";
  AccountStatus status = AccountStatus::kActive;
};

class FakeAccounts final : public AccountsPort {
 public:
  void Add(FakeAccount a);
  absl::StatusOr<PasswordVerdict> VerifyPassword(const std::string& id_number,
                                                 const std::string& password) override;
  absl::StatusOr<std::optional<std::string>> FindAccountId(const std::string& id_number) override;
  int verify_calls() const;
  void set_fail(absl::Status s);

 private:
  mutable std::mutex mu_;
  std::map<std::string, FakeAccount> accounts_;
  int verify_calls_ = 0;
  absl::Status fail_ = absl::OkStatus();
};

struct SentOtp {
  std::string request_id, phone, purpose, subject, challenge_id, code;
};

class FakeOtp final : public OtpPort {
 public:
  explicit FakeOtp(Clock* clock) : clock_(clock) {}
  absl::StatusOr<OtpChallenge> Send(const std::string& request_id, const std::string& phone,
                                    const std::string& purpose,
                                    const std::string& subject) override;
  absl::StatusOr<OtpChallenge> Resend(const std::string& challenge_id) override;
  absl::StatusOr<std::string> Verify(const std::string& challenge_id, const std::string& code,
                      const std::string& purpose) override;

  std::vector<SentOtp> sent() const;
  // The code of the last OTP sent (always "123456" unless set_next_code).
  void set_next_code(std::string code) { next_code_ = std::move(code); }
  void set_send_error(absl::Status s) { send_error_ = std::move(s); }

 private:
  Clock* clock_;
  mutable std::mutex mu_;
  std::vector<SentOtp> sent_;
  std::map<std::string, std::pair<std::string, bool>> codes_;  // challenge → (code, used)
  std::string next_code_ = "123456";
  absl::Status send_error_ = absl::OkStatus();
};

// Accepts answer "ok" for any non-empty id; each id works once.
class FakeCaptcha final : public captcha::CaptchaChecker {
 public:
  absl::StatusOr<captcha::IssuedCaptcha> Issue() override;
  absl::Status Verify(const std::string& captcha_id, const std::string& answer) override;

 private:
  std::mutex mu_;
  std::map<std::string, bool> used_;
  int next_ = 0;
};

}  // namespace dvc::auth::testing
