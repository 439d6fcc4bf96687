// PostgreSQL implementation of the auth store (services/auth/migrations/0001_auth.sql, and the
// `captchas` table of libs/captcha_issuer, which lives in auth's database).
#pragma once

#include <string>

#include "libs/pg/pool.h"
#include "services/auth/domain/ports.h"

namespace dvc::auth {

class PgAuthStore final : public AuthStore {
 public:
  // `captcha_hmac_key`: the key the captchas were issued with (captcha::NewPgCaptchaChecker's),
  // for the captcha step of AdmitPasswordAttempt.
  PgAuthStore(pg::Pool* pool, std::string captcha_hmac_key)
      : pool_(pool), captcha_hmac_key_(std::move(captcha_hmac_key)) {}

  absl::Status CreateLoginFlow(const LoginFlow& flow) override;
  absl::StatusOr<std::optional<LoginFlow>> GetLoginFlow(const std::string& flow_id) override;
  absl::StatusOr<bool> CompleteLoginFlow(const std::string& flow_id, absl::Time now) override;
  absl::Status UpdateThrottles(
      const std::vector<std::string>& keys,
      const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) override;
  absl::StatusOr<int> IncrementWindow(const std::string& key, absl::Time window_start) override;
  absl::Status AdmitPasswordAttempt(const PasswordAdmission& admission) override;
  absl::Status UpdateThrottlesAndCreateFlow(const ThrottleUpdate& update,
                                            const LoginFlow& flow) override;
  absl::Status AppendLoginRecord(const LoginRecord& record) override;
  absl::StatusOr<std::vector<LoginRecord>> ListLoginRecords(const std::string& account_id,
                                                            int limit) override;
  absl::Status CreateSession(const Session& session, const RefreshRecord& first) override;
  absl::StatusOr<RotateResult> RotateRefreshToken(const std::string& old_hmac, RefreshRecord next,
                                                  absl::Time now,
                                                  absl::Duration reuse_grace) override;
  absl::StatusOr<std::optional<std::string>> RevokeSessionByRefresh(
      const std::string& token_hmac, absl::Time now, const std::string& reason) override;
  absl::StatusOr<SessionState> GetSessionState(const std::string& session_id) override;
  absl::StatusOr<std::vector<std::string>> RevokeSessionsOfAccount(
      const std::string& account_id, absl::Time created_before, absl::Time now,
      const std::string& reason) override;
  absl::StatusOr<int64_t> PurgeExpired(absl::Time now, absl::Duration keep,
                                       absl::Duration trust_keep) override;

 private:
  pg::Pool* pool_;
  std::string captcha_hmac_key_;
};

}  // namespace dvc::auth
