#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/captcha/captcha.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/random.h"
#include "libs/pg/pool.h"
#include "libs/status/errors.h"

namespace dvc::captcha {
namespace {

// Answers are compared case-insensitively with spaces removed, so the stored HMAC is over that
// canonical form.
std::string Canonical(const std::string& answer) {
  std::string out;
  for (char c : answer) {
    if (c != ' ' && c != '\t') out += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return out;
}

absl::Status Invalid() {
  return status::InvalidArgument("CAPTCHA_INVALID", "captcha_answer",
                                 "Mã xác nhận không đúng, vui lòng thử lại với mã mới.",
                                 "The captcha answer is wrong; please try again with a new one.");
}

std::string Mac(const std::string& key, const std::string& id, const std::string& answer) {
  return crypto::HexEncode(crypto::HmacSha256(key, absl::StrCat(id, ":", Canonical(answer))));
}

class PgCaptchaChecker final : public CaptchaChecker {
 public:
  PgCaptchaChecker(pg::Pool* pool, Clock* clock, crypto::Random* random, std::string key,
                   IssuerOptions options)
      : pool_(pool), clock_(clock), random_(random), key_(std::move(key)), options_(options) {}

  absl::StatusOr<IssuedCaptcha> Issue() override {
    Captcha c = Generate([this](uint32_t n) { return static_cast<uint32_t>(random_->Uniform(n)); });
    IssuedCaptcha out;
    out.captcha_id = crypto::RandomToken(*random_, 18);
    out.png = std::move(c.png);
    out.expires_at = clock_->Now() + options_.ttl;
    if (options_.expose_answer) out.dev_answer = c.answer;
    std::string mac = Mac(key_, out.captcha_id, c.answer);
    absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
      pg::ExecPrepared(tx, 
          "INSERT INTO captchas (captcha_id, answer_hmac, expires_at) "
          "VALUES ($1, $2, timestamptz 'epoch' + $3::bigint * interval '1 microsecond')",
          out.captcha_id, mac, absl::ToUnixMicros(out.expires_at));
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  absl::Status Verify(const std::string& captcha_id, const std::string& answer) override {
    absl::Status result;
    const absl::Time now = clock_->Now();
    absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
      result = VerifyCaptchaInTransaction(tx, key_, captcha_id, answer, now);
      return absl::OkStatus();  // a wrong answer still commits: the challenge is consumed
    });
    if (!s.ok()) return s;
    return result;
  }

 private:

  pg::Pool* pool_;
  Clock* clock_;
  crypto::Random* random_;
  std::string key_;
  IssuerOptions options_;
};

}  // namespace

absl::StatusOr<int> PurgeExpiredCaptchas(pg::Pool* pool, absl::Time before) {
  int n = 0;
  absl::Status s = pool->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = pg::ExecPrepared(
        tx, "DELETE FROM captchas WHERE expires_at < to_timestamp($1::double precision)",
        absl::ToDoubleSeconds(before - absl::UnixEpoch()));
    n = static_cast<int>(r.affected_rows());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return n;
}

std::unique_ptr<CaptchaChecker> NewPgCaptchaChecker(pg::Pool* pool, Clock* clock,
                                                    crypto::Random* random, std::string hmac_key,
                                                    IssuerOptions options) {
  return std::make_unique<PgCaptchaChecker>(pool, clock, random, std::move(hmac_key), options);
}

absl::Status VerifyCaptchaInTransaction(pqxx::transaction_base& tx, const std::string& hmac_key,
                                        const std::string& captcha_id, const std::string& answer,
                                        absl::Time now) {
  if (captcha_id.empty() || Canonical(answer).empty()) {
    return status::InvalidArgument("CAPTCHA_REQUIRED", "captcha_answer",
                                   "Vui lòng nhập mã xác nhận.", "Please enter the captcha.");
  }
  if (captcha_id.size() > 64) return Invalid();
  // Consume first (single use even when the answer is wrong), then compare.
  pqxx::result r = pg::ExecPrepared(
      tx,
      "UPDATE captchas SET used_at = now() WHERE captcha_id = $1 AND used_at IS NULL "
      "RETURNING answer_hmac, expires_at <= "
      "(timestamptz 'epoch' + $2::bigint * interval '1 microsecond')",
      captcha_id, absl::ToUnixMicros(now));
  if (r.empty()) return Invalid();
  const std::string stored = r[0][0].as<std::string>();
  if (r[0][1].as<bool>()) {
    return status::FailedPrecondition("CAPTCHA_EXPIRED", "captcha_answer",
                                      "Mã xác nhận đã hết hạn, vui lòng lấy mã mới.",
                                      "The captcha has expired; please get a new one.");
  }
  if (!crypto::ConstantTimeEquals(stored, Mac(hmac_key, captcha_id, answer))) return Invalid();
  return absl::OkStatus();
}

}  // namespace dvc::captcha
