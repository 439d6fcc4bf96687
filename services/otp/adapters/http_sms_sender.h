// SmsSender over HTTP/JSON for the dev/test SMS sink (tools/sim/simulators.py) and gateways
// speaking the same protocol:
//   POST <sms_url>/v1/sms  {"to":"84…","text":"…","sender":"DVCQG","message_id":"<id>.<seq>"}
//   → 2xx (202 Accepted); the gateway deduplicates on message_id, so a retried POST is safe.
// Any other status → UNAVAILABLE SMS_GATEWAY_ERROR (metadata http_status); transport errors
// keep libs/http's reasons (UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT). Neither the number nor the
// text is ever logged.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "libs/http/http_client.h"
#include "services/otp/domain/ports.h"

namespace dvc::otp {

struct HttpSmsOptions {
  std::string base_url;  // e.g. http://127.0.0.1:18083
  std::string sender = "DVCQG";
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(2);
};

class HttpSmsSender final : public SmsSender {
 public:
  explicit HttpSmsSender(HttpSmsOptions options);
  absl::Status Send(const SmsMessage& m) override;

  // The JSON body posted for `m` (exposed for tests).
  std::string Body(const SmsMessage& m) const;

 private:
  HttpSmsOptions options_;
  std::string url_;
  http::HttpClient client_;
};

}  // namespace dvc::otp
