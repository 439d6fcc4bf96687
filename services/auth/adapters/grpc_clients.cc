#include "services/auth/adapters/grpc_clients.h"

#include "absl/strings/ascii.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"

namespace dvc::auth {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

AccountStatus StatusOf(accounts::v1::AccountStatus s) {
  switch (s) {
    case accounts::v1::ACCOUNT_STATUS_ACTIVE:
      return AccountStatus::kActive;
    case accounts::v1::ACCOUNT_STATUS_LOCKED:
      return AccountStatus::kLocked;
    case accounts::v1::ACCOUNT_STATUS_CLOSED:
      return AccountStatus::kClosed;
    default:
      return AccountStatus::kUnspecified;
  }
}

sigverify::v1::SignatureFormat FormatOf(SignatureFormat f) {
  switch (f) {
    case SignatureFormat::kPkcs1Sha256:
      return sigverify::v1::SIGNATURE_FORMAT_PKCS1_SHA256;
    case SignatureFormat::kPssSha256:
      return sigverify::v1::SIGNATURE_FORMAT_PSS_SHA256;
    case SignatureFormat::kEcdsaSha256:
      return sigverify::v1::SIGNATURE_FORMAT_ECDSA_SHA256;
    case SignatureFormat::kCmsAttached:
      return sigverify::v1::SIGNATURE_FORMAT_CMS_ATTACHED;
    case SignatureFormat::kCmsDetached:
      return sigverify::v1::SIGNATURE_FORMAT_CMS_DETACHED;
  }
  return sigverify::v1::SIGNATURE_FORMAT_UNSPECIFIED;
}

VerifiedSigner SignerOf(const sigverify::v1::VerifiedCertificate& c) {
  return VerifiedSigner{absl::AsciiStrToLower(c.fingerprint_sha256()), c.method()};
}

}  // namespace

absl::StatusOr<PasswordVerdict> GrpcAccountsClient::VerifyPassword(const std::string& id_number,
                                                                   const std::string& password) {
  accounts::v1::VerifyPasswordRequest req;
  req.set_id_number(id_number);
  req.set_password(password);
  accounts::v1::VerifyPasswordResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyPassword(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  PasswordVerdict v;
  v.valid = resp.valid();
  if (v.valid) {
    v.account_id = resp.account_id();
    v.ial = resp.ial();
    v.phone = resp.phone();
    v.status = StatusOf(resp.status());
  }
  return v;
}

absl::StatusOr<std::optional<std::string>> GrpcAccountsClient::FindAccountId(
    const std::string& id_number) {
  accounts::v1::FindAccountRequest req;
  req.set_id_number(id_number);
  accounts::v1::LookupAccountIdResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->LookupAccountId(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  if (!resp.found()) return std::optional<std::string>();
  return std::optional<std::string>(resp.account_id());
}

absl::StatusOr<CertificateHolder> GrpcAccountsClient::FindByCertificate(
    const std::string& fingerprint) {
  accounts::v1::FindByCertificateRequest req;
  req.set_fingerprint_sha256(fingerprint);
  accounts::v1::FindByCertificateResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->FindByCertificate(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  CertificateHolder h;
  h.found = resp.found();
  if (h.found) {
    h.account_id = resp.account_id();
    h.status = StatusOf(resp.status());
    h.ial = resp.ial();
    h.method = resp.method();
  }
  return h;
}

// ---- sigverify ----------------------------------------------------------------------------------

absl::StatusOr<SignatureChallenge> GrpcSigverifyClient::IssueLoginChallenge(
    const std::string& flow_id) {
  sigverify::v1::IssueChallengeRequest req;
  req.set_flow_id(flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_LOGIN);
  sigverify::v1::Challenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->IssueChallenge(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return SignatureChallenge{resp.challenge_id(), resp.challenge(), TimeOf(resp.expires_at())};
}

absl::StatusOr<VerifiedSigner> GrpcSigverifyClient::VerifyLoginSignature(
    const ChallengeSignature& sig) {
  sigverify::v1::VerifyChallengeSignatureRequest req;
  req.set_challenge_id(sig.challenge_id);
  req.set_flow_id(sig.flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_LOGIN);
  req.set_format(FormatOf(sig.format));
  req.set_signature(sig.signature);
  req.set_certificate(sig.certificate);
  for (const std::string& c : sig.chain) req.add_chain(c);
  sigverify::v1::VerifiedCertificate resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyChallengeSignature(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return SignerOf(resp);
}

absl::StatusOr<RemoteSignatureStarted> GrpcSigverifyClient::StartRemoteLogin(
    const std::string& flow_id, RemoteProvider provider, const std::string& subscriber,
    const std::string& display_text) {
  sigverify::v1::StartRemoteSignatureRequest req;
  req.set_flow_id(flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_LOGIN);
  req.set_provider(provider == RemoteProvider::kSim ? sigverify::v1::REMOTE_PROVIDER_SIM
                                                    : sigverify::v1::REMOTE_PROVIDER_SMARTCA);
  req.set_subscriber(subscriber);
  req.set_display_text(display_text);
  sigverify::v1::RemoteSignatureTransaction resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->StartRemoteSignature(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return RemoteSignatureStarted{resp.transaction_id(), resp.verification_code(),
                                TimeOf(resp.expires_at())};
}

absl::StatusOr<RemoteSignatureOutcome> GrpcSigverifyClient::GetRemoteLoginResult(
    const std::string& transaction_id, const std::string& flow_id) {
  sigverify::v1::GetRemoteSignatureResultRequest req;
  req.set_transaction_id(transaction_id);
  req.set_flow_id(flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_LOGIN);
  sigverify::v1::RemoteSignatureResult resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->GetRemoteSignatureResult(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  RemoteSignatureOutcome out;
  switch (resp.state()) {
    case sigverify::v1::RemoteSignatureResult::STATE_PENDING:
      return out;
    case sigverify::v1::RemoteSignatureResult::STATE_DONE:
      out.pending = false;
      out.signer = SignerOf(resp.certificate());
      if (out.signer.fingerprint_sha256.empty()) break;
      return out;
    default:
      break;
  }
  return status::Unavailable("DEPENDENCY_UNAVAILABLE", "Hệ thống đang bận. Vui lòng thử lại sau.",
                             "The service is temporarily unavailable. Please try again later.");
}

}  // namespace dvc::auth
