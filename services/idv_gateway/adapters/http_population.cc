#include "services/idv_gateway/adapters/http_population.h"

#include "libs/jwt/json.h"
#include "libs/status/errors.h"
#include "services/idv_gateway/adapters/http_common.h"

namespace dvc::idv {

absl::StatusOr<std::optional<CitizenRecord>> HttpPopulationProvider::GetCitizen(
    const std::string& cccd, const std::string& request_id, absl::Duration timeout) {
  // `cccd` was validated as 12 digits: safe in a path segment as is.
  http::HttpRequest req = BaseRequest("GET", TrimBaseUrl(base_url_) + "/v1/citizens/" + cccd,
                                      request_id, timeout);
  absl::StatusOr<http::HttpResponse> r = client_->Do(req);
  if (absl::Status s = TransportOutcome("population", r); !s.ok()) return s;
  if (r->status == 404) return std::optional<CitizenRecord>();
  if (r->status == 400) {
    return status::InvalidArgument(
        "IDV_INPUT_REJECTED", "cccd",
        "Cơ sở dữ liệu dân cư không chấp nhận số CCCD này. Vui lòng kiểm tra lại.",
        "The population database does not accept this CCCD number. Please check it.");
  }
  if (r->status != 200) return UnexpectedReply("population", "http_status", r->status);

  absl::StatusOr<jwt::FlatJson> json = jwt::ParseFlatJson(r->body);
  if (!json.ok()) return UnexpectedReply("population", "invalid_json", r->status);
  CitizenRecord c;
  std::optional<std::string> got_cccd = json->GetString("cccd");
  std::optional<std::string> name = json->GetString("full_name");
  std::optional<std::string> dob = json->GetString("date_of_birth");
  if (!got_cccd || *got_cccd != cccd || !name || !dob) {
    return UnexpectedReply("population", "missing_fields", r->status);
  }
  c.cccd = *got_cccd;
  c.full_name = *name;
  c.date_of_birth = *dob;
  const std::string gender = json->GetString("gender").value_or("");
  if (gender == "male") c.gender = "MALE";
  else if (gender == "female") c.gender = "FEMALE";
  else if (!gender.empty()) return UnexpectedReply("population", "bad_gender", r->status);
  c.cmnd = json->GetString("cmnd").value_or("");
  c.place_of_birth = json->GetString("place_of_birth").value_or("");
  c.hometown = json->GetString("hometown").value_or("");
  c.permanent_address = json->GetString("permanent_address").value_or("");
  return std::optional<CitizenRecord>(std::move(c));
}

}  // namespace dvc::idv
