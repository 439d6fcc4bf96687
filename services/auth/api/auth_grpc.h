// gRPC handlers for dvc.auth.v1.AuthService: proto ↔ domain, nothing else.
//
// Introspect and GetJwks are served on gRPC's callback API (libs/server/callback.h): they answer
// from memory, and skipping the synchronous server's thread hand-off is what lets one replica
// introspect ≥ 10 000 tokens/s with a low p99 (docs/benchmarks.md). An introspection whose
// session state is not cached (≤ once per session per session_cache_ttl) or whose kid is unknown
// needs the database or the key directory: it moves to a small executor so gRPC's threads never
// block. Every other method blocks on PostgreSQL or another service and stays synchronous.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/server/callback.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "services/auth/domain/auth.h"

namespace dvc::auth {

using AuthServiceBase = v1::AuthService::WithCallbackMethod_Introspect<
    v1::AuthService::WithCallbackMethod_GetJwks<v1::AuthService::Service>>;

class AuthGrpc final : public AuthServiceBase {
 public:
  // `trusted_proxies`: peers (the REST gateway) whose ClientInfo.ip / X-Forwarded-For is believed.
  // `poll_interval`: the PollCertificateLogin interval suggested to clients.
  // `introspect_threads`: threads for the introspections that must wait for the database.
  // Destroy after the server's Shutdown().
  explicit AuthGrpc(AuthDomain* domain, std::vector<std::string> trusted_proxies = {},
                    absl::Duration poll_interval = absl::Seconds(2), int introspect_threads = 4)
      : domain_(domain),
        trusted_proxies_(std::move(trusted_proxies)),
        poll_interval_(poll_interval),
        blocking_(introspect_threads) {}

  grpc::Status CreateCaptcha(grpc::ServerContext* ctx, const v1::CreateCaptchaRequest* req,
                             v1::Captcha* out) override;
  grpc::Status StartPasswordLogin(grpc::ServerContext* ctx,
                                  const v1::StartPasswordLoginRequest* req,
                                  v1::LoginFlow* out) override;
  grpc::Status ResendLoginOtp(grpc::ServerContext* ctx, const v1::LoginFlowRef* req,
                              v1::LoginFlow* out) override;
  grpc::Status CompleteLogin(grpc::ServerContext* ctx, const v1::CompleteLoginRequest* req,
                             v1::TokenResponse* out) override;
  grpc::Status StartCertificateLogin(grpc::ServerContext* ctx,
                                     const v1::StartCertificateLoginRequest* req,
                                     v1::CertificateLoginFlow* out) override;
  grpc::Status CompleteCertificateLogin(grpc::ServerContext* ctx,
                                        const v1::CompleteCertificateLoginRequest* req,
                                        v1::TokenResponse* out) override;
  grpc::Status PollCertificateLogin(grpc::ServerContext* ctx, const v1::LoginFlowRef* req,
                                    v1::PollCertificateLoginResponse* out) override;
  grpc::Status Refresh(grpc::ServerContext* ctx, const v1::RefreshRequest* req,
                       v1::TokenResponse* out) override;
  grpc::Status Logout(grpc::ServerContext* ctx, const v1::LogoutRequest* req,
                      v1::LogoutResponse* out) override;
  grpc::ServerUnaryReactor* Introspect(grpc::CallbackServerContext* ctx,
                                       const v1::IntrospectRequest* req,
                                       v1::IntrospectResponse* out) override;
  grpc::ServerUnaryReactor* GetJwks(grpc::CallbackServerContext* ctx,
                                    const v1::GetJwksRequest* req,
                                    v1::GetJwksResponse* out) override;
  grpc::Status ListLoginHistory(grpc::ServerContext* ctx, const v1::ListLoginHistoryRequest* req,
                                v1::ListLoginHistoryResponse* out) override;

 private:
  AuthDomain* domain_;
  std::vector<std::string> trusted_proxies_;
  absl::Duration poll_interval_;
  server::BlockingExecutor blocking_;
};

}  // namespace dvc::auth
