// Ports of the auth domain: the other services it calls (accounts, otp, sigverify), the captcha checker
// (libs/captcha_issuer) and its own persistence. Implementations live in services/auth/adapters
// (gRPC clients, PostgreSQL) and in the tests (fakes). No gRPC or SQL types here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/otp/client/otp_client.h"
#include "services/sigverify/client/sigverify_client.h"

namespace dvc::auth {

// ---- accounts (dvc.accounts.v1) --------------------------------------------------------------

enum class AccountStatus { kUnspecified = 0, kActive = 1, kLocked = 2, kClosed = 3 };

struct PasswordVerdict {
  bool valid = false;
  // Set only when valid:
  std::string account_id;
  int ial = 0;
  std::string phone;  // default OTP phone
  AccountStatus status = AccountStatus::kUnspecified;
};

struct CertificateHolder {
  bool found = false;
  // Set only when found:
  std::string account_id;
  AccountStatus status = AccountStatus::kUnspecified;
  int ial = 0;
  std::string method;  // the credential's method: "USB" | "SIM" | "SMARTCA"
};

class AccountsPort {
 public:
  virtual ~AccountsPort() = default;
  // valid=false for a wrong password AND for an unknown identifier (same cost on the accounts
  // side). Errors only for transport/system failures.
  virtual absl::StatusOr<PasswordVerdict> VerifyPassword(const std::string& id_number,
                                                         const std::string& password) = 0;
  // The account id owning a CCCD/CMND, nullopt when none. Used only to attribute a failed
  // password attempt to the account's login history (never to answer the client differently).
  virtual absl::StatusOr<std::optional<std::string>> FindAccountId(
      const std::string& id_number) = 0;
  // Who holds a (verified) certificate, by the SHA-256 fingerprint of its DER (hex). found=false
  // when no account holds it (also for a removed certificate). Errors only for transport/system
  // failures.
  virtual absl::StatusOr<CertificateHolder> FindByCertificate(
      const std::string& fingerprint_sha256) = 0;
};

// ---- otp (dvc.otp.v1) ---------------------------------------------------------------------

// The otp service's client port, shared with every caller of otp.
using OtpChallenge = otp::client::Challenge;
using OtpPort = otp::client::OtpClient;

// ---- sigverify (dvc.sigverify.v1) -----------------------------------------------------------

// The sigverify service's client port, shared with every caller of sigverify. Auth calls it for
// purpose LOGIN only, bound to the login flow id; failures carry sigverify's reasons (CERT_*,
// SIGNATURE_*, CHALLENGE_*, SIGNER_*) unchanged.
using SigverifyPort = sigverify::client::SigverifyClient;
using SignatureFormat = sigverify::client::SignatureFormat;
using RemoteProvider = sigverify::client::RemoteProvider;
using ChallengeSignature = sigverify::client::ChallengeSignature;
// Of a verified certificate, auth uses the fingerprint (lower-case hex) and the method.
using VerifiedSigner = sigverify::client::VerifiedCertificate;

// ---- persistence ---------------------------------------------------------------------------

struct ClientInfo {
  std::string ip;
  std::string user_agent;
  std::string device;
};

struct LoginFlow {
  std::string flow_id;
  std::string method = "PASSWORD_OTP";  // or "USB" | "SIM" | "SMARTCA"
  std::string account_id;               // password flows only ("" for certificate flows)
  int ial = 0;
  // PASSWORD_OTP: the otp challenge; USB: the sigverify challenge; SIM/SMARTCA: the sigverify
  // remote-signature transaction.
  std::string challenge_id;
  std::string subscriber_index;  // SIM/SMARTCA: blind index of the subscriber (throttle key)
  ClientInfo client;
  absl::Time created_at;
  absl::Time expires_at;
  std::optional<absl::Time> completed_at;
};

// A throttle counter (see domain/throttle.h). A key that was never seen has failures = 0 and
// no timestamps.
struct ThrottleState {
  std::string key;
  int failures = 0;
  std::optional<absl::Time> blocked_until;
  std::optional<absl::Time> last_failure_at;
  std::optional<absl::Time> last_success_at;
};

// A change of throttle counters, applied as AuthStore::UpdateThrottles applies it.
struct ThrottleUpdate {
  std::vector<std::string> keys;  // distinct
  std::function<absl::Status(std::vector<ThrottleState>& states)> fn;
};

// The admission of one password attempt (LGN-1): ONE transaction of three steps. The first step
// that fails ends it, and what the steps before it wrote is kept (committed):
//  1. the request counts in the rate window (`ip_window_key`, `ip_window_start`), as
//     IncrementWindow; `check_ip` judges the new count;
//  2. the captcha is consumed and checked as captcha::CaptchaChecker::Verify does: single use
//     even when the answer is wrong; INVALID_ARGUMENT CAPTCHA_REQUIRED (empty id or answer) or
//     CAPTCHA_INVALID (wrong answer, unknown or used id), FAILED_PRECONDITION CAPTCHA_EXPIRED
//     (expired at `now`);
//  3. `throttle` is applied as UpdateThrottles applies it: when its fn fails, its states are not
//     written (a counter row the store had to create may remain, empty = the zero state).
// The callbacks may run more than once (retries): they must have no other side effects.
struct PasswordAdmission {
  std::string ip_window_key;
  absl::Time ip_window_start;
  std::function<absl::Status(int count)> check_ip;
  std::string captcha_id;
  std::string captcha_answer;
  absl::Time now;
  ThrottleUpdate throttle;
};

struct LoginRecord {
  std::string account_id;
  absl::Time at;
  std::string method;  // "PASSWORD_OTP" | "USB" | "SIM" | "SMARTCA"
  bool success = false;
  std::string failure_reason;  // stable reason, empty on success
  std::string ip;
  std::string user_agent;
  std::string device;
};

struct Session {
  std::string session_id;
  std::string account_id;
  int ial = 0;
  std::vector<std::string> amr;
  absl::Time auth_time;
  absl::Time created_at;
  absl::Time expires_at;  // absolute limit
  std::optional<absl::Time> revoked_at;
  ClientInfo client;
};

// One refresh token, stored only as its HMAC.
struct RefreshRecord {
  std::string token_hmac;  // hex HMAC-SHA256 of the opaque token
  std::string session_id;
  absl::Time created_at;
  absl::Time idle_expires_at;
};

enum class RotateOutcome {
  kRotated,  // old token marked used, new one stored; `session` set
  kUnknown,  // no such token
  kReused,   // the token had already been rotated (or superseded): the session is now revoked
  kExpired,  // the token's idle time or the session's absolute time has passed
  kRevoked,  // the session was revoked earlier (logout, reuse)
  // A retry within the reuse grace window: the token had been rotated less than `reuse_grace`
  // before and its successor was still unused; that successor is now superseded (unusable) and
  // the new one stored in its place. `session` set; for the client the same as kRotated.
  kGraceReplay,
};

struct RotateResult {
  RotateOutcome outcome = RotateOutcome::kUnknown;
  Session session;  // set for kRotated (and, when known, the other outcomes)
};

// Revocation state of a session as the introspection cache needs it.
struct SessionState {
  bool exists = false;
  bool revoked = false;
  absl::Time expires_at;
};

class AuthStore {
 public:
  virtual ~AuthStore() = default;

  // Login flows.
  virtual absl::Status CreateLoginFlow(const LoginFlow& flow) = 0;
  virtual absl::StatusOr<std::optional<LoginFlow>> GetLoginFlow(const std::string& flow_id) = 0;
  // Sets completed_at iff it is still unset; false when another call completed the flow first.
  virtual absl::StatusOr<bool> CompleteLoginFlow(const std::string& flow_id, absl::Time now) = 0;

  // Throttles. Atomically (one transaction, rows locked in key order) loads the states of
  // `keys` (missing keys as zero states; `states[i]` is `keys[i]`, which must be distinct),
  // runs `fn` on them and, when `fn` returns OK, stores
  // the states it left. When `fn` fails nothing is written and its status is returned. `fn`
  // may run more than once (serialisation retries): it must have no other side effects.
  virtual absl::Status UpdateThrottles(
      const std::vector<std::string>& keys,
      const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) = 0;
  // Increments the counter of (`key`, `window_start`) and returns the new count.
  virtual absl::StatusOr<int> IncrementWindow(const std::string& key, absl::Time window_start) = 0;
  // See PasswordAdmission: OK, or the status of the step that failed.
  virtual absl::Status AdmitPasswordAttempt(const PasswordAdmission& admission) = 0;
  // UpdateThrottles(update.keys, update.fn) and, when the fn succeeds, CreateLoginFlow(flow), in
  // one transaction: both or neither. The fn's error is returned as is.
  virtual absl::Status UpdateThrottlesAndCreateFlow(const ThrottleUpdate& update,
                                                    const LoginFlow& flow) = 0;

  // Login history (ACC-3, X-4).
  virtual absl::Status AppendLoginRecord(const LoginRecord& record) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<LoginRecord>> ListLoginRecords(const std::string& account_id,
                                                                    int limit) = 0;

  // Sessions and refresh tokens.
  virtual absl::Status CreateSession(const Session& session, const RefreshRecord& first) = 0;
  // The atomic rotation: in one transaction, finds `old_hmac`; if it is unused, its session is
  // live and neither idle nor absolute expiry has passed (at `now`), marks it used, records
  // `next` as its successor and stores `next` (for the same session) → kRotated.
  // Grace replay: a token rotated less than `reuse_grace` before `now` (counted from its first
  // rotation; 0 = never) whose successor is unused and not superseded, in a live session not
  // past its absolute expiry → the successor is superseded, `next` stored and recorded as the
  // successor instead → kGraceReplay.
  // Any other used token, or a superseded one → revokes its session (and every token of it)
  // → kReused. Concurrent calls with the same token are serialised on its row: the first gets
  // kRotated, the others (within the grace window) kGraceReplay, each superseding the one before,
  // so exactly one successor stays usable; outside the window they get kReused.
  virtual absl::StatusOr<RotateResult> RotateRefreshToken(const std::string& old_hmac,
                                                          RefreshRecord next, absl::Time now,
                                                          absl::Duration reuse_grace) = 0;
  // Revokes the session owning the refresh token (logout); nullopt when the token is unknown,
  // otherwise the session id (also when it was already revoked).
  virtual absl::StatusOr<std::optional<std::string>> RevokeSessionByRefresh(
      const std::string& token_hmac, absl::Time now, const std::string& reason) = 0;
  virtual absl::StatusOr<SessionState> GetSessionState(const std::string& session_id) = 0;
  // Revokes every session of `account_id` created before `created_before` that is neither
  // revoked nor past its absolute expiry at `now` (e.g. after a password change); returns the
  // ids it revoked. Sessions already revoked keep their first revocation (time and reason), so
  // repeating the call is a no-op that returns no ids.
  virtual absl::StatusOr<std::vector<std::string>> RevokeSessionsOfAccount(
      const std::string& account_id, absl::Time created_before, absl::Time now,
      const std::string& reason) = 0;

  // Deletes flows, sessions and refresh tokens that expired more than `keep` ago, rate windows
  // older than a day, and throttle counters whose last failure is older than `keep` (use the
  // throttle's forget_after) and last success older than `trust_keep` (its trusted_ip_ttl).
  // Login history is kept. Returns the number of rows deleted.
  virtual absl::StatusOr<int64_t> PurgeExpired(absl::Time now, absl::Duration keep,
                                               absl::Duration trust_keep) = 0;
};

}  // namespace dvc::auth
