#include "services/otp/domain/otp.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/phone.h"

namespace dvc::otp {
namespace {

constexpr int kCodeDigits = 6;
constexpr int kMaxTxRounds = 3;

// Returned by a transaction body to make the domain run it again (lost an insert race).
absl::Status RetryMarker() { return absl::AbortedError("otp: retry transaction"); }
bool IsRetryMarker(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAborted && s.message() == "otp: retry transaction";
}

bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    if (ch < 0x21 || ch > 0x7e) return false;
  }
  return true;
}

bool ValidPurpose(const std::string& p) {
  if (p.empty() || p.size() > 32 || p[0] < 'A' || p[0] > 'Z') return false;
  for (char ch : p) {
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

// Canonical lower-case UUID, or "" when `id` is not one (such ids cannot exist).
std::string CanonicalId(const std::string& id) {
  if (id.size() != 36) return "";
  std::string out = id;
  for (size_t i = 0; i < out.size(); ++i) {
    char& ch = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (ch != '-') return "";
      continue;
    }
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return "";
  }
  return out;
}

// VerifyOtp's idempotency_key: empty (none), or up to 128 characters of [A-Za-z0-9:._-].
bool ValidIdempotencyKey(const std::string& key) {
  if (key.size() > 128) return false;
  return std::all_of(key.begin(), key.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == ':' || ch == '.' || ch == '_' || ch == '-';
  });
}

bool WellFormedCode(const std::string& code) {
  if (code.size() != kCodeDigits) return false;
  return std::all_of(code.begin(), code.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

absl::Status NotFound() {
  return status::NotFound(kReasonNotFound, "challenge_id",
                          "Phiên xác thực OTP không tồn tại. Vui lòng yêu cầu mã mới.",
                          "The OTP challenge does not exist. Please request a new code.");
}
absl::Status AlreadyUsed() {
  return status::FailedPrecondition(kReasonAlreadyUsed, "otp",
                                    "Mã OTP đã được sử dụng. Vui lòng yêu cầu mã mới.",
                                    "This OTP has already been used. Please request a new code.");
}
absl::Status Expired() {
  return status::FailedPrecondition(kReasonExpired, "otp",
                                    "Mã OTP đã hết hạn. Vui lòng yêu cầu mã mới.",
                                    "The OTP has expired. Please request a new code.");
}
absl::Status AttemptsExceeded() {
  return status::FailedPrecondition(
      kReasonAttemptsExceeded, "otp",
      "Bạn đã nhập sai mã OTP quá số lần cho phép. Vui lòng yêu cầu mã mới.",
      "Too many wrong OTP attempts. Please request a new code.");
}
absl::Status PurposeMismatch() {
  return status::FailedPrecondition(kReasonPurposeMismatch, "purpose",
                                    "Mã OTP không dùng cho thao tác này.",
                                    "This OTP was not issued for this operation.");
}
absl::Status NotDelivered() {
  return status::FailedPrecondition(
      kReasonNotDelivered, "challenge_id",
      "Mã OTP chưa được gửi thành công. Vui lòng bấm \"Gửi lại OTP\".",
      "The OTP could not be delivered. Please use \"Resend OTP\".");
}
absl::Status SendLimitExceeded(absl::Duration retry_after) {
  return status::ResourceExhausted(
      kReasonSendLimit, "Bạn đã yêu cầu quá nhiều mã OTP. Vui lòng thử lại sau.",
      "Too many OTP requests. Please try again later.", RetryAfterSeconds(retry_after));
}
absl::Status SmsUnavailable() {
  return status::Unavailable(kReasonSmsUnavailable,
                             "Không gửi được tin nhắn OTP. Vui lòng thử lại sau ít phút.",
                             "The OTP text message could not be sent. Please try again shortly.");
}

}  // namespace

int RetryAfterSeconds(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 1;
  int64_t s = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  return static_cast<int>(std::clamp<int64_t>(s, 1, 1 << 30));
}

OtpDomain::OtpDomain(OtpStore* store, SmsSender* sms, Clock* clock, crypto::Random* random,
                     const crypto::FieldCipher* cipher, OtpKeys keys, OtpOptions options,
                     metrics::Registry* registry)
    : store_(store), sms_(sms), clock_(clock), random_(random), cipher_(cipher),
      keys_(std::move(keys)), options_(std::move(options)) {
  if (registry != nullptr) {
    sent_ = &registry->Counter("otp_sent_total", "OTP send and resend requests by outcome",
                               {"purpose", "outcome"});
    verify_ = &registry->Counter("otp_verify_total", "OTP verifications by outcome", {"outcome"});
  }
}

void OtpDomain::CountSent(const std::string& purpose, const std::string& outcome) {
  if (sent_ != nullptr) sent_->Labels({purpose, outcome}).Inc();
}
void OtpDomain::CountVerify(const std::string& outcome) {
  if (verify_ != nullptr) verify_->Labels({outcome}).Inc();
}

std::string OtpDomain::CodeHmac(const std::string& challenge_id, const std::string& code) const {
  return crypto::HexEncode(
      crypto::HmacSha256(keys_.code_hmac_key, absl::StrCat(challenge_id, ":", code)));
}

std::string OtpDomain::SmsText(const std::string& code) const {
  int64_t minutes = absl::ToInt64Minutes(absl::Ceil(options_.ttl, absl::Minutes(1)));
  return absl::StrCat(options_.sms_sender, ": Ma xac thuc cua ban la ", code,
                      ". Ma co hieu luc trong ", minutes,
                      " phut. Tuyet doi khong cung cap ma nay cho nguoi khac.");
}

std::vector<SendLimit> OtpDomain::LimitsFor(const Challenge& c) const {
  std::vector<SendLimit> limits;
  limits.push_back({"phone:" + c.phone_index, options_.phone_limit, options_.phone_window});
  if (!c.subject_index.empty()) {
    limits.push_back({"subject:" + c.subject_index, options_.subject_limit,
                      options_.subject_window});
  }
  return limits;
}

std::string OtpDomain::NewCode(Challenge* c, absl::Time now, bool fresh) {
  std::string code = crypto::RandomDigits(*random_, kCodeDigits);
  SetCode(c, code, now, fresh);
  return code;
}

void OtpDomain::SetCode(Challenge* c, const std::string& code, absl::Time now, bool fresh) const {
  if (!fresh) ++c->seq;
  c->code_hmac = CodeHmac(c->id, code);
  c->delivery = Delivery::kPending;
  c->expires_at = now + options_.ttl;
  c->resend_after = now + options_.resend_cooldown;
}

absl::StatusOr<std::string> OtpDomain::OpenPhone(const Challenge& c) const {
  auto phone = cipher_->Open(c.phone_sealed, "otp.phone:" + c.id);
  if (!phone.ok()) {
    log::Error("otp.phone_open_failed",
               {{"challenge_id", c.id}, {"error", std::string(phone.status().message())}});
    return status::Internal();
  }
  return *phone;
}

absl::StatusOr<ChallengeView> OtpDomain::View(const Challenge& c,
                                              const std::string* phone) const {
  ChallengeView v;
  if (phone != nullptr) {
    v.masked_phone = validators::MaskPhone(*phone);
  } else {
    auto opened = OpenPhone(c);
    if (!opened.ok()) return opened.status();
    v.masked_phone = validators::MaskPhone(*opened);
  }
  v.challenge_id = c.id;
  v.expires_at = c.expires_at;
  v.resend_after = c.resend_after;
  v.attempts_left = c.attempts_left;
  return v;
}

absl::StatusOr<ChallengeView> OtpDomain::Send(const SendRequest& req) {
  if (!ValidRequestId(req.request_id)) {
    return status::InvalidArgument(kReasonRequestIdInvalid, "request_id",
                                   "Thiếu hoặc sai mã yêu cầu (request_id).",
                                   "The request_id is missing or invalid.");
  }
  absl::StatusOr<std::string> phone = validators::NormalizePhone(req.phone, "phone");
  if (!phone.ok()) {  // PHONE_MALFORMED
    CountSent(ValidPurpose(req.purpose) ? req.purpose : "INVALID", "rejected");
    return phone.status();
  }
  if (!ValidPurpose(req.purpose)) {
    CountSent("INVALID", "rejected");
    return status::InvalidArgument(kReasonPurposeInvalid, "purpose",
                                   "Mục đích gửi OTP không hợp lệ.",
                                   "The OTP purpose is not valid.");
  }
  if (req.subject.size() > 256) {
    CountSent(req.purpose, "rejected");
    return status::InvalidArgument(kReasonSubjectInvalid, "subject",
                                   "Khóa định danh (subject) quá dài.",
                                   "The subject is too long.");
  }
  const std::string phone_index = crypto::BlindIndex(keys_.index_key, "phone:" + *phone);
  const std::string subject_index =
      req.subject.empty() ? "" : crypto::BlindIndex(keys_.index_key, "subject:" + req.subject);

  Issued issued;
  std::optional<Challenge> replay;  // an already delivered challenge for this request_id
  absl::Status s;
  for (int round = 0; round < kMaxTxRounds; ++round) {
    issued = Issued{};
    replay.reset();
    s = store_->InTransaction(Commit::kLossTolerable, [&](OtpTx& tx) -> absl::Status {
      issued = Issued{};
      replay.reset();
      const absl::Time now = clock_->Now();
      // A new request_id (the common case) costs one INSERT; only when the insert finds the
      // request_id taken is the existing challenge read and locked.
      Challenge c;
      c.id = crypto::NewUuidV4(*random_);
      c.request_id = req.request_id;
      c.purpose = req.purpose;
      auto sealed = cipher_->Seal(*phone, "otp.phone:" + c.id);
      if (!sealed.ok()) {
        log::Error("otp.phone_seal_failed", {{"error", std::string(sealed.status().message())}});
        return status::Internal();
      }
      c.phone_sealed = *sealed;
      c.phone_index = phone_index;
      c.subject_index = subject_index;
      c.seq = 1;
      c.attempts_left = options_.max_attempts;
      c.deliveries = 0;
      c.created_at = now;
      issued.code = NewCode(&c, now, /*fresh=*/true);
      auto sent = tx.InsertIfAbsentAndRecordSend(c, LimitsFor(c), now);
      if (!sent.ok()) return sent.status();
      if (sent->inserted) {
        issued.challenge = c;
        if (sent->wait.has_value()) return SendLimitExceeded(*sent->wait);
        return absl::OkStatus();
      }
      auto existing = tx.LockByRequestId(req.request_id);
      if (!existing.ok()) return existing.status();
      if (!existing->has_value()) return RetryMarker();  // it vanished (purged) meanwhile
      c = **existing;
      if (c.phone_index != phone_index || c.purpose != req.purpose ||
          c.subject_index != subject_index) {
        return status::InvalidArgument(
            kReasonRequestIdReused, "request_id",
            "Mã yêu cầu đã được dùng cho một yêu cầu khác.",
            "This request_id was already used for a different request.");
      }
      if (c.deliveries > 0 || c.used_at.has_value()) {
        replay = c;
        return absl::OkStatus();
      }
      if (c.delivery == Delivery::kPending && now < c.resend_after) {
        // Another call with this request_id is delivering right now.
        return status::Unavailable(kReasonSendInProgress,
                                   "Mã OTP đang được gửi. Vui lòng thử lại sau giây lát.",
                                   "The OTP is being sent. Please retry in a moment.");
      }
      // The first delivery failed (or its caller died): deliver a fresh code (the one drawn
      // above, never sent).
      SetCode(&c, issued.code, now, /*fresh=*/false);
      issued.challenge = c;
      auto limited = tx.TryRecordSend(LimitsFor(c), now, c.id, c.seq);
      if (!limited.ok()) return limited.status();
      if (limited->has_value()) return SendLimitExceeded(**limited);
      return tx.Update(c);
    });
    if (!IsRetryMarker(s)) break;
  }
  if (IsRetryMarker(s)) {
    log::Error("otp.send_retry_exhausted", {});
    return status::Internal();
  }
  if (!s.ok()) {
    std::string reason = status::ReasonOf(s);
    CountSent(req.purpose, reason == kReasonSendLimit ? "limited" : "rejected");
    return s;
  }
  if (replay) {
    CountSent(req.purpose, "replayed");
    return View(*replay, &*phone);
  }
  issued.phone = *phone;
  issued.is_resend = false;
  return Deliver(issued);
}

absl::StatusOr<ChallengeView> OtpDomain::Resend(const std::string& challenge_id) {
  const std::string id = CanonicalId(challenge_id);
  if (id.empty()) return NotFound();
  Issued issued;
  std::string purpose = "UNKNOWN";  // metrics label
  absl::Status s = store_->InTransaction(Commit::kLossTolerable, [&](OtpTx& tx) -> absl::Status {
    issued = Issued{};
    const absl::Time now = clock_->Now();
    auto found = tx.LockById(id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return NotFound();
    Challenge c = **found;
    purpose = c.purpose;
    if (c.used_at.has_value()) return AlreadyUsed();
    // An expired, unused code may be replaced: a user who was slow is not sent back to the
    // start of the flow. Resends stay bounded by max_resends and the send limits.
    if (c.attempts_left <= 0) return AttemptsExceeded();
    if (c.deliveries - 1 >= options_.max_resends) {
      return status::ResourceExhausted(
          kReasonResendLimit,
          "Bạn đã gửi lại mã OTP quá số lần cho phép. Vui lòng bắt đầu lại.",
          "The OTP was resent too many times. Please start again.",
          RetryAfterSeconds(c.expires_at - now));
    }
    // A failed delivery may be retried at once; otherwise wait for the cooldown.
    if (c.delivery != Delivery::kFailed && now < c.resend_after) {
      return status::ResourceExhausted(
          kReasonResendTooSoon, "Vui lòng đợi trước khi yêu cầu gửi lại mã OTP.",
          "Please wait before requesting another OTP.", RetryAfterSeconds(c.resend_after - now));
    }
    issued.is_resend = c.deliveries > 0;
    issued.code = NewCode(&c, now, /*fresh=*/false);
    issued.challenge = c;
    auto limited = tx.TryRecordSend(LimitsFor(c), now, c.id, c.seq);
    if (!limited.ok()) return limited.status();
    if (limited->has_value()) return SendLimitExceeded(**limited);
    return tx.Update(c);
  });
  if (!s.ok()) {
    std::string reason = status::ReasonOf(s);
    CountSent(purpose,
              reason == kReasonSendLimit       ? "limited"
              : reason == kReasonResendTooSoon ? "too_soon"
              : reason == kReasonResendLimit   ? "resend_limit"
                                               : "rejected");
    return s;
  }
  auto phone = OpenPhone(issued.challenge);
  if (!phone.ok()) return phone.status();
  issued.phone = *phone;
  return Deliver(issued);
}

absl::StatusOr<ChallengeView> OtpDomain::Deliver(const Issued& issued) {
  const Challenge& c = issued.challenge;
  SmsMessage m;
  m.to = "84" + issued.phone.substr(1);  // E.164 digits of the domestic form
  m.text = SmsText(issued.code);
  m.message_id = absl::StrCat(c.id, ".", c.seq);
  absl::Status sent = sms_->Send(m);
  const absl::Time at = clock_->Now();
  Challenge after = c;
  absl::StatusOr<std::optional<Challenge>> recorded = store_->RecordDelivery(
      c.id, c.seq, sent.ok() ? DeliveryOutcome::kSent : DeliveryOutcome::kFailed, at);
  absl::Status s = recorded.status();
  if (s.ok() && !recorded->has_value()) s = NotFound();
  if (s.ok()) after = **recorded;
  const std::string kind = issued.is_resend ? "resent" : "sent";
  if (!sent.ok()) {
    log::Warn("otp.sms_failed", {{"challenge_id", c.id},
                                 {"seq", absl::StrCat(c.seq)},
                                 {"error", std::string(absl::StatusCodeToString(sent.code()))}});
    if (!s.ok()) {
      log::Error("otp.delivery_record_failed", {{"challenge_id", c.id},
                                                {"error", std::string(s.message())}});
    }
    CountSent(c.purpose, "sms_unavailable");
    return SmsUnavailable();
  }
  if (!s.ok()) {
    // The SMS went out but the challenge could not be marked delivered: it stays unusable.
    log::Error("otp.delivery_record_failed", {{"challenge_id", c.id},
                                              {"error", std::string(s.message())}});
    CountSent(c.purpose, "error");
    return s;
  }
  log::Info("otp.sent", {{"challenge_id", c.id}, {"purpose", c.purpose},
                         {"seq", absl::StrCat(c.seq)}});
  CountSent(c.purpose, kind);
  return View(after, &issued.phone);
}

absl::StatusOr<std::string> OtpDomain::Verify(const std::string& challenge_id,
                                              const std::string& code,
                                              const std::string& purpose,
                                              const std::string& idempotency_key) {
  if (!WellFormedCode(code)) {
    CountVerify("malformed");
    return status::InvalidArgument(kReasonMalformed, "otp", "Mã OTP phải gồm đúng 6 chữ số.",
                                   "The OTP must be exactly 6 digits.");
  }
  if (!ValidIdempotencyKey(idempotency_key)) {
    CountVerify("malformed");
    return status::InvalidArgument(
        kReasonIdempotencyKeyInvalid, "idempotency_key",
        "Khóa chống lặp (idempotency_key) không hợp lệ: tối đa 128 ký tự A-Z, a-z, 0-9, ':', "
        "'.', '_', '-'.",
        "The idempotency_key is invalid: at most 128 characters of A-Z, a-z, 0-9, ':', '.', "
        "'_', '-'.");
  }
  const std::string id = CanonicalId(challenge_id);
  if (id.empty()) {
    CountVerify("not_found");
    return NotFound();
  }
  absl::Status outcome;  // the answer, decided inside the transaction
  std::string label;
  Challenge verified;
  absl::Status s = store_->InTransaction(Commit::kDurable, [&](OtpTx& tx) -> absl::Status {
    outcome = absl::OkStatus();
    const absl::Time now = clock_->Now();
    auto found = tx.LockById(id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      label = "not_found";
      outcome = NotFound();
      return absl::OkStatus();
    }
    Challenge c = **found;
    if (c.purpose != purpose) {
      label = "purpose_mismatch";
      outcome = PurposeMismatch();
    } else if (c.used_at.has_value()) {
      // The step that consumed the code may repeat it (its caller lost the answer): same
      // non-empty key, correct code, before expiry, attempts left. Nothing is written. Anything
      // else on a used challenge is the same ALREADY_USED; a wrong code presented with the
      // consuming key spends an attempt, so the replay path is no guessing oracle (at most
      // max_attempts wrong codes over the challenge's life, as before it was used).
      const bool replay_key = !idempotency_key.empty() && c.used_key == idempotency_key &&
                              now < c.expires_at && c.attempts_left > 0;
      if (replay_key && crypto::ConstantTimeEquals(CodeHmac(c.id, code), c.code_hmac)) {
        label = "replayed";
        verified = c;
      } else {
        label = "already_used";
        outcome = AlreadyUsed();
        if (replay_key) {
          --c.attempts_left;
          return tx.Update(c);
        }
      }
    } else if (c.delivery != Delivery::kSent) {
      label = "not_delivered";
      outcome = NotDelivered();
    } else if (now >= c.expires_at) {
      label = "expired";
      outcome = Expired();
    } else if (c.attempts_left <= 0) {
      label = "attempts_exceeded";
      outcome = AttemptsExceeded();
    } else if (!crypto::ConstantTimeEquals(CodeHmac(c.id, code), c.code_hmac)) {
      --c.attempts_left;
      label = "invalid";
      outcome = status::WithMetadata(
          status::InvalidArgument(kReasonInvalid, "otp",
                                  absl::StrCat("Mã OTP không đúng. Bạn còn ", c.attempts_left,
                                               " lần thử."),
                                  absl::StrCat("The OTP is incorrect. ", c.attempts_left,
                                               " attempt(s) left.")),
          "attempts_left", absl::StrCat(c.attempts_left));
      return tx.Update(c);
    } else {
      c.used_at = now;
      c.used_key = idempotency_key;
      label = "ok";
      verified = c;
      return tx.Update(c);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    CountVerify("error");
    return s;
  }
  CountVerify(label);
  if (!outcome.ok()) return outcome;
  log::Info(label == "replayed" ? "otp.verify_replayed" : "otp.verified",
            {{"challenge_id", verified.id}, {"purpose", verified.purpose}});
  return OpenPhone(verified);
}

}  // namespace dvc::otp
