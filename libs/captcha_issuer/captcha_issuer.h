// Server-side captcha challenges shared by registration and auth: an image (libs/captcha) whose
// answer is stored only as an HMAC, expiring and single use (a wrong answer consumes it too).
// Each service keeps the challenges in its own database: add the file target
// "//libs/captcha_issuer:migrations" (0900_captchas.sql) to the srcs of its migrations cc_embed.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dvc::captcha {

struct IssuedCaptcha {
  std::string captcha_id;
  std::string png;
  absl::Time expires_at;
  std::string dev_answer;  // empty unless Options::expose_answer (dev/test stacks only)
};

// The port domain code depends on. Errors from Verify (all field "captcha_answer"):
// INVALID_ARGUMENT CAPTCHA_REQUIRED (empty id or answer), INVALID_ARGUMENT CAPTCHA_INVALID (wrong
// answer, unknown or already used id), FAILED_PRECONDITION CAPTCHA_EXPIRED.
class CaptchaChecker {
 public:
  virtual ~CaptchaChecker() = default;
  virtual absl::StatusOr<IssuedCaptcha> Issue() = 0;
  virtual absl::Status Verify(const std::string& captcha_id, const std::string& answer) = 0;
};

struct IssuerOptions {
  absl::Duration ttl = absl::Minutes(5);
  bool expose_answer = false;
};

}  // namespace dvc::captcha

#include <pqxx/pqxx>

namespace dvc::pg { class Pool; }
namespace dvc { class Clock; }
namespace dvc::crypto { class Random; }

namespace dvc::captcha {

// PostgreSQL implementation.
std::unique_ptr<CaptchaChecker> NewPgCaptchaChecker(pg::Pool* pool, Clock* clock,
                                                    crypto::Random* random, std::string hmac_key,
                                                    IssuerOptions options);

// Verify inside the caller's transaction `tx` (e.g. auth admits a login attempt in one
// transaction): consumes the challenge (single use even when the answer is wrong), then compares.
// Same errors as CaptchaChecker::Verify. `now` decides expiry.
absl::Status VerifyCaptchaInTransaction(pqxx::transaction_base& tx, const std::string& hmac_key,
                                        const std::string& captcha_id, const std::string& answer,
                                        absl::Time now);

// Deletes challenges that expired before `before`; returns how many. Run it from the service's
// periodic maintenance, not on the request path.
absl::StatusOr<int> PurgeExpiredCaptchas(pg::Pool* pool, absl::Time before);

}  // namespace dvc::captcha
