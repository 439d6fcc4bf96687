#include "libs/server/call.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace dvc::server {

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen));
}

std::string RequestIdOf(const grpc::ServerContextBase* ctx) {
  if (ctx != nullptr) {
    const auto& md = ctx->client_metadata();
    auto it = md.find(kRequestIdHeader);
    if (it != md.end()) {
      std::string id;
      for (char c : it->second) {
        if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') id += c;
        if (id.size() >= 64) break;
      }
      if (!id.empty()) return id;
    }
  }
  return NewRequestId();
}

std::string PeerIp(const grpc::ServerContextBase* ctx) {
  if (ctx == nullptr) return "";
  std::string peer = ctx->peer();  // "ipv4:127.0.0.1:5555" or "ipv6:[::1]:5555"
  if (absl::StartsWith(peer, "ipv4:")) {
    std::string rest = peer.substr(5);
    return rest.substr(0, rest.rfind(':'));
  }
  if (absl::StartsWith(peer, "ipv6:[")) {
    std::string rest = peer.substr(6);
    return rest.substr(0, rest.find(']'));
  }
  return peer;
}

std::string ClientIp(const grpc::ServerContextBase* ctx, const std::string& claimed,
                     const std::vector<std::string>& trusted_proxies) {
  std::string peer = PeerIp(ctx);
  if (std::find(trusted_proxies.begin(), trusted_proxies.end(), peer) == trusted_proxies.end()) {
    return peer;
  }
  if (!claimed.empty()) return claimed.substr(0, 64);
  if (ctx != nullptr) {
    const auto& md = ctx->client_metadata();
    if (auto it = md.find("x-forwarded-for"); it != md.end()) {
      std::string v(it->second.data(), it->second.size());
      size_t comma = v.rfind(',');
      std::string last = comma == std::string::npos ? v : v.substr(comma + 1);
      last = std::string(absl::StripAsciiWhitespace(last));
      if (!last.empty()) return last.substr(0, 64);
    }
  }
  return peer;
}

std::unique_ptr<grpc::ClientContext> ClientContext(absl::Duration deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  const std::string& rid = log::CurrentRequestId();
  ctx->AddMetadata(kRequestIdHeader, rid.empty() ? NewRequestId() : rid);
  return ctx;
}

std::shared_ptr<grpc::Channel> Dial(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace dvc::server
