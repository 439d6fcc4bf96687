#include <iostream>
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "protos/dvc/idv/v1/idv.grpc.pb.h"
int main(int argc, char** argv) {
  auto stub = dvc::idv::v1::IdvGatewayService::NewStub(dvc::server::Dial(argv[1]));
  std::string op = argv[2];
  grpc::Status g;
  if (op == "check") {
    dvc::idv::v1::CheckSubscriberRequest r; r.set_request_id("smoke-1"); r.set_phone(argv[3]); r.set_id_number(argv[4]); r.set_full_name(argv[5]); r.set_date_of_birth(argv[6]);
    dvc::idv::v1::CheckSubscriberResponse out;
    auto ctx = dvc::server::ClientContext(absl::Seconds(10));
    g = stub->CheckSubscriber(ctx.get(), r, &out);
    std::cout << out.DebugString();
  } else {
    dvc::idv::v1::LookupCitizenRequest r; r.set_cccd(argv[3]);
    dvc::idv::v1::LookupCitizenResponse out;
    auto ctx = dvc::server::ClientContext(absl::Seconds(10));
    g = stub->LookupCitizen(ctx.get(), r, &out);
    std::cout << out.DebugString();
  }
  auto s = dvc::status::FromGrpcStatus(g);
  std::cout << "status=" << g.error_code() << " reason=" << dvc::status::ReasonOf(s) << " " << g.error_message() << "\n";
}
