// Per-call helpers shared by every service's API handlers and gRPC clients.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/logging/log.h"
#include "libs/status/grpc_status.h"

namespace dvc::server {

inline constexpr char kRequestIdHeader[] = "x-request-id";

// The server-side helpers take grpc::ServerContextBase, the base of both the synchronous
// grpc::ServerContext and the callback API's grpc::CallbackServerContext (libs/server/callback.h).

// The caller's x-request-id (sanitised, ≤ 64 chars) or a fresh random one.
std::string RequestIdOf(const grpc::ServerContextBase* ctx);
std::string NewRequestId();
// The transport peer's address ("ip", no port).
std::string PeerIp(const grpc::ServerContextBase* ctx);
// The end user's address for throttles and login history. A caller-supplied address (the
// request's own field, else the rightmost X-Forwarded-For entry) is believed only when the
// transport peer is one of `trusted_proxies` (the REST gateway); anyone else is identified by
// the peer address, so a client cannot pick the address its attempts are counted under.
std::string ClientIp(const grpc::ServerContextBase* ctx, const std::string& claimed,
                     const std::vector<std::string>& trusted_proxies);

// Runs a handler body with the request id in the log scope and maps its status to gRPC:
//   return server::Handle(ctx, [&] { return impl_.DoThing(...); });
template <typename F>
grpc::Status Handle(const grpc::ServerContextBase* ctx, F&& body) {
  log::ScopedRequestId scope(RequestIdOf(ctx));
  absl::Status s = body();
  return status::ToGrpcStatus(s);
}

// A client context for a cross-service call: deadline always set, request id propagated.
std::unique_ptr<grpc::ClientContext> ClientContext(absl::Duration deadline);

// An insecure channel (mTLS is terminated by the mesh in Kubernetes) with keepalive settings.
std::shared_ptr<grpc::Channel> Dial(const std::string& target);

}  // namespace dvc::server
