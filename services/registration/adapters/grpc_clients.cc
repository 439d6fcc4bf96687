#include "services/registration/adapters/grpc_clients.h"

#include <utility>

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::registration {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

// ---- idv_gateway ----

GrpcIdvClient::GrpcIdvClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(idv::v1::IdvGatewayService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<SubscriberAnswer> GrpcIdvClient::CheckSubscriber(const SubscriberQuery& q) {
  idv::v1::CheckSubscriberRequest req;
  req.set_request_id(q.request_id);
  req.set_phone(q.phone);
  req.set_id_number(q.id_number);
  req.set_full_name(q.full_name);
  req.set_date_of_birth(q.date_of_birth);
  idv::v1::CheckSubscriberResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->CheckSubscriber(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  SubscriberAnswer out;
  out.subscriber_found = resp.subscriber_found();
  out.match = resp.match();
  out.mismatches.assign(resp.mismatches().begin(), resp.mismatches().end());
  out.carrier = resp.carrier();
  return out;
}

// ---- accounts ----

GrpcAccountsClient::GrpcAccountsClient(std::shared_ptr<grpc::Channel> channel,
                                       absl::Duration deadline)
    : stub_(accounts::v1::AccountsService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<bool> GrpcAccountsClient::Exists(const std::string& id_number) {
  accounts::v1::FindAccountRequest req;
  req.set_id_number(id_number);
  accounts::v1::LookupAccountIdResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->LookupAccountId(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return resp.found();
}

absl::StatusOr<CreatedAccount> GrpcAccountsClient::CreateCitizen(const NewCitizenAccount& a) {
  accounts::v1::CreateCitizenAccountRequest req;
  req.set_request_id(a.request_id);
  auto* id = req.mutable_identity();
  if (a.identity.id_number.size() == 12) {
    id->set_cccd(a.identity.id_number);
  } else {
    id->set_cmnd(a.identity.id_number);
  }
  id->set_full_name(a.identity.full_name);
  id->set_date_of_birth(a.identity.date_of_birth);
  id->set_phone(a.identity.phone);
  id->set_email(a.identity.email);
  req.set_ial(a.ial);
  req.set_verification_source(a.verification_source);
  req.set_registration_method(a.registration_method);
  req.set_password(a.password);
  req.set_consent_version(a.consent_version);
  accounts::v1::Account resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->CreateCitizenAccount(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  CreatedAccount out;
  out.account_id = resp.account_id();
  out.ial = resp.ial();
  return out;
}

}  // namespace dvc::registration
