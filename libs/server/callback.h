// Unary handlers on gRPC's callback API, for RPCs that are cheap and answer from memory (e.g.
// token introspection). A callback method runs on the gRPC thread that read the request, so it
// does not pay the synchronous server's hand-off to its thread pool (two futex wake-ups per
// call). The per-RPC metrics and access logs of GrpcServer's interceptor apply as for
// synchronous methods, and errors map exactly as with Handle() (call.h).
//
// A service mixes both kinds with the generated templates: the cheap methods become callback
// methods, every other method stays synchronous:
//
//   class Api final : public v1::Foo::WithCallbackMethod_Get<v1::Foo::Service> {
//     grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const v1::GetRequest* req,
//                                   v1::GetResponse* out) override {
//       return server::HandleUnary(ctx, [&] { out->set_x(cache_.Get(req->key())); return absl::OkStatus(); });
//     }
//   };
//
// The body of HandleUnary runs on one of gRPC's own threads: it must not block (no database,
// file or network access). A handler that only sometimes must (a cache miss) answers the common
// case with HandleUnary and hands the rest to a BlockingExecutor with HandleUnaryOn, which
// finishes the call from one of the executor's threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "libs/server/call.h"

namespace dvc::server {

// Runs `body` (returning absl::Status) now, on the calling gRPC thread, with the request id in
// the log scope, and finishes the call with its status.
template <typename F>
grpc::ServerUnaryReactor* HandleUnary(grpc::CallbackServerContext* ctx, F&& body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(Handle(ctx, std::forward<F>(body)));
  return reactor;
}

// A fixed set of threads for the blocking part of callback handlers. Bounded: when `max_queued`
// tasks are waiting, Post refuses (the caller answers UNAVAILABLE rather than queueing without
// limit). The destructor runs what is queued, then joins: destroy it after the server's
// Shutdown() (calls still queued must be finished for Shutdown to complete).
class BlockingExecutor final {
 public:
  explicit BlockingExecutor(int threads, size_t max_queued = 10000);
  ~BlockingExecutor();
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // False when refused (queue full or stopping); the task was not run then.
  bool Post(std::function<void()> task);

 private:
  void Run();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// UNAVAILABLE SERVER_BUSY: the executor's queue is full.
absl::Status ServerBusy();

// Runs `body` on `executor` and finishes the call from there. The body runs after the handler
// has returned: capture by value (the context, request and response pointers stay valid until
// the call is finished), never the handler's locals by reference.
template <typename F>
grpc::ServerUnaryReactor* HandleUnaryOn(BlockingExecutor* executor,
                                        grpc::CallbackServerContext* ctx, F body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  bool posted = executor->Post([ctx, reactor, body = std::move(body)]() mutable {
    reactor->Finish(Handle(ctx, body));
  });
  if (!posted) reactor->Finish(Handle(ctx, [] { return ServerBusy(); }));
  return reactor;
}

}  // namespace dvc::server
