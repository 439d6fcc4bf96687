#include "services/registration/domain/registration.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/hmac.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/phone.h"
#include "services/registration/domain/errors.h"
#include "services/registration/domain/form.h"
#include "services/registration/domain/peer_error.h"

namespace dvc::registration {
namespace {

// The otp service names the code field "code"; this API calls it "otp".
absl::Status AsOtpField(absl::Status s) {
  auto info = status::GetErrorInfo(s);
  if (!info || info->field != "code") return s;
  info->field = "otp";
  return status::MakeError(s.code(), *info);
}

bool IsSixDigits(const std::string& s) {
  if (s.size() != 6) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Registration::Registration(FlowStore* store, captcha::CaptchaChecker* captcha, IdvClient* idv,
                           AccountsClient* accounts, OtpClient* otp, SigverifyClient* sigverify,
                           AuthClient* auth, Clock* clock, crypto::Random* random,
                           Options options)
    : store_(store), captcha_(captcha), idv_(idv), accounts_(accounts), otp_(otp),
      sigverify_(sigverify), auth_(auth), clock_(clock), random_(random),
      options_(std::move(options)) {}

absl::StatusOr<captcha::IssuedCaptcha> Registration::CreateCaptcha() { return captcha_->Issue(); }

absl::StatusOr<Flow> Registration::StartMobile(const StartMobileInput& in) {
  const std::string request_id(absl::StripAsciiWhitespace(in.request_id));
  if (request_id.size() > 128) {
    return status::InvalidArgument("REQUEST_ID_MALFORMED", "request_id",
                                   "Mã yêu cầu không hợp lệ (tối đa 128 ký tự).",
                                   "The request id is invalid (at most 128 characters).");
  }
  const std::string id_index =
      crypto::BlindIndex(options_.blind_index_key, NormalizeIdNumber(in.id_number));
  // A retried start (same request id) continues the flow it created: the captcha was consumed
  // by the first attempt, so it is not asked again.
  if (!request_id.empty()) {
    auto existing = store_->FindByStartRequest(request_id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return ReplayStart(**existing, id_index);
  }

  if (absl::Status s = captcha_->Verify(in.captcha_id, in.captcha_answer); !s.ok()) return s;

  const absl::Time now = clock_->Now();
  Applicant applicant;
  std::string consent_version;
  if (absl::Status s = ValidateStartForm(in, now, &applicant, &consent_version); !s.ok()) return s;

  Flow flow;
  flow.flow_id = crypto::NewUuidV4(*random_);
  flow.method = kMethodMobile;
  flow.state = FlowState::kSubscriberCheckPending;
  flow.applicant = applicant;
  flow.id_index = id_index;
  flow.masked_phone = validators::MaskPhone(applicant.phone);
  flow.consent_version = consent_version;
  flow.consent_at = now;
  flow.start_request_id = request_id;
  flow.created_at = now;
  flow.updated_at = now;
  flow.expires_at = now + options_.flow_ttl;
  flow.version = 1;

  if (absl::Status s = store_->Insert(flow); !s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !request_id.empty()) {
      // Two starts with one request id raced: continue the one that won.
      auto existing = store_->FindByStartRequest(request_id);
      if (!existing.ok()) return existing.status();
      if (existing->has_value()) return ReplayStart(**existing, id_index);
    }
    return s;
  }
  log::Info("registration.flow_started", {{"flow_id", flow.flow_id}, {"method", flow.method}});
  return RunStep(flow.flow_id, [this](Flow& f) { return RunPending(f); });
}

absl::StatusOr<Flow> Registration::ReplayStart(const Flow& existing, const std::string& id_index) {
  if (!crypto::ConstantTimeEquals(existing.id_index, id_index)) return errors::RequestIdReused();
  return Resume(existing.flow_id);
}

absl::StatusOr<Flow> Registration::Resume(const std::string& flow_id) {
  return RunStep(flow_id, [this](Flow& f) -> StepResult {
    if (f.state == FlowState::kSubscriberCheckPending || f.state == FlowState::kOtpSendPending) {
      return RunPending(f);
    }
    if (f.state == FlowState::kSignatureStartPending) return RequestSignature(f);
    if (f.state == FlowState::kDuplicateCheckPending) return RunDuplicateCheck(f);
    return {false, absl::OkStatus()};  // nothing pending: the flow as it stands
  });
}

absl::StatusOr<Flow> Registration::Get(const std::string& flow_id) {
  if (flow_id.empty()) return errors::FlowIdRequired();
  if (!LooksLikeUuid(flow_id)) return errors::FlowNotFound();
  auto flow = store_->Get(flow_id);
  if (!flow.ok()) return flow.status();
  if (!flow->has_value()) return errors::FlowNotFound();
  if (!IsTerminal((*flow)->state) && clock_->Now() >= (*flow)->expires_at) {
    return errors::FlowExpired();
  }
  return **flow;
}

absl::StatusOr<Flow> Registration::ResendOtp(const std::string& flow_id) {
  return RunStep(flow_id, [this](Flow& f) -> StepResult {
    if (f.state != FlowState::kOtpSent) {
      return {false, errors::FlowWrongState(PublicStateName(f.state))};
    }
    auto ch = otp_->Resend(f.otp_challenge_id);
    if (!ch.ok()) return {false, PeerError(ch.status(), f.flow_id, "otp")};
    if (!ch->challenge_id.empty()) f.otp_challenge_id = ch->challenge_id;
    if (!ch->masked_phone.empty()) f.masked_phone = ch->masked_phone;
    f.otp_expires_at = ch->expires_at;
    f.resend_after = ch->resend_after;
    log::Info("registration.otp_resent", {{"flow_id", f.flow_id}});
    return {true, absl::OkStatus()};
  });
}

absl::StatusOr<Flow> Registration::VerifyOtp(const std::string& flow_id, const std::string& otp) {
  const std::string code(absl::StripAsciiWhitespace(otp));
  return RunStep(flow_id, [&](Flow& f) -> StepResult {
    if (f.state != FlowState::kOtpSent) {
      return {false, errors::FlowWrongState(PublicStateName(f.state))};
    }
    // Typos are refused here, without spending one of the challenge's attempts.
    if (code.empty()) return {false, errors::OtpRequired()};
    if (!IsSixDigits(code)) return {false, errors::OtpMalformed()};
    // Keyed by the flow: if the answer is lost (or the step fails after otp consumed the code),
    // the user's retry with the same code is answered success again, not OTP_ALREADY_USED.
    auto phone = otp_->Verify(f.otp_challenge_id, code, kOtpPurpose,
                              "registration:" + f.flow_id);
    if (!phone.ok()) {
      if (status::ReasonOf(phone.status()) == errors::kOtpAttemptsExceeded) {
        return Fail(f, errors::kOtpAttemptsExceeded, phone.status());
      }
      return {false, AsOtpField(PeerError(phone.status(), f.flow_id, "otp"))};
    }
    auto verified = validators::NormalizePhone(*phone);
    if (!phone->empty() && (!verified.ok() || *verified != f.applicant.phone)) {
      // The challenge was issued to the flow's phone: anything else is a bug somewhere.
      log::Error("registration.otp_phone_mismatch", {{"flow_id", f.flow_id}});
      return {false, status::Internal()};
    }
    f.state = FlowState::kPasswordRequired;
    log::Info("registration.otp_verified", {{"flow_id", f.flow_id}});
    return {true, absl::OkStatus()};
  });
}

absl::StatusOr<Flow> Registration::SetPassword(const std::string& flow_id,
                                               const std::string& password,
                                               const std::string& confirmation) {
  return RunStep(flow_id, [&](Flow& f) -> StepResult {
    if (f.state != FlowState::kPasswordRequired) {
      return {false, errors::FlowWrongState(PublicStateName(f.state))};
    }
    if (absl::Status s = ValidateNewPassword(password, confirmation, f.applicant); !s.ok()) {
      return {false, s};
    }
    NewCitizenAccount req;
    req.request_id = f.flow_id;  // one flow, one account, however often this is retried
    req.identity = f.applicant;
    req.ial = kMobileIal;
    req.verification_source = kVerificationSourceTelco;
    req.registration_method = kMethodMobile;
    req.password = password;
    req.consent_version = f.consent_version;
    auto account = accounts_->CreateCitizen(req);
    if (!account.ok()) {
      if (account.status().code() == absl::StatusCode::kAlreadyExists) {
        // Another registration for the same person won the race since our duplicate check.
        return Fail(f, errors::kAccountExists, errors::AccountExists());
      }
      return {false, PeerError(account.status(), f.flow_id, "accounts")};
    }
    f.state = FlowState::kCompleted;
    f.account_id = account->account_id;
    f.ial = account->ial;
    f.applicant = Applicant{};  // no longer needed: the account holds it now
    log::Info("registration.completed", {{"flow_id", f.flow_id}, {"account_id", f.account_id}});
    return {true, absl::OkStatus()};
  });
}

absl::StatusOr<Flow> Registration::RunStep(const std::string& flow_id,
                                           const std::function<StepResult(Flow&)>& step,
                                           bool replay_completed) {
  if (flow_id.empty()) return errors::FlowIdRequired();
  if (!LooksLikeUuid(flow_id)) return errors::FlowNotFound();
  Flow out;
  absl::Status s = store_->WithLockedFlow(flow_id, [&](Flow* flow) -> StepResult {
    if (flow == nullptr) return {false, errors::FlowNotFound()};
    if (flow->state == FlowState::kCompleted) {
      if (!replay_completed || !IsCertificateMethod(flow->method)) {
        return {false, errors::FlowCompleted()};
      }
      out = *flow;
      return {false, absl::OkStatus()};
    }
    if (flow->state == FlowState::kFailed) return {false, errors::FlowFailed(flow->failure_reason)};
    const absl::Time now = clock_->Now();
    if (now >= flow->expires_at) return {false, errors::FlowExpired()};
    StepResult r = step(*flow);
    if (r.save) flow->updated_at = now;
    out = *flow;
    return r;
  });
  if (!s.ok()) return s;
  return out;
}

StepResult Registration::RunPending(Flow& f) {
  bool changed = false;
  if (f.state == FlowState::kSubscriberCheckPending) {
    SubscriberQuery q;
    q.request_id = f.flow_id + ":subscriber";
    q.phone = f.applicant.phone;
    q.id_number = f.applicant.id_number;
    q.full_name = f.applicant.full_name;
    q.date_of_birth = f.applicant.date_of_birth;
    auto answer = idv_->CheckSubscriber(q);
    if (!answer.ok()) {
      if (IsTransient(answer.status())) {
        log::Warn("registration.subscriber_check_unavailable", {{"flow_id", f.flow_id}});
        return {false, errors::IdvUnavailable(f.flow_id)};
      }
      return {false, PeerError(answer.status(), f.flow_id, "idv_gateway")};
    }
    if (!answer->subscriber_found || !answer->match) {
      // Which attributes differed is logged (names only), never told to the client: it would
      // let anyone probe a stranger's subscriber data one attribute at a time.
      log::Info("registration.subscriber_refused",
                {{"flow_id", f.flow_id},
                 {"found", answer->subscriber_found ? "true" : "false"},
                 {"mismatches", absl::StrJoin(answer->mismatches, ",")}});
      return Fail(f, errors::kPhoneNotOwned, errors::PhoneNotOwned());
    }
    f.state = FlowState::kOtpSendPending;
    changed = true;
  }
  if (f.state == FlowState::kOtpSendPending) {
    auto exists = accounts_->Exists(f.applicant.id_number);
    if (!exists.ok()) return {changed, PeerError(exists.status(), f.flow_id, "accounts")};
    if (*exists) return Fail(f, errors::kAccountExists, errors::AccountExists());
    auto ch = otp_->Send(f.flow_id + ":otp", f.applicant.phone, kOtpPurpose, f.id_index);
    if (!ch.ok()) return {changed, PeerError(ch.status(), f.flow_id, "otp")};
    f.state = FlowState::kOtpSent;
    f.otp_challenge_id = ch->challenge_id;
    if (!ch->masked_phone.empty()) f.masked_phone = ch->masked_phone;
    f.otp_expires_at = ch->expires_at;
    f.resend_after = ch->resend_after;
    changed = true;
    log::Info("registration.otp_sent", {{"flow_id", f.flow_id}});
  }
  return {changed, absl::OkStatus()};
}

StepResult Registration::Fail(Flow& f, const std::string& reason, absl::Status error) {
  f.state = FlowState::kFailed;
  f.failure_reason = reason;
  f.applicant = Applicant{};  // a refused flow keeps no personal data
  f.cert.certificate.reset();
  f.cert.subscriber.clear();
  log::Info("registration.flow_failed", {{"flow_id", f.flow_id}, {"reason", reason}});
  return {true, std::move(error)};
}

}  // namespace dvc::registration
