// The certificate registration flows (REG-3 SIM, REG-4 USB, REG-6 SmartCA) on the common flow
// mechanism of registration.cc (RunStep, Resume, Fail). See registration.h for the state machine.
#include <utility>

#include "absl/strings/ascii.h"
#include "libs/crypto/aead.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/email.h"
#include "libs/validators/phone.h"
#include "services/registration/domain/errors.h"
#include "services/registration/domain/peer_error.h"
#include "services/registration/domain/registration.h"

namespace dvc::registration {
namespace {

// Every sigverify call of registration is for this purpose, bound to the registration flow id.
constexpr sigverify::client::Purpose kSigverifyPurpose = sigverify::client::Purpose::kRegistration;

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

bool IsCms(SignatureFormat f) {
  return f == SignatureFormat::kCmsAttached || f == SignatureFormat::kCmsDetached;
}

// The live signing request is used up (or failed): the next attempt needs RenewChallenge.
void ClearSignatureRequest(CertificateFlow& c) {
  c.challenge_id.clear();
  c.challenge.clear();
  c.transaction_id.clear();
  c.verification_code.clear();
  c.signature_expires_at.reset();
}

// The flow is over: its personal data goes.
void WipeCertificateData(Flow& f) {
  ClearSignatureRequest(f.cert);
  f.cert.certificate.reset();
  f.cert.subscriber.clear();
  f.applicant = Applicant{};
}

}  // namespace

absl::StatusOr<Flow> Registration::StartCertificate(const StartCertificateInput& in) {
  if (absl::Status s = captcha_->Verify(in.captcha_id, in.captcha_answer); !s.ok()) return s;

  Flow flow;
  std::string consent_version;
  if (absl::Status s = ValidateCertificateStart(in, &flow.method, &flow.cert, &consent_version);
      !s.ok()) {
    return s;
  }
  const absl::Time now = clock_->Now();
  flow.flow_id = crypto::NewUuidV4(*random_);
  flow.state = FlowState::kSignatureStartPending;
  if (flow.method == kMethodSim) flow.masked_phone = validators::MaskPhone(flow.cert.subscriber);
  flow.consent_version = consent_version;
  flow.consent_at = now;
  flow.created_at = now;
  flow.updated_at = now;
  flow.expires_at = now + options_.flow_ttl;
  flow.version = 1;
  if (absl::Status s = store_->Insert(flow); !s.ok()) return s;
  log::Info("registration.flow_started",
            {{"flow_id", flow.flow_id},
             {"method", flow.method},
             {"subject_kind", SubjectKindName(flow.cert.subject_kind)}});
  return RunStep(flow.flow_id, [this](Flow& f) { return RequestSignature(f); });
}

StepResult Registration::RequestSignature(Flow& f) {
  if (f.cert.signature_requests >= kMaxSignatureRequests) {
    return Fail(f, errors::kSignatureRequestsExceeded,
                status::WithMetadata(errors::SignatureRequestsExceeded(), "flow_id", f.flow_id));
  }
  if (f.method == kMethodUsb) {
    auto ch = sigverify_->IssueChallenge(kSigverifyPurpose, f.flow_id);
    if (!ch.ok()) {
      if (IsTransient(ch.status())) {
        return {false, ReasonedPeerError(ch.status(), f.flow_id, "sigverify")};
      }
      const std::string reason = status::ReasonOf(ch.status());
      return Fail(f, reason.empty() ? "SIGNATURE_REQUEST_FAILED" : reason,
                  PeerError(ch.status(), f.flow_id, "sigverify"));
    }
    ClearSignatureRequest(f.cert);
    f.cert.challenge_id = ch->challenge_id;
    f.cert.challenge = ch->challenge;
    f.cert.signature_expires_at = ch->expires_at;
    f.state = FlowState::kSignatureRequired;
  } else {
    RemoteSignatureRequest req;
    req.flow_id = f.flow_id;
    req.provider = f.method == kMethodSmartCa ? RemoteProvider::kSmartCa : RemoteProvider::kSim;
    req.subscriber = f.cert.subscriber;
    req.display_text = kRemoteDisplayText;
    auto tx = sigverify_->StartRemoteSignature(kSigverifyPurpose, req);
    if (!tx.ok()) {
      if (IsTransient(tx.status())) {
        return {false, ReasonedPeerError(tx.status(), f.flow_id, "sigverify")};
      }
      // The subscriber cannot sign (no certificate on the SIM, unknown user, …): start again
      // with another phone / account.
      const std::string reason = status::ReasonOf(tx.status());
      return Fail(f, reason.empty() ? "SIGNATURE_REQUEST_FAILED" : reason,
                  PeerError(tx.status(), f.flow_id, "sigverify"));
    }
    ClearSignatureRequest(f.cert);
    f.cert.transaction_id = tx->transaction_id;
    f.cert.verification_code = tx->verification_code;
    f.cert.signature_expires_at = tx->expires_at;
    f.state = FlowState::kSignaturePending;
  }
  ++f.cert.signature_requests;
  log::Info("registration.signature_requested",
            {{"flow_id", f.flow_id},
             {"method", f.method},
             {"request", std::to_string(f.cert.signature_requests)}});
  return {true, absl::OkStatus()};
}

absl::StatusOr<Flow> Registration::RenewChallenge(const std::string& flow_id) {
  return RunStep(flow_id, [this](Flow& f) -> StepResult {
    if (f.state != FlowState::kSignatureRequired && f.state != FlowState::kSignaturePending) {
      return {false, errors::FlowWrongState(PublicStateName(f.state))};
    }
    return RequestSignature(f);
  });
}

absl::StatusOr<Flow> Registration::SubmitCertificateSignature(
    const CertificateSignatureInput& in) {
  return RunStep(in.flow_id, [&](Flow& f) -> StepResult {
    if (f.state != FlowState::kSignatureRequired) {
      return {false, errors::FlowWrongState(PublicStateName(f.state))};
    }
    // Shape first: a request that cannot be verified does not use up the challenge.
    if (!in.format) return {false, errors::SignatureFormatRequired()};
    if (in.signature.empty()) return {false, errors::SignatureRequired()};
    if (in.certificate.empty() && !IsCms(*in.format)) return {false, errors::CertificateRequired()};
    if (f.cert.challenge_id.empty()) return {false, errors::ChallengeRenewalRequired()};

    ChallengeSignature sig;
    sig.challenge_id = f.cert.challenge_id;
    sig.flow_id = f.flow_id;
    sig.format = *in.format;
    sig.signature = in.signature;
    sig.certificate = in.certificate;
    sig.chain = in.chain;
    auto verified = sigverify_->VerifyChallengeSignature(kSigverifyPurpose, sig);
    // sigverify consumes the challenge whatever the outcome (one attempt per challenge).
    ClearSignatureRequest(f.cert);
    if (!verified.ok()) {
      log::Info("registration.signature_refused",
                {{"flow_id", f.flow_id}, {"reason", status::ReasonOf(verified.status())}});
      return {true, ReasonedPeerError(verified.status(), f.flow_id, "sigverify")};
    }
    return AcceptCertificate(f, std::move(*verified));
  });
}

absl::StatusOr<Flow> Registration::PollCertificateSignature(const std::string& flow_id) {
  return RunStep(flow_id, [&](Flow& f) -> StepResult {
    if (f.state != FlowState::kSignaturePending) {
      return {false, errors::FlowWrongState(PublicStateName(f.state))};
    }
    if (f.cert.transaction_id.empty()) return {false, errors::ChallengeRenewalRequired()};
    auto result =
        sigverify_->GetRemoteSignatureResult(kSigverifyPurpose, f.cert.transaction_id, f.flow_id);
    if (!result.ok()) {
      // The provider being down does not end the transaction: poll again.
      if (IsTransient(result.status())) {
        return {false, ReasonedPeerError(result.status(), f.flow_id, "sigverify")};
      }
      // Cancelled, timed out, PIN blocked, certificate refused…: this request is over.
      ClearSignatureRequest(f.cert);
      log::Info("registration.signature_refused",
                {{"flow_id", f.flow_id}, {"reason", status::ReasonOf(result.status())}});
      return {true, PeerError(result.status(), f.flow_id, "sigverify")};
    }
    if (result->pending) return {false, absl::OkStatus()};
    ClearSignatureRequest(f.cert);
    return AcceptCertificate(f, std::move(result->signer));
  });
}

StepResult Registration::AcceptCertificate(Flow& f, CertificateInfo certificate) {
  if (absl::Status s = CheckCertificateMatchesSubject(f.cert.subject_kind, certificate);
      !s.ok()) {
    log::Info("registration.certificate_mismatch",
              {{"flow_id", f.flow_id}, {"reason", status::ReasonOf(s)}});
    return {true, status::WithMetadata(s, "flow_id", f.flow_id)};
  }
  f.cert.certificate = std::move(certificate);
  f.state = FlowState::kDuplicateCheckPending;
  log::Info("registration.certificate_verified", {{"flow_id", f.flow_id}, {"method", f.method}});
  StepResult r = RunDuplicateCheck(f);
  r.save = true;  // the verified certificate is kept even when the duplicate check must wait
  return r;
}

StepResult Registration::RunDuplicateCheck(Flow& f) {
  for (const AccountKey& key : AccountKeysFor(f.cert)) {
    auto found = accounts_->LookupAccountId(key);
    if (!found.ok()) return {false, PeerError(found.status(), f.flow_id, "accounts")};
    if (found->has_value()) {
      // SUB-4: nothing is created; the holder may add this certificate to that account.
      f.state = FlowState::kExistingAccount;
      f.account_id = **found;
      log::Info("registration.existing_account", {{"flow_id", f.flow_id}});
      return {true, absl::OkStatus()};
    }
  }
  f.state = FlowState::kReview;
  return {true, absl::OkStatus()};
}

absl::StatusOr<Flow> Registration::CompleteCertificate(const CompleteCertificateInput& in) {
  return RunStep(
      in.flow_id,
      [&](Flow& f) -> StepResult {
        if (f.state != FlowState::kReview) {
          return {false, errors::FlowWrongState(PublicStateName(f.state))};
        }
        std::string email = Trim(in.email);
        if (email.empty() && f.cert.subject_kind == SubjectKind::kBusiness) {
          return {false, errors::EmailRequired()};
        }
        if (!email.empty()) {
          auto normalized = validators::NormalizeEmail(email, "email");
          if (!normalized.ok()) return {false, normalized.status()};
          email = *normalized;
        }
        std::string phone = Trim(in.phone);
        if (!phone.empty()) {
          auto normalized = validators::NormalizePhone(phone, "phone");
          if (!normalized.ok()) return {false, normalized.status()};
          phone = *normalized;
        }
        auto account =
            accounts_->CreateCertificateAccount(BuildCertificateAccount(f, email, phone));
        if (!account.ok()) {
          if (account.status().code() != absl::StatusCode::kAlreadyExists) {
            return {false, PeerError(account.status(), f.flow_id, "accounts")};
          }
          // Someone registered the same subject since our duplicate check: offer the link.
          for (const AccountKey& key : AccountKeysFor(f.cert)) {
            auto found = accounts_->LookupAccountId(key);
            if (found.ok() && found->has_value()) {
              f.state = FlowState::kExistingAccount;
              f.account_id = **found;
              const status::ErrorInfo n = ExistingAccountNotice(f.cert.subject_kind);
              absl::Status s = status::AlreadyExists(n.reason, "", n.message_vi, n.message_en);
              return {true, status::WithMetadata(s, "flow_id", f.flow_id)};
            }
          }
          // Held by an account we cannot name (e.g. the certificate itself is registered).
          const std::string reason = status::ReasonOf(account.status());
          return Fail(f, reason.empty() ? errors::kAccountExists : reason,
                      status::WithMetadata(account.status(), "flow_id", f.flow_id));
        }
        f.state = FlowState::kCompleted;
        f.account_id = account->account_id;
        f.ial = account->ial;
        WipeCertificateData(f);
        log::Info("registration.completed",
                  {{"flow_id", f.flow_id}, {"account_id", f.account_id}, {"method", f.method}});
        return {true, absl::OkStatus()};
      },
      /*replay_completed=*/true);
}

absl::StatusOr<Flow> Registration::LinkCertificate(const std::string& flow_id,
                                                   const std::string& access_token) {
  const std::string token = Trim(access_token);
  return RunStep(
      flow_id,
      [&](Flow& f) -> StepResult {
        if (f.state != FlowState::kExistingAccount) {
          return {false, errors::FlowWrongState(PublicStateName(f.state))};
        }
        // Never link silently: the account holder proves it is them by signing in.
        if (token.empty()) return {false, errors::AccessTokenRequired()};
        auto info = auth_->Introspect(token);
        if (!info.ok()) return {false, PeerError(info.status(), f.flow_id, "auth")};
        if (!info->active) return {false, errors::AccessTokenInvalid()};
        if (info->account_id != f.account_id) {
          log::Warn("registration.link_account_mismatch", {{"flow_id", f.flow_id}});
          return {false, errors::AccountMismatch()};
        }
        CertificateLink link;
        link.request_id = f.flow_id + ":link";
        link.account_id = f.account_id;
        link.credential = CredentialOf(f.cert, f.method);
        link.identity_number = IdentityNumberOf(f.cert);
        auto linked = accounts_->AddCertificate(link);
        if (!linked.ok()) return {false, PeerError(linked.status(), f.flow_id, "accounts")};
        f.state = FlowState::kCompleted;
        if (!linked->account_id.empty()) f.account_id = linked->account_id;
        f.ial = linked->ial;
        WipeCertificateData(f);
        log::Info("registration.certificate_linked",
                  {{"flow_id", f.flow_id}, {"account_id", f.account_id}, {"method", f.method}});
        return {true, absl::OkStatus()};
      },
      /*replay_completed=*/true);
}

}  // namespace dvc::registration
