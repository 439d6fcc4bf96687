// The auth domain: password + OTP login (LGN-1), certificate login (LGN-3 SIM, LGN-4 USB,
// LGN-7 SmartCA; signatures verified by sigverify), sessions with rotating refresh tokens (LGN-8),
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
inline constexpr char kLoginMethodUsb[] = "USB";
inline constexpr char kLoginMethodSim[] = "SIM";
inline constexpr char kLoginMethodSmartCa[] = "SMARTCA";
inline constexpr char kOtpPurposeLogin[] = "LOGIN";
// A certificate login proves the identity at level 3 (IAL-1: USB, SIM, SmartCA → 3).
inline constexpr int kCertificateLoginIal = 3;
// Shown on the phone by the SIM / SmartCA app (sigverify appends the verification code).
inline constexpr char kRemoteLoginDisplayText[] = "Dang nhap Cong Dich vu cong quoc gia";

// The access token's `acr` for an assurance level: "urn:dvc:ial:<n>".
std::string AcrForIal(int ial);
// The `amr` values (RFC 8176) of a login method: PASSWORD_OTP → pwd, otp; USB → hwk, pin
// (key on a hardware token, unlocked by PIN); SIM → sc, pin, mca (key on the SIM card, PIN on the
// phone, a second channel); SMARTCA → swk, pin, mca (key held by the provider, confirmed in the
// phone app with a PIN). Empty for an unknown method.
std::vector<std::string> AmrForMethod(const std::string& method);

struct AuthOptions {
  std::string issuer = "https://dichvucong.gov.vn";
  std::string audience = "dvc";
  absl::Duration login_flow_ttl = absl::Minutes(10);
  absl::Duration access_token_ttl = absl::Minutes(5);
  absl::Duration refresh_idle_ttl = absl::Minutes(30);
  absl::Duration session_max_ttl = absl::Hours(12);
  // A refresh token presented again less than this after its rotation, while the token that
  // replaced it is unused, is a retry (lost response, two tabs), not a theft: the unused
  // successor is superseded and a new one issued. 0 = every reuse revokes the session.
  absl::Duration refresh_reuse_grace = absl::Seconds(30);
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

enum class CertificateMethod { kUsb, kSim, kSmartCa };

struct StartCertificateLoginRequest {
  CertificateMethod method = CertificateMethod::kUsb;
  std::string phone;            // SIM
  std::string smartca_user_id;  // SMARTCA
  ClientInfo client;
};

struct CertificateLoginView {
  std::string flow_id;
  std::string method;  // "USB" | "SIM" | "SMARTCA"
  absl::Time expires_at;
  // USB
  std::string challenge;
  absl::Time challenge_expires_at;
  // SIM / SMARTCA
  std::string transaction_id;
  std::string verification_code;
  absl::Time transaction_expires_at;
  std::string masked_phone;  // SIM
};

struct CompleteCertificateLoginRequest {
  std::string flow_id;
  SignatureFormat format = SignatureFormat::kPkcs1Sha256;
  std::string signature;
  std::string certificate;
  std::vector<std::string> chain;
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
  std::vector<std::string> amr;
  std::string session_id;
};

// PollCertificateLogin: pending, or done with tokens.
struct CertificateLoginPoll {
  bool pending = true;
  Tokens tokens;  // when !pending
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
    // Issues captchas; their answers are checked by the store, in the transaction that admits
    // a password attempt (AuthStore::AdmitPasswordAttempt).
    captcha::CaptchaChecker* captcha;
    KeySource* keys;
    Clock* clock;
    crypto::Random* random;
    Deferrer defer;  // empty = inline
    // null = certificate login disabled (UNAVAILABLE CERTIFICATE_LOGIN_UNAVAILABLE).
    SigverifyPort* sigverify = nullptr;
  };
  AuthDomain(Deps deps, AuthSecrets secrets, AuthOptions options);

  absl::StatusOr<captcha::IssuedCaptcha> CreateCaptcha();
  absl::StatusOr<LoginFlowView> StartPasswordLogin(const StartLoginRequest& req);
  absl::StatusOr<LoginFlowView> ResendLoginOtp(const std::string& flow_id);
  absl::StatusOr<Tokens> CompleteLogin(const std::string& flow_id, const std::string& otp);

  // Certificate login (LGN-3/4/7). Start: per-IP ceiling, per-subscriber limit (SIM/SmartCA),
  // then a sigverify challenge (USB) or remote-signature request (SIM/SmartCA) bound to a new
  // login flow. Complete (USB) / Poll (SIM, SmartCA): the certificate sigverify verified must be
  // registered to an ACTIVE account (else UNAUTHENTICATED CERTIFICATE_NOT_REGISTERED; a locked /
  // closed account → PERMISSION_DENIED ACCOUNT_LOCKED / ACCOUNT_CLOSED, as after a correct
  // password); sigverify's reasons pass through unchanged; a failure counts in the IP window.
  // Tokens as for password login with acr urn:dvc:ial:3 and the method's amr.
  absl::StatusOr<CertificateLoginView> StartCertificateLogin(
      const StartCertificateLoginRequest& req);
  absl::StatusOr<Tokens> CompleteCertificateLogin(const CompleteCertificateLoginRequest& req);
  absl::StatusOr<CertificateLoginPoll> PollCertificateLogin(const std::string& flow_id);
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
  // Introspect without blocking: nullopt when the answer needs the database or the key
  // directory (see Introspector::TryIntrospect).
  std::optional<Introspection> TryIntrospect(const std::string& token);
  std::string Jwks();
  absl::StatusOr<std::vector<LoginRecord>> ListLoginHistory(const std::string& account_id,
                                                            int limit);

  // Exposed for tests: the stored form of a refresh token.
  std::string RefreshHmac(const std::string& token) const;

 private:
  // The flow if it exists, is neither completed nor expired, and uses `method` (one of them
  // when `method` is empty: any certificate method).
  absl::StatusOr<LoginFlow> LiveFlow(const std::string& flow_id, absl::Time now,
                                     const std::string& method);
  // Starts the session of a successful login and records it in the history.
  absl::StatusOr<Tokens> StartSession(const LoginFlow& flow, const std::string& account_id,
                                      int ial, absl::Time now);
  // A verified certificate → the active account holding it → a session.
  absl::StatusOr<Tokens> FinishCertificateLogin(const LoginFlow& flow,
                                                const VerifiedSigner& signer, absl::Time now);
  // Counts a failed certificate login in the flow's IP window (not for failures without a
  // verdict: a dependency unavailable).
  void CountCertificateFailure(const LoginFlow& flow, const absl::Status& s);
  absl::StatusOr<std::string> AccessToken(const Session& session, absl::Time now,
                                          int64_t* expires_in);
  absl::StatusOr<Tokens> IssueTokens(const Session& session, std::string refresh_token,
                                     absl::Time now);
  void RecordHistory(const std::string& account_id, const std::string& method, bool success,
                     const std::string& reason, const ClientInfo& client, absl::Time at);
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
