#include "services/idv_gateway/adapters/http_telco.h"

#include <set>

#include "libs/jwt/json.h"
#include "libs/status/errors.h"
#include "services/idv_gateway/adapters/http_common.h"

namespace dvc::idv {

absl::StatusOr<SubscriberCheck> HttpTelcoProvider::VerifySubscriber(const SubscriberQuery& q,
                                                                    absl::Duration timeout) {
  http::HttpRequest req = BaseRequest("POST", TrimBaseUrl(base_url_) + "/v1/subscribers/verify",
                                      q.request_id, timeout);
  req.headers.push_back({"Content-Type", "application/json; charset=utf-8"});
  req.body = jwt::JsonObjectBuilder()
                 .String("request_id", q.request_id)
                 .String("msisdn", q.msisdn)
                 .String("id_number", q.id_number)
                 .String("full_name", q.full_name)
                 .String("date_of_birth", q.date_of_birth)
                 .Build();
  absl::StatusOr<http::HttpResponse> r = client_->Do(req);
  if (absl::Status s = TransportOutcome("telco", r); !s.ok()) return s;
  if (r->status == 400) {
    return status::InvalidArgument(
        "IDV_INPUT_REJECTED", "",
        "Nhà mạng từ chối thông tin tra cứu. Vui lòng kiểm tra lại số điện thoại và giấy tờ.",
        "The mobile carrier rejected the data. Please check the phone number and ID details.");
  }
  if (r->status != 200) return UnexpectedReply("telco", "http_status", r->status);

  absl::StatusOr<jwt::FlatJson> json = jwt::ParseFlatJson(r->body);
  if (!json.ok()) return UnexpectedReply("telco", "invalid_json", r->status);
  std::optional<bool> found = json->GetBool("subscriber_found");
  std::optional<bool> match = json->GetBool("match");
  if (!found || !match) return UnexpectedReply("telco", "missing_fields", r->status);
  SubscriberCheck out;
  out.subscriber_found = *found;
  out.match = *match;
  if (json->Has("mismatches")) {
    std::optional<std::vector<std::string>> mm = json->GetStringArray("mismatches");
    if (!mm) return UnexpectedReply("telco", "bad_mismatches", r->status);
    static const std::set<std::string> kKnown = {"id_number", "full_name", "date_of_birth"};
    for (const std::string& m : *mm) {
      if (kKnown.count(m) == 0) return UnexpectedReply("telco", "unknown_mismatch", r->status);
      out.mismatches.push_back(m);
    }
  }
  if (std::optional<std::string> carrier = json->GetString("carrier")) out.carrier = *carrier;
  return out;
}

}  // namespace dvc::idv
