// The auth domain: password + OTP login (LGN-1), sessions with rotating refresh tokens (LGN-8),
// access tokens (ES256 JWT), introspection, JWKS and login history (ACC-3, X-4).
// No gRPC or SQL types: everything outside goes through the ports in domain/ports.h.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "services/auth/domain/introspector.h"
#include "services/auth/domain/keys.h"
#include "services/auth/domain/ports.h"
#include "services/auth/domain/throttle.h"

namespace dvc::auth {

inline constexpr char kLoginMethodPasswordOtp[] = "PASSWORD_OTP";
inline constexpr char kOtpPurposeLogin[] = "LOGIN";

struct AuthOptions {
  std::string issuer = "https://dichvucong.gov.vn";
  std::string audience = "dvc";
  absl::Duration login_flow_ttl = absl::Minutes(10);
  absl::Duration access_token_ttl = absl::Minutes(5);
  absl::Duration refresh_idle_ttl = absl::Minutes(30);
  absl::Duration session_max_ttl = absl::Hours(12);
  absl::Duration session_cache_ttl = absl::Seconds(1);
  ThrottleOptions throttle;
};

// Keys derived from the token HMAC secret (see DeriveSecrets).
struct AuthSecrets {
  std::string refresh_key;  // HMAC key for stored refresh tokens
  std::string index_key;    // blind indexes (identifiers in throttles, OTP subjects)
};
// Separates the purposes of one configured secret: HMAC(secret, label) per purpose.
AuthSecrets DeriveSecrets(const std::string& token_hmac_secret);

struct StartLoginRequest {
  std::string captcha_id;
  std::string captcha_answer;
  std::string id_number;
  std::string password;
  ClientInfo client;
};

struct LoginFlowView {
  std::string flow_id;
  std::string masked_phone;
  absl::Time expires_at;
  absl::Time otp_expires_at;
  absl::Time resend_after;
};

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  std::string token_type = "Bearer";
  int64_t expires_in = 0;  // seconds
  std::string acr;
  std::string session_id;
};

// Runs background work (e.g. attributing a failed password attempt to an account's history
// after the client has its answer). Tests run it inline.
using Deferrer = std::function<void(std::function<void()>)>;

class AuthDomain final {
 public:
  struct Deps {
    AuthStore* store;
    AccountsPort* accounts;
    OtpPort* otp;
    captcha::CaptchaChecker* captcha;
    KeySource* keys;
    Clock* clock;
    crypto::Random* random;
    Deferrer defer;  // empty = inline
  };
  AuthDomain(Deps deps, AuthSecrets secrets, AuthOptions options);

  absl::StatusOr<captcha::IssuedCaptcha> CreateCaptcha();
  absl::StatusOr<LoginFlowView> StartPasswordLogin(const StartLoginRequest& req);
  absl::StatusOr<LoginFlowView> ResendLoginOtp(const std::string& flow_id);
  absl::StatusOr<Tokens> CompleteLogin(const std::string& flow_id, const std::string& otp);
  absl::StatusOr<Tokens> Refresh(const std::string& refresh_token);
  absl::Status Logout(const std::string& refresh_token);
  // Ends every session of the account that began before `changed_at` (default and upper bound:
  // now), e.g. after a password change (reason "PASSWORD_CHANGED"): their refresh tokens answer
  // SESSION_REVOKED and their access tokens introspect inactive (at once on this replica, within
  // session_cache_ttl on the others). Sessions begun after `changed_at` (a login with the new
  // password) are kept, so a late or re-delivered event cannot end them. Idempotent. Returns
  // the number of sessions ended. INVALID_ARGUMENT ACCOUNT_ID_INVALID for a non-UUID.
  absl::StatusOr<int> RevokeAllSessions(const std::string& account_id, const std::string& reason,
                                        std::optional<absl::Time> changed_at = std::nullopt);
  Introspection Introspect(const std::string& token);
  std::string Jwks();
  absl::StatusOr<std::vector<LoginRecord>> ListLoginHistory(const std::string& account_id,
                                                            int limit);

  // Exposed for tests: the stored form of a refresh token.
  std::string RefreshHmac(const std::string& token) const;

 private:
  absl::StatusOr<LoginFlow> LiveFlow(const std::string& flow_id, absl::Time now);
  absl::StatusOr<std::string> AccessToken(const Session& session, absl::Time now,
                                          int64_t* expires_in);
  absl::StatusOr<Tokens> IssueTokens(const Session& session, std::string refresh_token,
                                     absl::Time now);
  void RecordHistory(const std::string& account_id, bool success, const std::string& reason,
                     const ClientInfo& client, absl::Time at);
  void Defer(std::function<void()> fn);

  Deps deps_;
  AuthSecrets secrets_;
  AuthOptions options_;
  LoginThrottle throttle_;
  Introspector introspector_;
};

// Errors shared with tests.
absl::Status InvalidCredentials();

}  // namespace dvc::auth
