// RemoteSigner for SIM signatures: an MSSP speaking ETSI TS 102 204 over SOAP 1.2
// (docs/simulators.md, tools/sim/simulators.py), asynchronous client-server mode.
//
//   Start  POST {url}  MSS_Signature(MSS_SignatureReq MessagingMode="asynchClientServer"
//          TimeOut=<s>: AP_Info{AP_ID, AP_PWD, AP_TransID = request.transaction_id, Instant},
//          MSSP_Info/MSSP_ID/URI, MobileUser/MSISDN, DataToBeSigned = base64 DER DigestInfo of
//          the SHA-256 hash, DataToBeDisplayed, [SignatureProfile], MSS_Format = PKCS#1)
//          → 100 REQUEST_OK with MSS_SignatureResp/@MSSP_TransID (the provider transaction id)
//   Poll   POST {url}  MSS_StatusQuery(MSS_StatusReq MSSP_TransID=…)
//          → 504 pending; 500/502 MSS_Signature/Base64Signature (+ the signer's chain in the
//          simulator-defined StatusDetail/{urn:dvc:sim:mssp:v1}SignerCertificate/X509Certificate)
//
// Status codes (in a response, or in a SOAP fault's Detail/Status/StatusCode@Value, else its
// Subcode "mss:_NNN") map to the SIGNER_* reasons of domain/remote_signer.h:
//   401 → SIGNER_USER_CANCELLED, 208 → SIGNER_TIMEOUT, 402/403 → SIGNER_PIN_BLOCKED,
//   404/422 → SIGNER_NO_CERTIFICATE, 105 UNKNOWN_CLIENT → SIGNER_NO_CERTIFICATE ("this phone
//   number has no SIM signature service"), 209 → SIGNER_UNREACHABLE, 503 → SIGNATURE_INVALID,
//   501 → CERT_REVOKED; 101/102/104/900, any other code, HTTP statuses other than 200/500,
//   SOAP faults without a status, transport errors, oversized or malformed replies
//   → SIGNER_PROVIDER_ERROR (logged without personal data; 104 logged as an AP credential
//   problem).
//
// Responses are parsed with libxml2: no network, no entity substitution, documents with a DTD
// are rejected outright, elements matched by namespace URI and local name.
//
// No retries and no circuit breaker here: Start is not idempotent (a retry would send a second
// prompt to the phone), a failed Poll is simply polled again by the caller, and every exchange
// is bounded by request_timeout. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/http/http_client.h"
#include "services/sigverify/domain/remote_signer.h"

namespace dvc::sigverify {

struct MsspConfig {
  std::string url;          // the SOAP endpoint, e.g. http://127.0.0.1:18084/soap
  std::string ap_id;        // AP_ID
  std::string ap_password;  // AP_PWD: secret, never logged
  std::string mssp_id;      // MSSP_ID URI, e.g. http://mssp.sim.dvc.local
  std::string signature_profile;  // SignatureProfile URI; empty = the MSSP's default
  absl::Duration request_timeout = absl::Seconds(10);  // one HTTP exchange
  absl::Duration connect_timeout = absl::Seconds(3);
  size_t max_response_bytes = 256 * 1024;
  // Mutual TLS (https URLs): PEM files; empty = none / system CA store.
  std::string ca_file;
  std::string client_cert_file;
  std::string client_key_file;
};

class MsspClient final : public RemoteSigner {
 public:
  // `http` and `clock` must outlive the client.
  MsspClient(MsspConfig config, const http::HttpClient* http, Clock* clock);

  absl::StatusOr<RemoteSignStarted> Start(const RemoteSignRequest& request) override;
  absl::StatusOr<RemoteSignOutcome> Poll(const std::string& provider_transaction_id) override;

 private:
  http::HttpRequest SoapRequest(std::string body) const;
  std::string ApInfoXml(absl::string_view ap_trans_id) const;

  const MsspConfig config_;
  const http::HttpClient* const http_;
  Clock* const clock_;
  std::atomic<uint64_t> query_counter_{0};
};

// Exposed for tests: the TimeOut attribute sent for `timeout` (whole seconds rounded up,
// clamped to 1…3600).
int MssTimeoutSeconds(absl::Duration timeout);

}  // namespace dvc::sigverify
