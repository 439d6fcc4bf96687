#include "services/sigverify/client/grpc_sigverify_client.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"

namespace dvc::sigverify::client {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

v1::Purpose PurposeOf(Purpose p) {
  switch (p) {
    case Purpose::kRegistration: return v1::PURPOSE_REGISTRATION;
    case Purpose::kLogin: return v1::PURPOSE_LOGIN;
    case Purpose::kAddMethod: return v1::PURPOSE_ADD_METHOD;
  }
  return v1::PURPOSE_UNSPECIFIED;
}

v1::SignatureFormat FormatOf(SignatureFormat f) {
  switch (f) {
    case SignatureFormat::kPkcs1Sha256: return v1::SIGNATURE_FORMAT_PKCS1_SHA256;
    case SignatureFormat::kPssSha256: return v1::SIGNATURE_FORMAT_PSS_SHA256;
    case SignatureFormat::kEcdsaSha256: return v1::SIGNATURE_FORMAT_ECDSA_SHA256;
    case SignatureFormat::kCmsAttached: return v1::SIGNATURE_FORMAT_CMS_ATTACHED;
    case SignatureFormat::kCmsDetached: return v1::SIGNATURE_FORMAT_CMS_DETACHED;
  }
  return v1::SIGNATURE_FORMAT_UNSPECIFIED;
}

const char* KindOf(v1::SubjectKind k) {
  switch (k) {
    case v1::SUBJECT_KIND_PERSON: return "PERSON";
    case v1::SUBJECT_KIND_BUSINESS: return "BUSINESS";
    case v1::SUBJECT_KIND_AGENCY: return "AGENCY";
    case v1::SUBJECT_KIND_SEAL: return "SEAL";
    default: return "";
  }
}

VerifiedCertificate CertificateOf(const v1::VerifiedCertificate& c) {
  VerifiedCertificate out;
  out.fingerprint_sha256 = absl::AsciiStrToLower(c.fingerprint_sha256());
  out.serial_hex = c.serial_hex();
  out.subject = c.subject();
  out.issuer_common_name = c.issuer_common_name();
  out.not_before = TimeOf(c.not_before());
  out.not_after = TimeOf(c.not_after());
  out.kind = KindOf(c.subject_kind());
  out.government_anchor = c.anchor_kind() == v1::ANCHOR_KIND_GOVERNMENT;
  out.common_name = c.common_name();
  out.organization = c.organization();
  out.organizational_unit = c.organizational_unit();
  out.locality = c.locality();
  out.state = c.state();
  out.email = c.email();
  out.telephone = c.telephone();
  out.cccd = c.cccd();
  out.cmnd = c.cmnd();
  out.passport = c.passport();
  out.mst = c.mst();
  out.mns = c.mns();
  out.method = c.method();
  return out;
}

absl::Status MalformedAnswer() {
  return status::Unavailable("DEPENDENCY_UNAVAILABLE", "Hệ thống đang bận. Vui lòng thử lại sau.",
                             "The service is temporarily unavailable. Please try again later.");
}

}  // namespace

GrpcSigverifyClient::GrpcSigverifyClient(std::shared_ptr<grpc::Channel> channel,
                                         absl::Duration deadline)
    : stub_(v1::SigverifyService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<Challenge> GrpcSigverifyClient::IssueChallenge(Purpose purpose,
                                                              const std::string& flow_id) {
  v1::IssueChallengeRequest req;
  req.set_flow_id(flow_id);
  req.set_purpose(PurposeOf(purpose));
  v1::Challenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->IssueChallenge(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return Challenge{resp.challenge_id(), resp.challenge(), TimeOf(resp.expires_at())};
}

absl::StatusOr<VerifiedCertificate> GrpcSigverifyClient::VerifyChallengeSignature(
    Purpose purpose, const ChallengeSignature& signature) {
  v1::VerifyChallengeSignatureRequest req;
  req.set_challenge_id(signature.challenge_id);
  req.set_flow_id(signature.flow_id);
  req.set_purpose(PurposeOf(purpose));
  req.set_format(FormatOf(signature.format));
  req.set_signature(signature.signature);
  req.set_certificate(signature.certificate);
  for (const std::string& c : signature.chain) req.add_chain(c);
  v1::VerifiedCertificate resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyChallengeSignature(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return CertificateOf(resp);
}

absl::StatusOr<RemoteSignatureStarted> GrpcSigverifyClient::StartRemoteSignature(
    Purpose purpose, const RemoteSignatureRequest& request) {
  v1::StartRemoteSignatureRequest req;
  req.set_flow_id(request.flow_id);
  req.set_purpose(PurposeOf(purpose));
  req.set_provider(request.provider == RemoteProvider::kSmartCa ? v1::REMOTE_PROVIDER_SMARTCA
                                                                : v1::REMOTE_PROVIDER_SIM);
  req.set_subscriber(request.subscriber);
  req.set_display_text(request.display_text);
  v1::RemoteSignatureTransaction resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->StartRemoteSignature(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return RemoteSignatureStarted{resp.transaction_id(), resp.verification_code(),
                                TimeOf(resp.expires_at())};
}

absl::StatusOr<RemoteSignatureOutcome> GrpcSigverifyClient::GetRemoteSignatureResult(
    Purpose purpose, const std::string& transaction_id, const std::string& flow_id) {
  v1::GetRemoteSignatureResultRequest req;
  req.set_transaction_id(transaction_id);
  req.set_flow_id(flow_id);
  req.set_purpose(PurposeOf(purpose));
  v1::RemoteSignatureResult resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->GetRemoteSignatureResult(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  RemoteSignatureOutcome out;
  switch (resp.state()) {
    case v1::RemoteSignatureResult::STATE_PENDING:
      return out;
    case v1::RemoteSignatureResult::STATE_DONE:
      if (resp.certificate().fingerprint_sha256().empty()) return MalformedAnswer();
      out.pending = false;
      out.signer = CertificateOf(resp.certificate());
      return out;
    default:
      return MalformedAnswer();
  }
}

}  // namespace dvc::sigverify::client
