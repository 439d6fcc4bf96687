#include "services/sigverify/domain/signature_service.h"

#include <openssl/sha.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/crypto/encoding.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/phone.h"
#include "services/sigverify/domain/x509_util.h"

namespace dvc::sigverify {
namespace {

constexpr size_t kMaxDisplayText = 160;

const char* PurposeName(Purpose p) {
  switch (p) {
    case Purpose::kRegistration: return "registration";
    case Purpose::kLogin: return "login";
    case Purpose::kAddMethod: return "add-method";
  }
  return "unknown";
}

const char* MethodName(RemoteProvider p) {
  return p == RemoteProvider::kSim ? "SIM" : "SMARTCA";
}

std::string Sha256(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

bool IsRetryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kInternal;
}

absl::Status SignerTimeout() { return RemoteSignerError("SIGNER_TIMEOUT"); }

// The outcome of a transaction that already failed, replayed to a later poll with its reason.
absl::Status RemoteFailure(const std::string& reason) {
  if (absl::StartsWith(reason, "SIGNER_") || reason == "SIGNATURE_INVALID" ||
      reason == "CERT_REVOKED") {
    return RemoteSignerError(reason);
  }
  return status::FailedPrecondition(
      reason.empty() ? "REMOTE_SIGNATURE_FAILED" : reason, "transaction_id",
      "Giao dịch ký số này đã thất bại. Vui lòng thực hiện lại.",
      "This signing transaction failed. Please start a new one.");
}

}  // namespace

absl::Status ValidateFlow(const std::string& flow_id, int purpose) {
  bool ok = !flow_id.empty() && flow_id.size() <= 128;
  for (char c : flow_id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
          c == ':' || c == '-')) {
      ok = false;
    }
  }
  if (!ok) {
    return status::InvalidArgument("FLOW_ID_INVALID", "flow_id",
                                   "Mã phiên giao dịch không hợp lệ.",
                                   "The flow id is missing or malformed.");
  }
  if (purpose < 1 || purpose > 3) {
    return status::InvalidArgument("PURPOSE_INVALID", "purpose",
                                   "Mục đích ký số không hợp lệ.",
                                   "The signing purpose is missing or unknown.");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeSubscriber(RemoteProvider provider,
                                                const std::string& subscriber) {
  if (provider == RemoteProvider::kSim) {
    return validators::ToE164(subscriber, "subscriber");
  }
  bool ok = !subscriber.empty() && subscriber.size() <= 64;
  for (char c : subscriber) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
          c == '@' || c == '-')) {
      ok = false;
    }
  }
  if (!ok) {
    return status::InvalidArgument("SUBSCRIBER_INVALID", "subscriber",
                                   "Tài khoản SmartCA không hợp lệ.",
                                   "The SmartCA user id is missing or malformed.");
  }
  return subscriber;
}

SignatureService::SignatureService(TrustStoreHolder* trust, RevocationChecker* revocation,
                                   ChallengeStore* challenges, RemoteSignatureStore* remote,
                                   absl::flat_hash_map<RemoteProvider, RemoteSigner*> signers,
                                   Clock* clock, crypto::Random* random,
                                   SignatureServiceOptions options)
    : trust_(trust),
      revocation_(revocation),
      challenges_(challenges),
      remote_(remote),
      signers_(std::move(signers)),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {}

std::string SignatureService::NewChallengeText(const std::string& challenge_id,
                                               const std::string& flow_id, Purpose purpose,
                                               absl::Time expires_at) {
  // Human-readable, so a signing plug-in that shows what is signed shows something meaningful;
  // the random nonce makes it unpredictable, the ids bind it to one flow and purpose.
  return absl::StrCat("dichvucong.gov.vn xac thuc chu ky so\n", "purpose=", PurposeName(purpose),
                      "\nflow=", flow_id, "\nchallenge=", challenge_id,
                      "\nnonce=", crypto::RandomToken(*random_, 32), "\nexpires=",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", expires_at, absl::UTCTimeZone()),
                      "\n");
}

absl::StatusOr<IssuedChallenge> SignatureService::IssueChallenge(const std::string& flow_id,
                                                                 Purpose purpose) {
  if (absl::Status s = ValidateFlow(flow_id, static_cast<int>(purpose)); !s.ok()) return s;
  StoredChallenge c;
  c.challenge_id = crypto::NewUuidV4(*random_);
  c.flow_id = flow_id;
  c.purpose = purpose;
  c.expires_at = clock_->Now() + options_.challenge_ttl;
  c.challenge = NewChallengeText(c.challenge_id, flow_id, purpose, c.expires_at);
  if (absl::Status s = challenges_->Insert(c); !s.ok()) return s;
  return IssuedChallenge{c.challenge_id, c.challenge, c.expires_at};
}

absl::StatusOr<std::vector<X509Ptr>> SignatureService::ParseChain(
    const std::vector<std::string>& chain) {
  const auto too_long = [this] {
    return status::InvalidArgument(
        "CERT_CHAIN_TOO_LONG", "certificate", "Chuỗi chứng thư số quá dài.",
        absl::StrCat("The certificate chain has more than ", options_.max_chain,
                     " certificates."));
  };
  // Refused before parsing anything; each item may itself be a PEM bundle.
  if (chain.size() > options_.max_chain) return too_long();
  std::vector<X509Ptr> out;
  for (const std::string& item : chain) {
    absl::StatusOr<std::vector<ParsedCertificate>> parsed =
        ParseCertificateChain(item, options_.max_chain);
    if (!parsed.ok()) return parsed.status();
    for (ParsedCertificate& p : *parsed) out.push_back(std::move(p.x509));
    if (out.size() > options_.max_chain) return too_long();
  }
  return out;
}

absl::StatusOr<VerifiedCertificate> SignatureService::VerifyCertificate(
    ParsedCertificate leaf, const std::vector<X509Ptr>& untrusted, Purpose purpose) {
  const absl::Time now = clock_->Now();
  PathValidator validator(trust_->Get(), options_.path_policy);
  absl::StatusOr<ValidatedPath> path = validator.Validate(leaf.x509, untrusted, now);
  if (!path.ok()) return path.status();

  const RevocationPolicy policy = purpose == Purpose::kLogin ? options_.login_policy
                                                             : options_.registration_policy;
  absl::StatusOr<RevocationStatus> revocation = revocation_->CheckPath(*path, now, policy);
  if (!revocation.ok()) return revocation.status();

  if (absl::Status s = ValidateIdentity(leaf.identity); !s.ok()) return s;

  VerifiedCertificate out;
  out.certificate = std::move(leaf);
  out.revocation_source =
      revocation->state == RevocationStatus::State::kGood ? revocation->source : "";
  const std::string anchor_fp = Sha256Fingerprint(path->chain.back().get());
  out.anchor_kind = options_.government_anchors.count(anchor_fp) > 0 ? AnchorKind::kGovernment
                                                                     : AnchorKind::kPublic;
  return out;
}

absl::StatusOr<VerifiedCertificate> SignatureService::VerifyChallengeSignature(
    const std::string& challenge_id, const std::string& flow_id, Purpose purpose,
    SignatureFormat format, const std::string& signature, const std::string& certificate,
    const std::vector<std::string>& chain) {
  if (absl::Status s = ValidateFlow(flow_id, static_cast<int>(purpose)); !s.ok()) return s;
  if (signature.empty() || signature.size() > kMaxSignatureBytes) {
    return status::InvalidArgument("SIGNATURE_MALFORMED", "signature",
                                   "Chữ ký số trống hoặc quá lớn.",
                                   "The signature is empty or too large.");
  }
  // Parse what we can before spending the challenge: a malformed request leaves it usable.
  X509Ptr supplied;
  if (!certificate.empty()) {
    absl::StatusOr<ParsedCertificate> parsed = ParseCertificate(certificate);
    if (!parsed.ok()) return parsed.status();
    supplied = parsed->x509;
  } else if (format != SignatureFormat::kCmsAttached &&
             format != SignatureFormat::kCmsDetached) {
    return status::InvalidArgument("CERT_MISSING", "certificate",
                                   "Thiếu chứng thư số của người ký.",
                                   "The signer certificate is required for this format.");
  }
  absl::StatusOr<std::vector<X509Ptr>> untrusted = ParseChain(chain);
  if (!untrusted.ok()) return untrusted.status();

  absl::StatusOr<StoredChallenge> c =
      challenges_->Consume(challenge_id, flow_id, purpose, clock_->Now());
  if (!c.ok()) return c.status();

  absl::StatusOr<VerifiedSignature> verified =
      VerifySignature(c->challenge, signature, format, supplied);
  if (!verified.ok()) return verified.status();
  std::vector<X509Ptr> pool = *untrusted;
  for (const X509Ptr& e : verified->embedded) pool.push_back(e);
  if (pool.size() > options_.max_chain + 1) {
    return status::InvalidArgument("CERT_CHAIN_TOO_LONG", "certificate",
                                   "Chuỗi chứng thư số quá dài.",
                                   "The signature carries too many certificates.");
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(verified->signer.get(), &der);
  if (n <= 0) return status::Internal();
  const std::string signer_der(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  absl::StatusOr<ParsedCertificate> signer = ParseCertificate(signer_der);
  if (!signer.ok()) return signer.status();
  absl::StatusOr<VerifiedCertificate> out =
      VerifyCertificate(*std::move(signer), pool, purpose);
  if (!out.ok()) return out.status();
  out->method = "USB";
  return out;
}

absl::StatusOr<StartedRemoteSignature> SignatureService::StartRemoteSignature(
    const std::string& flow_id, Purpose purpose, RemoteProvider provider,
    const std::string& subscriber, const std::string& display_text) {
  if (absl::Status s = ValidateFlow(flow_id, static_cast<int>(purpose)); !s.ok()) return s;
  auto it = signers_.find(provider);
  if (it == signers_.end() || it->second == nullptr) {
    return status::InvalidArgument("REMOTE_PROVIDER_UNSUPPORTED", "provider",
                                   "Phương thức ký số từ xa này không được hỗ trợ.",
                                   "This remote signing provider is not supported.");
  }
  absl::StatusOr<std::string> who = NormalizeSubscriber(provider, subscriber);
  if (!who.ok()) return who.status();
  if (display_text.size() > kMaxDisplayText) {
    return status::InvalidArgument("DISPLAY_TEXT_TOO_LONG", "display_text",
                                   "Nội dung hiển thị quá dài.",
                                   "The text to display on the phone is too long.");
  }

  RemoteSignature tx;
  tx.transaction_id = crypto::NewUuidV4(*random_);
  tx.flow_id = flow_id;
  tx.purpose = purpose;
  tx.provider = provider;
  const absl::Time now = clock_->Now();
  // A little longer than the user's time on the phone, so the provider's own time-out is seen.
  tx.expires_at = now + options_.remote_timeout + absl::Seconds(30);
  tx.challenge = NewChallengeText(tx.transaction_id, flow_id, purpose, tx.expires_at);
  const std::string digest = Sha256(tx.challenge);
  const std::string code = VerificationCode(digest);

  RemoteSignRequest req;
  req.subscriber = *who;
  req.digest_sha256 = digest;
  req.display_text =
      absl::StrCat(display_text.empty() ? "Dich vu cong: xac thuc tai khoan" : display_text,
                   " - Ma xac nhan: ", code);
  req.transaction_id = tx.transaction_id;
  req.timeout = options_.remote_timeout;
  absl::StatusOr<RemoteSignStarted> started = it->second->Start(req);
  if (!started.ok()) return started.status();
  tx.provider_transaction_id = started->provider_transaction_id;
  tx.start_chain = started->chain_der;
  if (absl::Status s = remote_->Insert(tx); !s.ok()) return s;
  log::Info("remote_signature.started",
            {{"transaction_id", tx.transaction_id}, {"provider", MethodName(provider)}});
  return StartedRemoteSignature{tx.transaction_id, code, tx.expires_at};
}

absl::StatusOr<VerifiedCertificate> SignatureService::VerifyRemoteSigner(
    const RemoteSignature& tx, const std::vector<std::string>& chain_der,
    const std::string* signature) {
  if (chain_der.empty()) {
    return status::Unavailable("SIGNER_PROVIDER_ERROR",
                               "Nhà cung cấp dịch vụ ký số không trả về chứng thư số.",
                               "The signing provider returned no certificate.");
  }
  absl::StatusOr<ParsedCertificate> leaf = ParseCertificate(chain_der.front());
  if (!leaf.ok()) return leaf.status();
  std::vector<std::string> rest(chain_der.begin() + 1, chain_der.end());
  absl::StatusOr<std::vector<X509Ptr>> untrusted = ParseChain(rest);
  if (!untrusted.ok()) return untrusted.status();
  if (signature != nullptr) {
    absl::StatusOr<VerifiedSignature> sig =
        VerifySignature(tx.challenge, *signature, SignatureFormat::kPkcs1Sha256, leaf->x509);
    if (!sig.ok()) return sig.status();
  }
  absl::StatusOr<VerifiedCertificate> out =
      VerifyCertificate(*std::move(leaf), *untrusted, tx.purpose);
  if (!out.ok()) return out.status();
  out->method = MethodName(tx.provider);
  return out;
}

absl::StatusOr<RemoteSignatureResult> SignatureService::GetRemoteSignatureResult(
    const std::string& transaction_id, const std::string& flow_id, Purpose purpose) {
  if (absl::Status s = ValidateFlow(flow_id, static_cast<int>(purpose)); !s.ok()) return s;
  absl::StatusOr<RemoteSignature> tx = remote_->Get(transaction_id, flow_id, purpose);
  if (!tx.ok()) return tx.status();
  RemoteSignatureResult result;

  if (tx->state == RemoteSignature::State::kDone) {
    // Already verified once: re-run the pipeline (revocation may have changed since).
    absl::StatusOr<VerifiedCertificate> out =
        VerifyRemoteSigner(*tx, tx->result_chain, /*signature=*/nullptr);
    if (!out.ok()) return out.status();
    result.pending = false;
    result.certificate = *std::move(out);
    return result;
  }
  if (tx->state == RemoteSignature::State::kFailed) {
    return RemoteFailure(tx->failure_reason);
  }
  auto it = signers_.find(tx->provider);
  if (it == signers_.end() || it->second == nullptr) return status::Internal();

  if (clock_->Now() >= tx->expires_at) {
    (void)remote_->MarkFailed(transaction_id, "SIGNER_TIMEOUT");
    return SignerTimeout();
  }
  absl::StatusOr<RemoteSignOutcome> outcome = it->second->Poll(tx->provider_transaction_id);
  if (!outcome.ok()) {
    if (!IsRetryable(outcome.status())) {
      (void)remote_->MarkFailed(transaction_id, status::ReasonOf(outcome.status()));
    }
    return outcome.status();
  }
  if (outcome->pending) return result;

  std::vector<std::string> chain =
      outcome->chain_der.empty() ? tx->start_chain : outcome->chain_der;
  absl::StatusOr<VerifiedCertificate> out = VerifyRemoteSigner(*tx, chain, &outcome->signature);
  if (!out.ok()) {
    if (!IsRetryable(out.status())) {
      (void)remote_->MarkFailed(transaction_id, status::ReasonOf(out.status()));
    }
    return out.status();
  }
  if (absl::Status s = remote_->MarkDone(transaction_id, chain); !s.ok()) return s;
  log::Info("remote_signature.verified",
            {{"transaction_id", transaction_id}, {"provider", MethodName(tx->provider)}});
  result.pending = false;
  result.certificate = *std::move(out);
  return result;
}

absl::StatusOr<VerifiedCertificate> SignatureService::CheckCertificate(
    const std::string& certificate, const std::vector<std::string>& chain, Purpose purpose) {
  if (static_cast<int>(purpose) < 1 || static_cast<int>(purpose) > 3) {
    return status::InvalidArgument("PURPOSE_INVALID", "purpose", "Mục đích không hợp lệ.",
                                   "The purpose is missing or unknown.");
  }
  absl::StatusOr<ParsedCertificate> leaf = ParseCertificate(certificate);
  if (!leaf.ok()) return leaf.status();
  absl::StatusOr<std::vector<X509Ptr>> untrusted = ParseChain(chain);
  if (!untrusted.ok()) return untrusted.status();
  return VerifyCertificate(*std::move(leaf), *untrusted, purpose);
}

}  // namespace dvc::sigverify
