#include "services/sigverify/adapters/smartca_client.h"

#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/encoding.h"
#include "libs/jwt/json.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

constexpr size_t kMaxSignatureBytes = 16 * 1024;
constexpr size_t kMaxCertificateBytes = 16 * 1024;
constexpr size_t kMaxChainCertificates = 8;
constexpr size_t kMaxCertificatesListed = 32;
constexpr size_t kMaxIdLength = 256;

absl::Status ProviderError(absl::string_view op, absl::string_view what,
                           absl::string_view key = "", std::string value = "",
                           log::Level level = log::Level::kWarn) {
  return RemoteProviderError("smartca", op, what, key, std::move(value), level);
}

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
  }
  return true;
}

// Splits the text of a JSON array (already validated by ParseFlatJson) into its elements' raw
// texts. nullopt when `raw` is not an array.
std::optional<std::vector<std::string>> SplitJsonArray(absl::string_view raw) {
  raw = absl::StripAsciiWhitespace(raw);
  if (raw.size() < 2 || raw.front() != '[' || raw.back() != ']') return std::nullopt;
  std::vector<std::string> out;
  const absl::string_view inner = raw.substr(1, raw.size() - 2);
  int depth = 0;
  bool in_string = false;
  bool escape = false;
  size_t start = 0;
  for (size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.emplace_back(absl::StripAsciiWhitespace(inner.substr(start, i - start)));
      start = i + 1;
    }
  }
  const absl::string_view last = absl::StripAsciiWhitespace(inner.substr(start));
  if (!last.empty() || !out.empty()) out.emplace_back(last);
  return out;
}

// The members of the JSON object `key` of `parent`.
std::optional<jwt::FlatJson> NestedObject(const jwt::FlatJson& parent, absl::string_view key) {
  auto it = parent.fields().find(key);
  if (it == parent.fields().end() || it->second.type != jwt::FlatJson::Type::kObject) {
    return std::nullopt;
  }
  absl::StatusOr<jwt::FlatJson> obj = jwt::ParseFlatJson(it->second.text);
  if (!obj.ok()) return std::nullopt;
  return *std::move(obj);
}

// The elements of the JSON array `key` of `parent` that are objects (nullopt when `key` is not
// an array or holds anything but objects).
std::optional<std::vector<jwt::FlatJson>> ObjectArray(const jwt::FlatJson& parent,
                                                       absl::string_view key) {
  auto it = parent.fields().find(key);
  if (it == parent.fields().end() || it->second.type != jwt::FlatJson::Type::kArray) {
    return std::nullopt;
  }
  std::optional<std::vector<std::string>> items = SplitJsonArray(it->second.text);
  if (!items) return std::nullopt;
  std::vector<jwt::FlatJson> out;
  for (const std::string& item : *items) {
    absl::StatusOr<jwt::FlatJson> obj = jwt::ParseFlatJson(item);
    if (!obj.ok()) return std::nullopt;
    out.push_back(*std::move(obj));
  }
  return out;
}

std::string PercentEncodeSegment(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

enum class Validity { kValid, kNotValidNow, kMalformed };

Validity CheckValidity(absl::string_view der, absl::Time now) {
  if (der.empty() || der.size() > kMaxCertificateBytes) return Validity::kMalformed;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, X509Free> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return Validity::kMalformed;
  }
  time_t t = absl::ToTimeT(now);
  const int nb = X509_cmp_time(X509_get0_notBefore(x.get()), &t);
  const int na = X509_cmp_time(X509_get0_notAfter(x.get()), &t);
  if (nb == 0 || na == 0) return Validity::kMalformed;
  return nb < 0 && na > 0 ? Validity::kValid : Validity::kNotValidNow;
}

// What one exchange came to: the reply's "data" object, or 404 (left to the caller).
struct DataOrNotFound {
  bool not_found = false;
  jwt::FlatJson data;
};

}  // namespace

SmartCaClient::SmartCaClient(SmartCaConfig config, const http::HttpClient* http, Clock* clock)
    : config_(std::move(config)), http_(http), clock_(clock) {}

http::HttpRequest SmartCaClient::JsonPost(absl::string_view path, std::string body) const {
  absl::string_view base = config_.base_url;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  http::HttpRequest req;
  req.method = "POST";
  req.url = absl::StrCat(base, path);
  req.headers = {{"Content-Type", "application/json; charset=utf-8"},
                 {"Accept", "application/json"}};
  req.body = std::move(body);
  req.timeout = config_.request_timeout;
  req.connect_timeout = std::min(config_.connect_timeout, config_.request_timeout);
  req.max_response_bytes = config_.max_response_bytes;
  req.ca_file = config_.ca_file;
  return req;
}

namespace {

absl::StatusOr<DataOrNotFound> Exchange(const http::HttpClient& http,
                                        const http::HttpRequest& req, absl::string_view op) {
  absl::StatusOr<http::HttpResponse> r = http.Do(req);
  if (!r.ok()) return ProviderError(op, "transport", "cause", status::ReasonOf(r.status()));
  absl::StatusOr<jwt::FlatJson> json = jwt::ParseFlatJson(r->body);
  int code = r->status;
  if (code == 200 && json.ok()) {
    if (std::optional<int64_t> sc = json->GetInt("status_code")) {
      code = *sc >= 100 && *sc <= 999 ? static_cast<int>(*sc) : 0;
    } else if (json->Has("status_code")) {
      code = 0;
    }
  }
  if (code == 401 || code == 403) {
    return ProviderError(op, "sp_credentials_refused_check_configuration", "http_status",
                         absl::StrCat(code), log::Level::kError);
  }
  if (code == 404) {
    // "user_not_found" / "certificate_not_found"; a 404 about anything else (a wrong base URL)
    // is a provider error.
    std::string message =
        json.ok() ? absl::AsciiStrToLower(json->GetString("message").value_or("")) : "";
    if (message.find("user") == std::string::npos && message.find("cert") == std::string::npos) {
      return ProviderError(op, "http_status", "http_status", "404");
    }
    DataOrNotFound out;
    out.not_found = true;
    return out;
  }
  if (code != 200) return ProviderError(op, "http_status", "http_status", absl::StrCat(code));
  if (!json.ok()) return ProviderError(op, "malformed_json");
  std::optional<jwt::FlatJson> data = NestedObject(*json, "data");
  if (!data) return ProviderError(op, "missing_data");
  DataOrNotFound out;
  out.data = *std::move(data);
  return out;
}

}  // namespace

absl::StatusOr<RemoteSignStarted> SmartCaClient::Start(const RemoteSignRequest& request) {
  if (request.digest_sha256.size() != 32 || !ValidId(request.transaction_id)) {
    log::Error("remote_signer.bad_request", {{"provider", "smartca"}});
    return status::Internal();
  }
  if (request.subscriber.empty() || request.subscriber.size() > 128) {
    return status::InvalidArgument("SUBSCRIBER_INVALID", "subscriber",
                                   "Tài khoản SmartCA không hợp lệ.",
                                   "The SmartCA user id is missing or malformed.");
  }

  // 1. The user's certificates: the first one valid now.
  absl::StatusOr<DataOrNotFound> certs = Exchange(
      *http_,
      JsonPost("/v1/credentials/get_certificate",
               jwt::JsonObjectBuilder()
                   .String("sp_id", config_.sp_id)
                   .String("sp_password", config_.sp_password)
                   .String("user_id", request.subscriber)
                   .String("transaction_id", request.transaction_id)
                   .Build()),
      "get_certificate");
  if (!certs.ok()) return certs.status();
  if (certs->not_found) return RemoteSignerError("SIGNER_NO_CERTIFICATE");
  std::optional<std::vector<jwt::FlatJson>> list = ObjectArray(certs->data, "user_certificates");
  if (!list) {
    if (!certs->data.Has("user_certificates")) return RemoteSignerError("SIGNER_NO_CERTIFICATE");
    return ProviderError("get_certificate", "bad_user_certificates");
  }
  const absl::Time now = clock_->Now();
  std::string serial;
  std::vector<std::string> chain;
  bool malformed = false;
  for (size_t i = 0; i < list->size() && i < kMaxCertificatesListed && chain.empty(); ++i) {
    const jwt::FlatJson& c = (*list)[i];
    std::optional<std::string> cert_b64 = c.GetString("cert_data");
    std::optional<std::string> der = cert_b64 ? crypto::Base64Decode(*cert_b64) : std::nullopt;
    std::optional<std::string> sn = c.GetString("serial_number");
    const Validity v = der ? CheckValidity(*der, now) : Validity::kMalformed;
    if (v == Validity::kMalformed || !sn || !ValidId(*sn)) {
      malformed = true;
      continue;
    }
    if (v == Validity::kNotValidNow) continue;
    std::vector<std::string> issuers_b64;
    if (c.Has("chain_data")) {
      if (std::optional<std::vector<std::string>> a = c.GetStringArray("chain_data")) {
        issuers_b64 = *std::move(a);
      } else if (std::optional<std::string> one = c.GetString("chain_data")) {
        if (!one->empty()) issuers_b64.push_back(*one);
      } else {
        malformed = true;
        continue;
      }
    }
    std::vector<std::string> candidate = {*der};
    bool ok = issuers_b64.size() < kMaxChainCertificates;
    for (const std::string& b64 : issuers_b64) {
      std::optional<std::string> d = crypto::Base64Decode(b64);
      if (!d || d->empty() || d->size() > kMaxCertificateBytes) {
        ok = false;
        break;
      }
      if (*d != *der) candidate.push_back(*std::move(d));  // some providers repeat the leaf
    }
    if (!ok) {
      malformed = true;
      continue;
    }
    serial = *sn;
    chain = std::move(candidate);
  }
  if (chain.empty()) {
    if (malformed) return ProviderError("get_certificate", "malformed_certificate");
    return RemoteSignerError("SIGNER_NO_CERTIFICATE");
  }

  // 2. The signing request for the hash.
  jwt::JsonObjectBuilder file;
  file.String("data_to_be_signed", crypto::HexEncode(request.digest_sha256))
      .String("doc_id", request.transaction_id)
      .String("file_type", "hash")
      .String("sign_type", "hash");
  absl::StatusOr<DataOrNotFound> signed_ = Exchange(
      *http_,
      JsonPost("/v1/signatures/sign",
               jwt::JsonObjectBuilder()
                   .String("sp_id", config_.sp_id)
                   .String("sp_password", config_.sp_password)
                   .String("user_id", request.subscriber)
                   .String("transaction_id", request.transaction_id)
                   .String("transaction_desc", request.display_text)
                   .String("serial_number", serial)
                   .String("time_stamp", absl::FormatTime("%Y%m%d%H%M%S", now,
                                                          absl::UTCTimeZone()))
                   .ObjectArray("sign_files", {file})
                   .Build()),
      "sign");
  if (!signed_.ok()) return signed_.status();
  if (signed_->not_found) return RemoteSignerError("SIGNER_NO_CERTIFICATE");
  std::optional<std::string> tran_id = signed_->data.GetString("transaction_id");
  if (!tran_id || !ValidId(*tran_id)) return ProviderError("sign", "missing_transaction_id");

  RemoteSignStarted started;
  started.provider_transaction_id = *tran_id;
  started.chain_der = std::move(chain);
  return started;
}

absl::StatusOr<RemoteSignOutcome> SmartCaClient::Poll(const std::string& provider_transaction_id) {
  if (!ValidId(provider_transaction_id)) {
    log::Error("remote_signer.bad_request", {{"provider", "smartca"}});
    return status::Internal();
  }
  absl::StatusOr<DataOrNotFound> r = Exchange(
      *http_,
      JsonPost(absl::StrCat("/v1/signatures/sign/", PercentEncodeSegment(provider_transaction_id),
                            "/status"),
               jwt::JsonObjectBuilder()
                   .String("sp_id", config_.sp_id)
                   .String("sp_password", config_.sp_password)
                   .Build()),
      "status");
  if (!r.ok()) return r.status();
  if (r->not_found) return ProviderError("status", "transaction_not_found");
  std::optional<int64_t> st = r->data.GetInt("status");
  if (!st) return ProviderError("status", "missing_status");
  switch (*st) {
    case 4000:
      return RemoteSignOutcome{};
    case 4001:
      return RemoteSignerError("SIGNER_TIMEOUT");
    case 4002:
      return RemoteSignerError("SIGNER_USER_CANCELLED");
    case 1:
      break;
    default:
      return ProviderError("status", "transaction_status", "status", absl::StrCat(*st));
  }
  std::optional<std::vector<jwt::FlatJson>> sigs = ObjectArray(r->data, "signatures");
  if (!sigs || sigs->empty()) return ProviderError("status", "missing_signatures");
  std::optional<std::string> b64 = sigs->front().GetString("signature_value");
  std::optional<std::string> sig = b64 ? crypto::Base64Decode(*b64) : std::nullopt;
  if (!sig || sig->empty() || sig->size() > kMaxSignatureBytes) {
    return ProviderError("status", "bad_signature_value");
  }
  RemoteSignOutcome out;
  out.pending = false;
  out.signature = *std::move(sig);
  return out;
}

}  // namespace dvc::sigverify
