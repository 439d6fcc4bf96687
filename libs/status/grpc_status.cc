#include "libs/status/grpc_status.h"

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/error_info.pb.h"
#include "google/rpc/status.pb.h"
#include "libs/status/errors.h"

namespace dvc::status {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(s.code()));
  auto info = GetErrorInfo(s);
  if (!info.has_value()) {
    // Statuses without our payload come from libraries or transports (e.g. a peer's connection
    // failure); their text may hold addresses or internals, so the client gets a generic error
    // with the same retry semantics.
    switch (s.code()) {
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kAborted:
      case absl::StatusCode::kResourceExhausted:
        return ToGrpcStatus(MakeError(
            s.code(), ErrorInfo{"TEMPORARILY_UNAVAILABLE", "",
                                "Hệ thống đang bận hoặc tạm thời gián đoạn, vui lòng thử lại sau ít phút.",
                                "The service is busy or temporarily unavailable; please try again in a few minutes.",
                                {}}));
      default:
        return ToGrpcStatus(Internal());
    }
  }
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(s.code()));
  rpc.set_message(info->message_en);
  google::rpc::ErrorInfo ei;
  ei.set_reason(info->reason);
  ei.set_domain(kErrorDomain);
  for (const auto& [k, v] : info->metadata) (*ei.mutable_metadata())[k] = v;
  if (!info->field.empty()) (*ei.mutable_metadata())["field"] = info->field;
  rpc.add_details()->PackFrom(ei);
  if (!info->field.empty()) {
    google::rpc::BadRequest br;
    auto* v = br.add_field_violations();
    v->set_field(info->field);
    v->set_description(info->message_en);
    rpc.add_details()->PackFrom(br);
  }
  google::rpc::LocalizedMessage vi;
  vi.set_locale("vi-VN");
  vi.set_message(info->message_vi);
  rpc.add_details()->PackFrom(vi);
  google::rpc::LocalizedMessage en;
  en.set_locale("en-US");
  en.set_message(info->message_en);
  rpc.add_details()->PackFrom(en);
  return grpc::Status(code, info->message_en, rpc.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(static_cast<int>(s.error_code()));
  google::rpc::Status rpc;
  if (s.error_details().empty() || !rpc.ParseFromString(s.error_details())) {
    return absl::Status(code, s.error_message());
  }
  ErrorInfo info;
  info.message_en = s.error_message();
  for (const auto& any : rpc.details()) {
    google::rpc::ErrorInfo ei;
    google::rpc::LocalizedMessage lm;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&ei)) {
      info.reason = ei.reason();
      for (const auto& [k, v] : ei.metadata()) {
        if (k == "field") {
          info.field = v;
        } else {
          info.metadata[k] = v;
        }
      }
    } else if (any.Is<google::rpc::LocalizedMessage>() && any.UnpackTo(&lm)) {
      if (lm.locale() == "vi-VN") info.message_vi = lm.message();
      if (lm.locale() == "en-US") info.message_en = lm.message();
    }
  }
  return MakeError(code, info);
}

}  // namespace dvc::status
