#include "libs/server/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/http/http_client.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"

namespace dvc::server {
namespace {

namespace pb = ::dvc::sigverify::v1;

// A service whose handler fails with a domain error, to check the mapping and the metrics.
class FailingService final : public pb::SigverifyService::Service {
  grpc::Status GetTrustStoreInfo(grpc::ServerContext* ctx, const pb::GetTrustStoreInfoRequest*,
                                 pb::TrustStoreInfo* out) override {
    return Handle(ctx, [&] {
      seen_request_id = log::CurrentRequestId();
      if (fail) {
        return status::FailedPrecondition("TRUST_STORE_EMPTY", "", "Chưa có chứng thư gốc.",
                                          "No trust anchors are loaded.");
      }
      out->set_anchors(3);
      return absl::OkStatus();
    });
  }

 public:
  bool fail = false;
  std::string seen_request_id;
};

// Records the kernel thread id of every call it serves.
class ThreadRecordingService final : public pb::SigverifyService::Service {
  grpc::Status GetTrustStoreInfo(grpc::ServerContext* ctx, const pb::GetTrustStoreInfoRequest*,
                                 pb::TrustStoreInfo* out) override {
    return Handle(ctx, [&] {
      {
        absl::MutexLock l(&mu);
        tids.insert(static_cast<long>(syscall(SYS_gettid)));
      }
      absl::SleepFor(absl::Milliseconds(2));  // overlap the concurrent calls
      out->set_anchors(1);
      return absl::OkStatus();
    });
  }

 public:
  absl::Mutex mu;
  std::set<long> tids ABSL_GUARDED_BY(mu);
};

// Waves of concurrent calls are served by a bounded set of threads: a thread that finished a
// call stays for the next one instead of exiting (gRPC's default kept 2 idle pollers, so most
// calls of a wave ran on a thread created for it).
TEST(GrpcServer, ConcurrentWavesReuseTheirThreads) {
  metrics::Registry reg;
  ThreadRecordingService svc;
  GrpcServer server(Options{.service_name = "t", .host = "127.0.0.1", .metrics_port = -1}, &reg);
  server.Register(&svc);
  ASSERT_TRUE(server.Start().ok());
  auto stub = pb::SigverifyService::NewStub(Dial("127.0.0.1:" + std::to_string(server.grpc_port())));
  constexpr int kConcurrent = 8, kWaves = 40;
  std::atomic<int> failed{0};
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> callers;
    for (int i = 0; i < kConcurrent; ++i) {
      callers.emplace_back([&] {
        pb::TrustStoreInfo info;
        auto ctx = ClientContext(absl::Seconds(10));
        if (!stub->GetTrustStoreInfo(ctx.get(), {}, &info).ok()) ++failed;
      });
    }
    for (auto& t : callers) t.join();
  }
  EXPECT_EQ(failed.load(), 0);
  absl::MutexLock l(&svc.mu);
  // 320 calls; with threads kept, about kConcurrent + a few pollers serve them all.
  EXPECT_LE(svc.tids.size(), static_cast<size_t>(3 * kConcurrent)) << svc.tids.size();
  server.Shutdown();
}

TEST(GrpcServer, ServesHealthMetricsAndMapsErrors) {
  metrics::Registry reg;
  FailingService svc;
  GrpcServer server(Options{.service_name = "t", .host = "127.0.0.1"}, &reg);
  server.Register(&svc);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.grpc_port(), 0);
  auto ch = Dial("127.0.0.1:" + std::to_string(server.grpc_port()));
  auto stub = pb::SigverifyService::NewStub(ch);

  pb::TrustStoreInfo info;
  pb::GetTrustStoreInfoRequest req;
  grpc::ClientContext c1;
  c1.AddMetadata("x-request-id", "abc-123");
  ASSERT_TRUE(stub->GetTrustStoreInfo(&c1, req, &info).ok());
  EXPECT_EQ(info.anchors(), 3);
  EXPECT_EQ(svc.seen_request_id, "abc-123");

  svc.fail = true;
  auto c2 = ClientContext(absl::Seconds(5));
  grpc::Status g = stub->GetTrustStoreInfo(c2.get(), req, &info);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "TRUST_STORE_EMPTY");

  http::HttpClient http;
  auto r = http.Do(http::HttpRequest{
      .method = "GET", .url = "http://127.0.0.1:" + std::to_string(server.metrics_port()) + "/metrics"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("grpc_server_handled_total{grpc_method=\"/dvc.sigverify.v1.SigverifyService/GetTrustStoreInfo\",grpc_code=\"FAILED_PRECONDITION\"} 1"),
            std::string::npos) << r->body;
  EXPECT_NE(r->body.find("grpc_server_handling_seconds_count"), std::string::npos);

  // Standard gRPC health protocol: SERVING, then NOT_SERVING once shutdown begins.
  auto hstub = grpc::health::v1::Health::NewStub(ch);
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  grpc::ClientContext c3;
  ASSERT_TRUE(hstub->Check(&c3, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  server.SetServing(false);
  grpc::ClientContext c4;
  ASSERT_TRUE(hstub->Check(&c4, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  server.Shutdown();
}

}  // namespace
}  // namespace dvc::server
