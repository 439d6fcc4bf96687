#include "services/otp/adapters/http_sms_sender.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/jwt/json.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::otp {

HttpSmsSender::HttpSmsSender(HttpSmsOptions options) : options_(std::move(options)) {
  std::string base = options_.base_url;
  while (absl::EndsWith(base, "/")) base.pop_back();
  url_ = base + "/v1/sms";
}

std::string HttpSmsSender::Body(const SmsMessage& m) const {
  return jwt::JsonObjectBuilder()
      .String("to", m.to)
      .String("text", m.text)
      .String("sender", options_.sender)
      .String("message_id", m.message_id)
      .Build();
}

absl::Status HttpSmsSender::Send(const SmsMessage& m) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = Body(m);
  req.timeout = options_.timeout;
  req.connect_timeout = options_.connect_timeout;
  req.max_response_bytes = 64 << 10;
  absl::StatusOr<http::HttpResponse> resp = client_.Do(req);
  if (!resp.ok()) {
    log::Warn("sms.transport_error", {{"message_id", m.message_id},
                                      {"reason", status::ReasonOf(resp.status())}});
    return resp.status();
  }
  if (resp->status >= 200 && resp->status < 300) return absl::OkStatus();
  log::Warn("sms.gateway_refused", {{"message_id", m.message_id},
                                    {"http_status", absl::StrCat(resp->status)}});
  return status::WithMetadata(
      status::Unavailable("SMS_GATEWAY_ERROR", "Cổng SMS từ chối tin nhắn.",
                          "The SMS gateway refused the message."),
      "http_status", absl::StrCat(resp->status));
}

}  // namespace dvc::otp
