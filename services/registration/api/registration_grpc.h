// gRPC handlers for dvc.registration.v1.RegistrationService: proto ↔ domain, nothing else.
// Flows are shown with their public data only (masked phone; never the ID number or any other
// personal data). A certificate flow under review shows the certificate's holder name, CA,
// validity and the identity number masked; never the existing account's id.
#pragma once

#include "protos/dvc/registration/v1/registration.grpc.pb.h"
#include "services/registration/domain/registration.h"

namespace dvc::registration {

class RegistrationGrpc final : public v1::RegistrationService::Service {
 public:
  explicit RegistrationGrpc(Registration* domain) : domain_(domain) {}

  grpc::Status CreateCaptcha(grpc::ServerContext* ctx, const v1::CreateCaptchaRequest* req,
                             v1::Captcha* out) override;
  grpc::Status StartMobileRegistration(grpc::ServerContext* ctx,
                                       const v1::StartMobileRegistrationRequest* req,
                                       v1::Flow* out) override;
  grpc::Status ResumeFlow(grpc::ServerContext* ctx, const v1::FlowRef* req,
                          v1::Flow* out) override;
  grpc::Status GetFlow(grpc::ServerContext* ctx, const v1::FlowRef* req, v1::Flow* out) override;
  grpc::Status ResendOtp(grpc::ServerContext* ctx, const v1::FlowRef* req,
                         v1::Flow* out) override;
  grpc::Status VerifyOtp(grpc::ServerContext* ctx, const v1::VerifyOtpRequest* req,
                         v1::Flow* out) override;
  grpc::Status SetPassword(grpc::ServerContext* ctx, const v1::SetPasswordRequest* req,
                           v1::Flow* out) override;
  grpc::Status StartCertificateRegistration(grpc::ServerContext* ctx,
                                            const v1::StartCertificateRegistrationRequest* req,
                                            v1::Flow* out) override;
  grpc::Status SubmitCertificateSignature(grpc::ServerContext* ctx,
                                          const v1::SubmitCertificateSignatureRequest* req,
                                          v1::Flow* out) override;
  grpc::Status PollCertificateSignature(grpc::ServerContext* ctx, const v1::FlowRef* req,
                                        v1::Flow* out) override;
  grpc::Status RenewChallenge(grpc::ServerContext* ctx, const v1::FlowRef* req,
                              v1::Flow* out) override;
  grpc::Status CompleteCertificateRegistration(
      grpc::ServerContext* ctx, const v1::CompleteCertificateRegistrationRequest* req,
      v1::Flow* out) override;
  grpc::Status LinkCertificate(grpc::ServerContext* ctx, const v1::LinkCertificateRequest* req,
                               v1::Flow* out) override;

 private:
  Registration* domain_;
};

// The public view of a flow.
void ToProto(const Flow& flow, v1::Flow* out);

}  // namespace dvc::registration
