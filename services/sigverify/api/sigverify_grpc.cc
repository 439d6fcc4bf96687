#include "services/sigverify/api/sigverify_grpc.h"

#include <string>
#include <vector>

#include "libs/server/call.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

absl::StatusOr<SignatureFormat> FormatFrom(v1::SignatureFormat f) {
  switch (f) {
    case v1::SIGNATURE_FORMAT_PKCS1_SHA256: return SignatureFormat::kPkcs1Sha256;
    case v1::SIGNATURE_FORMAT_PSS_SHA256: return SignatureFormat::kPssSha256;
    case v1::SIGNATURE_FORMAT_ECDSA_SHA256: return SignatureFormat::kEcdsaSha256;
    case v1::SIGNATURE_FORMAT_CMS_ATTACHED: return SignatureFormat::kCmsAttached;
    case v1::SIGNATURE_FORMAT_CMS_DETACHED: return SignatureFormat::kCmsDetached;
    default:
      return status::InvalidArgument("SIGNATURE_FORMAT_INVALID", "format",
                                     "Định dạng chữ ký số không được hỗ trợ.",
                                     "The signature format is missing or unsupported.");
  }
}

v1::SubjectKind KindToProto(SubjectKind k) {
  switch (k) {
    case SubjectKind::kPerson: return v1::SUBJECT_KIND_PERSON;
    case SubjectKind::kBusiness: return v1::SUBJECT_KIND_BUSINESS;
    case SubjectKind::kAgency: return v1::SUBJECT_KIND_AGENCY;
    case SubjectKind::kSeal: return v1::SUBJECT_KIND_SEAL;
  }
  return v1::SUBJECT_KIND_UNSPECIFIED;
}

std::vector<std::string> Chain(const google::protobuf::RepeatedPtrField<std::string>& chain) {
  return std::vector<std::string>(chain.begin(), chain.end());
}

// Unknown enum values pass through as their number: ValidateFlow refuses them.
Purpose PurposeFrom(int p) { return static_cast<Purpose>(p); }

}  // namespace

void ToProto(const VerifiedCertificate& in, v1::VerifiedCertificate* out) {
  const ParsedCertificate& c = in.certificate;
  const CertificateIdentity& id = c.identity;
  out->set_fingerprint_sha256(c.fingerprint_sha256);
  out->set_serial_hex(c.serial_hex);
  out->set_subject(c.subject);
  out->set_issuer(c.issuer);
  out->set_issuer_common_name(c.issuer_common_name);
  SetTime(c.not_before, out->mutable_not_before());
  SetTime(c.not_after, out->mutable_not_after());
  out->set_subject_kind(KindToProto(id.kind));
  for (const SubjectUid& u : id.uids) {
    v1::SubjectUid* p = out->add_uids();
    p->set_prefix(u.prefix);
    p->set_value(u.value);
  }
  out->set_common_name(id.common_name);
  out->set_organization(id.organization);
  out->set_organizational_unit(id.organizational_unit);
  out->set_locality(id.locality);
  out->set_state(id.state);
  out->set_email(id.email);
  out->set_telephone(id.telephone);
  out->set_cccd(id.cccd.value_or(""));
  out->set_cmnd(id.cmnd.value_or(""));
  out->set_passport(id.passport.value_or(""));
  out->set_mst(id.mst.value_or(""));
  out->set_mns(id.mns.value_or(""));
  out->set_anchor_kind(in.anchor_kind == AnchorKind::kGovernment ? v1::ANCHOR_KIND_GOVERNMENT
                                                                 : v1::ANCHOR_KIND_PUBLIC);
  out->set_revocation_source(in.revocation_source);
  out->set_certificate_der(c.der);
  out->set_method(in.method);
}

grpc::Status SigverifyGrpc::GetTrustStoreInfo(grpc::ServerContext* ctx,
                                              const v1::GetTrustStoreInfoRequest*,
                                              v1::TrustStoreInfo* out) {
  return server::Handle(ctx, [&] {
    const TrustStoreInfo info = trust_->Get()->Info();
    out->set_anchors(info.anchors);
    for (const std::string& s : info.subjects) out->add_subjects(s);
    out->set_intermediates(info.intermediates);
    return absl::OkStatus();
  });
}

grpc::Status SigverifyGrpc::IssueChallenge(grpc::ServerContext* ctx,
                                           const v1::IssueChallengeRequest* req,
                                           v1::Challenge* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    absl::StatusOr<IssuedChallenge> c =
        service_->IssueChallenge(req->flow_id(), PurposeFrom(req->purpose()));
    if (!c.ok()) return c.status();
    out->set_challenge_id(c->challenge_id);
    out->set_challenge(c->challenge);
    SetTime(c->expires_at, out->mutable_expires_at());
    return absl::OkStatus();
  });
}

grpc::Status SigverifyGrpc::VerifyChallengeSignature(
    grpc::ServerContext* ctx, const v1::VerifyChallengeSignatureRequest* req,
    v1::VerifiedCertificate* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    absl::StatusOr<SignatureFormat> format = FormatFrom(req->format());
    if (!format.ok()) return format.status();
    absl::StatusOr<VerifiedCertificate> v = service_->VerifyChallengeSignature(
        req->challenge_id(), req->flow_id(), PurposeFrom(req->purpose()), *format,
        req->signature(), req->certificate(), Chain(req->chain()));
    if (!v.ok()) return v.status();
    ToProto(*v, out);
    return absl::OkStatus();
  });
}

grpc::Status SigverifyGrpc::StartRemoteSignature(grpc::ServerContext* ctx,
                                                 const v1::StartRemoteSignatureRequest* req,
                                                 v1::RemoteSignatureTransaction* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    RemoteProvider provider;
    switch (req->provider()) {
      case v1::REMOTE_PROVIDER_SIM: provider = RemoteProvider::kSim; break;
      case v1::REMOTE_PROVIDER_SMARTCA: provider = RemoteProvider::kSmartCa; break;
      default:
        return status::InvalidArgument("REMOTE_PROVIDER_UNSUPPORTED", "provider",
                                       "Phương thức ký số từ xa không hợp lệ.",
                                       "The remote signing provider is missing or unknown.");
    }
    absl::StatusOr<StartedRemoteSignature> t = service_->StartRemoteSignature(
        req->flow_id(), PurposeFrom(req->purpose()), provider, req->subscriber(),
        req->display_text());
    if (!t.ok()) return t.status();
    out->set_transaction_id(t->transaction_id);
    out->set_verification_code(t->verification_code);
    SetTime(t->expires_at, out->mutable_expires_at());
    return absl::OkStatus();
  });
}

grpc::Status SigverifyGrpc::GetRemoteSignatureResult(
    grpc::ServerContext* ctx, const v1::GetRemoteSignatureResultRequest* req,
    v1::RemoteSignatureResult* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    absl::StatusOr<RemoteSignatureResult> r = service_->GetRemoteSignatureResult(
        req->transaction_id(), req->flow_id(), PurposeFrom(req->purpose()));
    if (!r.ok()) return r.status();
    if (r->pending) {
      out->set_state(v1::RemoteSignatureResult::STATE_PENDING);
      return absl::OkStatus();
    }
    out->set_state(v1::RemoteSignatureResult::STATE_DONE);
    ToProto(r->certificate, out->mutable_certificate());
    return absl::OkStatus();
  });
}

grpc::Status SigverifyGrpc::CheckCertificate(grpc::ServerContext* ctx,
                                             const v1::CheckCertificateRequest* req,
                                             v1::VerifiedCertificate* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    absl::StatusOr<VerifiedCertificate> v = service_->CheckCertificate(
        req->certificate(), Chain(req->chain()), PurposeFrom(req->purpose()));
    if (!v.ok()) return v.status();
    ToProto(*v, out);
    return absl::OkStatus();
  });
}

}  // namespace dvc::sigverify
