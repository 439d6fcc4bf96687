// In-memory fakes of the auth ports for unit tests (single process; thread-safe).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "services/auth/domain/ports.h"
#include "services/otp/client/testing/fake_otp_client.h"

namespace dvc::auth::testing {

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

class FakeAuthStore final : public AuthStore {
 public:
  absl::Status CreateLoginFlow(const LoginFlow& flow) override;
  absl::StatusOr<std::optional<LoginFlow>> GetLoginFlow(const std::string& flow_id) override;
  absl::StatusOr<bool> CompleteLoginFlow(const std::string& flow_id, absl::Time now) override;
  absl::Status UpdateThrottles(
      const std::vector<std::string>& keys,
      const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) override;
  absl::StatusOr<int> IncrementWindow(const std::string& key, absl::Time window_start) override;
  // Checks captchas with its own FakeCaptcha unless set_captcha names another checker.
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

  // Inspection / fault injection.
  void set_captcha(captcha::CaptchaChecker* captcha) { captcha_ = captcha; }
  // Calls of the AuthStore methods so far: each is one transaction of a real store.
  int transactions() const { return transactions_.load(); }
  int session_state_queries() const;
  std::optional<ThrottleState> Throttle(const std::string& key) const;
  std::vector<LoginRecord> AllRecords() const;
  // The count of a rate window (0 when never incremented).
  int WindowCount(const std::string& key, absl::Time window_start) const;
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
    std::string replaced_by;  // the successor's hmac, set with used_at
    bool superseded = false;
  };
  absl::Status ApplyThrottles(
      const std::vector<std::string>& keys,
      const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn);

  FakeCaptcha own_captcha_;
  captcha::CaptchaChecker* captcha_ = &own_captcha_;
  std::atomic<int> transactions_{0};
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
  absl::StatusOr<CertificateHolder> FindByCertificate(const std::string& fingerprint) override;
  // Registers a certificate (lower-case hex fingerprint) to an account added with Add (by its
  // account id), with `method`.
  void AddCertificate(const std::string& fingerprint, const std::string& account_id,
                      const std::string& method);
  void SetStatus(const std::string& account_id, AccountStatus status);
  int verify_calls() const;
  void set_fail(absl::Status s);

 private:
  mutable std::mutex mu_;
  std::map<std::string, FakeAccount> accounts_;
  std::map<std::string, std::pair<std::string, std::string>> certificates_;  // fp → (id, method)
  int verify_calls_ = 0;
  absl::Status fail_ = absl::OkStatus();
};

// The otp service: the shared in-memory fake (5 wrong codes per challenge, code 123456).
using SentOtp = otp::client::testing::SentOtp;
using FakeOtp = otp::client::testing::FakeOtpClient;

// A sigverify that verifies nothing: a challenge signature is valid when `signature` is
// "sig:<fingerprint>" (the fingerprint then is the signer's); each challenge is consumed by its
// first verification. Remote transactions stay pending until Confirm / Fail. Every call must be
// for purpose LOGIN (anything else is an INTERNAL error).
class FakeSigverify final : public SigverifyPort {
 public:
  using Purpose = sigverify::client::Purpose;
  explicit FakeSigverify(Clock* clock) : clock_(clock) {}
  absl::StatusOr<sigverify::client::Challenge> IssueChallenge(
      Purpose purpose, const std::string& flow_id) override;
  absl::StatusOr<VerifiedSigner> VerifyChallengeSignature(Purpose purpose,
                                                          const ChallengeSignature& sig) override;
  absl::StatusOr<sigverify::client::RemoteSignatureStarted> StartRemoteSignature(
      Purpose purpose, const sigverify::client::RemoteSignatureRequest& request) override;
  absl::StatusOr<sigverify::client::RemoteSignatureOutcome> GetRemoteSignatureResult(
      Purpose purpose, const std::string& transaction_id, const std::string& flow_id) override;

  // The signer's certificate for the next remote transaction answer (by transaction id).
  void Confirm(const std::string& transaction_id, const std::string& fingerprint);
  void Fail(const std::string& transaction_id, absl::Status s);
  // The next VerifyChallengeSignature answers `s` (once), after consuming the challenge.
  void set_verify_error(absl::Status s);
  void set_start_error(absl::Status s);

  struct Started {
    std::string flow_id, transaction_id, subscriber, display_text;
    RemoteProvider provider;
  };
  std::vector<Started> started() const;
  int verify_calls() const;

 private:
  struct Challenge {
    std::string flow_id;
    bool used = false;
  };
  struct Transaction {
    std::string flow_id;
    std::string method;
    std::string fingerprint;  // set when confirmed
    absl::Status failure;
  };
  Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, Challenge> challenges_;
  std::map<std::string, Transaction> transactions_;
  std::vector<Started> started_;
  absl::Status verify_error_ = absl::OkStatus();
  absl::Status start_error_ = absl::OkStatus();
  int verify_calls_ = 0;
  int next_ = 0;
};

}  // namespace dvc::auth::testing
