// TelcoProvider over the telco subscriber-check HTTP/JSON protocol (docs/simulators.md):
//   POST {base}/v1/subscribers/verify
//   {"request_id","msisdn":"84…","id_number","full_name","date_of_birth"}
//   200 {"subscriber_found":bool,"match":bool,"mismatches":[…],"carrier":"VIETTEL"|null,…}
// 400 → INVALID_ARGUMENT IDV_INPUT_REJECTED; other 4xx or a malformed 200 → INTERNAL (logged);
// 5xx/408/429 → UNAVAILABLE and transport errors as they come (retryable).
#pragma once

#include <string>

#include "libs/http/http_client.h"
#include "services/idv_gateway/domain/idv.h"

namespace dvc::idv {

class HttpTelcoProvider final : public TelcoProvider {
 public:
  HttpTelcoProvider(const http::HttpClient* client, std::string base_url)
      : client_(client), base_url_(std::move(base_url)) {}

  absl::StatusOr<SubscriberCheck> VerifySubscriber(const SubscriberQuery& q,
                                                   absl::Duration timeout) override;

 private:
  const http::HttpClient* client_;
  std::string base_url_;
};

}  // namespace dvc::idv
