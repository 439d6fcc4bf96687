// The single mapping between the domain error model (libs/status/errors.h) and gRPC.
// On the wire: grpc::Status(code, English message, details = google.rpc.Status carrying
// google.rpc.ErrorInfo{reason, domain "dvc.gov.vn", metadata incl. "field"},
// google.rpc.BadRequest (when a field is at fault) and google.rpc.LocalizedMessage for vi-VN and en-US).
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace dvc::status {

inline constexpr char kErrorDomain[] = "dvc.gov.vn";

grpc::Status ToGrpcStatus(const absl::Status& s);
absl::Status FromGrpcStatus(const grpc::Status& s);

}  // namespace dvc::status
