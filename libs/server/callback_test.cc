#include "libs/server/callback.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/http/http_client.h"
#include "libs/server/grpc_server.h"
#include "libs/status/errors.h"
#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"

namespace dvc::server {
namespace {

namespace pb = ::dvc::sigverify::v1;

// GetTrustStoreInfo: callback, answered inline. IssueChallenge: callback, answered on an
// executor. GetRemoteSignatureResult: an ordinary synchronous method beside them.
class MixedService final
    : public pb::SigverifyService::WithCallbackMethod_GetTrustStoreInfo<
          pb::SigverifyService::WithCallbackMethod_IssueChallenge<pb::SigverifyService::Service>> {
 public:
  explicit MixedService(BlockingExecutor* executor) : executor_(executor) {}

  grpc::ServerUnaryReactor* GetTrustStoreInfo(grpc::CallbackServerContext* ctx,
                                              const pb::GetTrustStoreInfoRequest*,
                                              pb::TrustStoreInfo* out) override {
    return HandleUnary(ctx, [&]() -> absl::Status {
      inline_request_id = log::CurrentRequestId();
      inline_thread = std::this_thread::get_id();
      if (fail) {
        return status::FailedPrecondition("TRUST_STORE_EMPTY", "", "Chưa có chứng thư gốc.",
                                          "No trust anchors are loaded.");
      }
      out->set_anchors(3);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* IssueChallenge(grpc::CallbackServerContext* ctx,
                                           const pb::IssueChallengeRequest* req,
                                           pb::Challenge* out) override {
    return HandleUnaryOn(executor_, ctx, [this, req, out]() -> absl::Status {
      offloaded_request_id = log::CurrentRequestId();
      offloaded_thread = std::this_thread::get_id();
      if (req->flow_id().empty()) {
        return status::InvalidArgument("FLOW_ID_REQUIRED", "flow_id", "Thiếu mã phiên.",
                                       "The flow id is missing.");
      }
      out->set_challenge_id("c-" + req->flow_id());
      return absl::OkStatus();
    });
  }

  grpc::Status GetRemoteSignatureResult(grpc::ServerContext* ctx,
                                        const pb::GetRemoteSignatureResultRequest*,
                                        pb::RemoteSignatureResult* out) override {
    return Handle(ctx, [&] {
      out->set_state(pb::RemoteSignatureResult::STATE_PENDING);
      return absl::OkStatus();
    });
  }

  bool fail = false;
  std::string inline_request_id, offloaded_request_id;
  std::thread::id inline_thread, offloaded_thread;

 private:
  BlockingExecutor* executor_;
};

class CallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Register(&svc_);
    ASSERT_TRUE(server_.Start().ok());
    stub_ = pb::SigverifyService::NewStub(
        Dial("127.0.0.1:" + std::to_string(server_.grpc_port())));
    // The executor's one thread, as seen by a task.
    absl::Notification seen;
    ASSERT_TRUE(executor_.Post([&] {
      executor_thread_ = std::this_thread::get_id();
      seen.Notify();
    }));
    seen.WaitForNotification();
  }
  void TearDown() override { server_.Shutdown(); }

  std::string Metrics() {
    http::HttpClient http;
    auto r = http.Do(http::HttpRequest{
        .method = "GET",
        .url = "http://127.0.0.1:" + std::to_string(server_.metrics_port()) + "/metrics"});
    return r.ok() ? r->body : "";
  }

  BlockingExecutor executor_{1, 1};
  MixedService svc_{&executor_};
  metrics::Registry registry_;
  GrpcServer server_{Options{.service_name = "t", .host = "127.0.0.1"}, &registry_};
  std::unique_ptr<pb::SigverifyService::Stub> stub_;
  std::thread::id executor_thread_;
};

TEST_F(CallbackTest, InlineHandlerAnswersMapsErrorsAndIsCounted) {
  pb::TrustStoreInfo info;
  grpc::ClientContext c1;
  c1.AddMetadata("x-request-id", "abc-123");
  ASSERT_TRUE(stub_->GetTrustStoreInfo(&c1, {}, &info).ok());
  EXPECT_EQ(info.anchors(), 3);
  EXPECT_EQ(svc_.inline_request_id, "abc-123");
  EXPECT_NE(svc_.inline_thread, std::this_thread::get_id());
  EXPECT_NE(svc_.inline_thread, executor_thread_);

  svc_.fail = true;
  auto c2 = ClientContext(absl::Seconds(5));
  grpc::Status g = stub_->GetTrustStoreInfo(c2.get(), {}, &info);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "TRUST_STORE_EMPTY");

  // The synchronous method of the same service still works.
  pb::RemoteSignatureResult rs;
  auto c3 = ClientContext(absl::Seconds(5));
  ASSERT_TRUE(stub_->GetRemoteSignatureResult(c3.get(), {}, &rs).ok());
  EXPECT_EQ(rs.state(), pb::RemoteSignatureResult::STATE_PENDING);

  const std::string m = Metrics();
  const std::string method = "grpc_method=\"/dvc.sigverify.v1.SigverifyService/GetTrustStoreInfo\"";
  EXPECT_NE(m.find("grpc_server_handled_total{" + method + ",grpc_code=\"OK\"} 1"),
            std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{" + method + ",grpc_code=\"FAILED_PRECONDITION\"} 1"),
            std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_handled_total{grpc_method=\"/dvc.sigverify.v1.SigverifyService/"
                   "GetRemoteSignatureResult\",grpc_code=\"OK\"} 1"),
            std::string::npos) << m;
}

TEST_F(CallbackTest, OffloadedHandlerFinishesFromTheExecutor) {
  pb::IssueChallengeRequest req;
  req.set_flow_id("f1");
  pb::Challenge ch;
  grpc::ClientContext c1;
  c1.AddMetadata("x-request-id", "req-77");
  ASSERT_TRUE(stub_->IssueChallenge(&c1, req, &ch).ok());
  EXPECT_EQ(ch.challenge_id(), "c-f1");
  EXPECT_EQ(svc_.offloaded_thread, executor_thread_);
  EXPECT_EQ(svc_.offloaded_request_id, "req-77");

  req.clear_flow_id();
  auto c2 = ClientContext(absl::Seconds(5));
  grpc::Status g = stub_->IssueChallenge(c2.get(), req, &ch);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "FLOW_ID_REQUIRED");
  EXPECT_NE(Metrics().find("grpc_server_handled_total{grpc_method=\"/dvc.sigverify.v1."
                           "SigverifyService/IssueChallenge\",grpc_code=\"INVALID_ARGUMENT\"} 1"),
            std::string::npos);
}

TEST_F(CallbackTest, FullExecutorAnswersServerBusy) {
  // Occupy the only thread and the only queue slot.
  absl::Notification release, started;
  ASSERT_TRUE(executor_.Post([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  absl::Notification queued_ran;
  ASSERT_TRUE(executor_.Post([&] { queued_ran.Notify(); }));
  EXPECT_FALSE(executor_.Post([] {}));

  pb::IssueChallengeRequest req;
  req.set_flow_id("f2");
  pb::Challenge ch;
  auto c = ClientContext(absl::Seconds(5));
  grpc::Status g = stub_->IssueChallenge(c.get(), req, &ch);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "SERVER_BUSY");
  release.Notify();

  // Once the queue has room again, calls go through.
  ASSERT_TRUE(queued_ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
  auto c2 = ClientContext(absl::Seconds(5));
  ASSERT_TRUE(stub_->IssueChallenge(c2.get(), req, &ch).ok());
  EXPECT_EQ(ch.challenge_id(), "c-f2");
}

TEST(BlockingExecutorTest, DestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    BlockingExecutor ex(2, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(ex.Post([&] { ran++; }));
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace dvc::server
