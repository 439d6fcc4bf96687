#include "services/idv_gateway/api/idv_grpc.h"

#include <chrono>

#include "libs/server/call.h"

namespace dvc::idv {
namespace {

// Time kept back from the caller's deadline so that a provider failure still reaches the caller
// as IDV_PROVIDER_UNAVAILABLE rather than as its own DEADLINE_EXCEEDED.
constexpr absl::Duration kAnswerMargin = absl::Milliseconds(200);

// The incoming call's deadline minus the margin; InfiniteFuture when the client set none.
absl::Time DeadlineOf(const grpc::ServerContext* ctx) {
  const auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(d) - kAnswerMargin;
}

}  // namespace

grpc::Status IdvGrpc::CheckSubscriber(grpc::ServerContext* ctx,
                                      const v1::CheckSubscriberRequest* req,
                                      v1::CheckSubscriberResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    CheckSubscriberInput in{.request_id = req->request_id().empty() ? server::RequestIdOf(ctx)
                                                                    : req->request_id(),
                            .phone = req->phone(),
                            .id_number = req->id_number(),
                            .full_name = req->full_name(),
                            .date_of_birth = req->date_of_birth()};
    absl::StatusOr<SubscriberCheck> r = gateway_->CheckSubscriber(in, DeadlineOf(ctx));
    if (!r.ok()) return r.status();
    out->set_subscriber_found(r->subscriber_found);
    out->set_match(r->match);
    for (const std::string& m : r->mismatches) out->add_mismatches(m);
    out->set_carrier(r->carrier);
    return absl::OkStatus();
  });
}

grpc::Status IdvGrpc::LookupCitizen(grpc::ServerContext* ctx, const v1::LookupCitizenRequest* req,
                                    v1::LookupCitizenResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    absl::StatusOr<std::optional<CitizenRecord>> r =
        gateway_->LookupCitizen(req->cccd(), server::RequestIdOf(ctx), DeadlineOf(ctx));
    if (!r.ok()) return r.status();
    out->set_found(r->has_value());
    if (r->has_value()) {
      const CitizenRecord& c = **r;
      out->set_full_name(c.full_name);
      out->set_date_of_birth(c.date_of_birth);
      out->set_gender(c.gender);
      out->set_place_of_birth(c.place_of_birth);
      out->set_hometown(c.hometown);
      out->set_permanent_address(c.permanent_address);
      out->set_cmnd(c.cmnd);
    }
    return absl::OkStatus();
  });
}

}  // namespace dvc::idv
