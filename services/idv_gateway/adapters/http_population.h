// PopulationProvider over the population-database HTTP/JSON protocol (docs/simulators.md):
//   GET {base}/v1/citizens/<cccd>
//   200 {"cccd","cmnd"?,"full_name","date_of_birth","gender":"male"|"female","place_of_birth",
//        "hometown","permanent_address",…}   404 → not found
// 400 → INVALID_ARGUMENT IDV_INPUT_REJECTED (field cccd); other 4xx or a malformed 200 →
// INTERNAL (logged); 5xx/408/429 → UNAVAILABLE and transport errors as they come (retryable).
// Gender is returned as "MALE" / "FEMALE" (the platform's convention).
#pragma once

#include <string>

#include "libs/http/http_client.h"
#include "services/idv_gateway/domain/idv.h"

namespace dvc::idv {

class HttpPopulationProvider final : public PopulationProvider {
 public:
  HttpPopulationProvider(const http::HttpClient* client, std::string base_url)
      : client_(client), base_url_(std::move(base_url)) {}

  absl::StatusOr<std::optional<CitizenRecord>> GetCitizen(const std::string& cccd,
                                                          const std::string& request_id,
                                                          absl::Duration timeout) override;

 private:
  const http::HttpClient* client_;
  std::string base_url_;
};

}  // namespace dvc::idv
