// RemoteSigner for VNPT SmartCA (remote signing, REST/JSON; docs/simulators.md,
// tools/sim/simulators.py). Every request is a POST carrying sp_id/sp_password.
//
//   Start  POST {base}/v1/credentials/get_certificate {sp_id, sp_password, user_id, transaction_id}
//            → {status_code:200, data:{user_certificates:[{serial_number, cert_data (base64 DER),
//               chain_data:[base64 DER…] (issuers), …}]}}
//          The first certificate valid now (its own notBefore/notAfter) is used; its chain
//          (leaf first) is returned in RemoteSignStarted.chain_der.
//          POST {base}/v1/signatures/sign {sp_id, sp_password, user_id, transaction_id,
//            transaction_desc = display_text, serial_number, time_stamp (UTC yyyyMMddHHmmss),
//            sign_files:[{data_to_be_signed: hex SHA-256, doc_id: transaction_id,
//            file_type: "hash", sign_type: "hash"}]}
//            → {status_code:200, data:{transaction_id, tran_code}}: the provider transaction id.
//   Poll   POST {base}/v1/signatures/sign/{id}/status {sp_id, sp_password}
//            → data.status 4000 pending; 1 → data.signatures[0].signature_value (base64 PKCS#1)
//
// Mapping: status 4001 → SIGNER_TIMEOUT, 4002 → SIGNER_USER_CANCELLED, 4004 and any other →
// SIGNER_PROVIDER_ERROR; unknown user or certificate (a 404 whose JSON message names the user
// or the certificate) or no certificate valid now → SIGNER_NO_CERTIFICATE; HTTP 401/403 (our
// sp_id/sp_password refused: logged as a configuration problem), any other 404 or HTTP error,
// transport errors, oversized or malformed replies → SIGNER_PROVIDER_ERROR. A JSON body's
// status_code other than 200 counts as that HTTP status.
//
// No retries (Start is not idempotent: a second sign request is a second prompt in the user's
// app); every exchange is bounded by request_timeout. Thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/http/http_client.h"
#include "services/sigverify/domain/remote_signer.h"

namespace dvc::sigverify {

struct SmartCaConfig {
  std::string base_url;     // e.g. http://127.0.0.1:18085 (trailing slashes ignored)
  std::string sp_id;
  std::string sp_password;  // secret, never logged
  absl::Duration request_timeout = absl::Seconds(10);  // one HTTP exchange
  absl::Duration connect_timeout = absl::Seconds(3);
  size_t max_response_bytes = 256 * 1024;
  std::string ca_file;  // https: PEM CA bundle; empty = system store
};

class SmartCaClient final : public RemoteSigner {
 public:
  // `http` and `clock` must outlive the client.
  SmartCaClient(SmartCaConfig config, const http::HttpClient* http, Clock* clock);

  absl::StatusOr<RemoteSignStarted> Start(const RemoteSignRequest& request) override;
  absl::StatusOr<RemoteSignOutcome> Poll(const std::string& provider_transaction_id) override;

 private:
  http::HttpRequest JsonPost(absl::string_view path, std::string body) const;

  const SmartCaConfig config_;
  const http::HttpClient* const http_;
  Clock* const clock_;
};

}  // namespace dvc::sigverify
