#include "libs/server/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

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
