#include "services/sigverify/adapters/mssp_client.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/encoding.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

constexpr char kSoap12Ns[] = "http://www.w3.org/2003/05/soap-envelope";
constexpr char kSoap11Ns[] = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr char kMssNs[] = "http://uri.etsi.org/TS102204/v1.1.2#";
constexpr char kSimMsspNs[] = "urn:dvc:sim:mssp:v1";  // the simulator's SignerCertificate
constexpr char kPkcs1Format[] = "http://uri.etsi.org/TS102204/v1.1.2#PKCS1";

constexpr size_t kMaxSignatureBytes = 16 * 1024;
constexpr size_t kMaxCertificateBytes = 16 * 1024;
constexpr size_t kMaxChainCertificates = 8;
constexpr size_t kMaxIdLength = 256;

// ---- XML writing -------------------------------------------------------------------------

// Appends the UTF-8 sequence starting at s[i] (advancing i) when it is a valid character
// allowed in XML 1.0, else U+FFFD (one byte consumed). Markup characters are escaped.
void AppendXmlChar(absl::string_view s, size_t& i, std::string& out) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    switch (c) {
      case '&': out += "&amp;"; return;
      case '<': out += "&lt;"; return;
      case '>': out += "&gt;"; return;
      case '"': out += "&quot;"; return;
      case '\'': out += "&apos;"; return;
      case '\t': out += "&#9;"; return;
      case '\n': out += "&#10;"; return;
      case '\r': out += "&#13;"; return;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\xEF\xBF\xBD";
        } else {
          out += static_cast<char>(c);
        }
        return;
    }
  }
  int len = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  }
  bool ok = len > 0 && i + len <= s.size();
  for (int k = 1; ok && k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) ok = false;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (ok) {
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    ok = cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE &&
         cp != 0xFFFF;
  }
  if (!ok) {
    out += "\xEF\xBF\xBD";
    ++i;
    return;
  }
  out.append(s.data() + i, len);
  i += len;
}

// Text or attribute value, escaped for XML (both contexts).
std::string Esc(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) AppendXmlChar(s, i, out);
  return out;
}

std::string Envelope(absl::string_view body) {
  return absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope xmlns:env=\"",
                      kSoap12Ns, "\" xmlns:mss=\"", kMssNs, "\"><env:Body>", body,
                      "</env:Body></env:Envelope>");
}

// ---- XML reading -------------------------------------------------------------------------

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

void InitLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

const char* NsOf(const xmlNode* n) {
  return n->ns != nullptr && n->ns->href != nullptr ? reinterpret_cast<const char*>(n->ns->href)
                                                    : nullptr;
}

// `n` is an element named {ns}local (ns == nullptr: no namespace).
bool Is(const xmlNode* n, const char* ns, const char* local) {
  if (n == nullptr || n->type != XML_ELEMENT_NODE || n->name == nullptr) return false;
  if (std::strcmp(reinterpret_cast<const char*>(n->name), local) != 0) return false;
  const char* href = NsOf(n);
  if (ns == nullptr) return href == nullptr;
  return href != nullptr && std::strcmp(href, ns) == 0;
}

const xmlNode* FirstElement(const xmlNode* parent) {
  if (parent == nullptr) return nullptr;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

const xmlNode* Child(const xmlNode* parent, const char* ns, const char* local) {
  if (parent == nullptr) return nullptr;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (Is(c, ns, local)) return c;
  }
  return nullptr;
}

std::vector<const xmlNode*> Children(const xmlNode* parent, const char* ns, const char* local) {
  std::vector<const xmlNode*> out;
  if (parent == nullptr) return out;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (Is(c, ns, local)) out.push_back(c);
  }
  return out;
}

// First descendant (depth first) named {ns}local.
const xmlNode* Descendant(const xmlNode* parent, const char* ns, const char* local) {
  if (parent == nullptr) return nullptr;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (Is(c, ns, local)) return c;
    if (const xmlNode* d = Descendant(c, ns, local)) return d;
  }
  return nullptr;
}

// Concatenated text content (entity references, had there been any, are not expanded:
// documents with a DTD are rejected before).
std::string Text(const xmlNode* n) {
  if (n == nullptr) return "";
  xmlChar* t = xmlNodeGetContent(n);
  if (t == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(t));
  xmlFree(t);
  return out;
}

std::optional<std::string> Attr(const xmlNode* n, const char* name) {
  if (n == nullptr) return std::nullopt;
  xmlChar* v = xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

std::string StripAll(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

std::optional<int> ParseCode(absl::string_view s) {
  int v = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(s), &v) || v < 100 || v > 999) {
    return std::nullopt;
  }
  return v;
}

// What a reply (or fault) says. status_code is nullopt when none could be read.
struct MssReply {
  bool fault = false;
  std::optional<int> status_code;
  std::string mssp_trans_id;
  std::string ap_trans_id;
  std::optional<std::string> signature_b64;
  std::vector<std::string> chain_b64;
};

// The status code a fault carries: Detail/…/mss:StatusCode@Value, else a SOAP 1.2
// Code/Subcode/Value (or SOAP 1.1 faultcode) "<prefix>:_NNN" whose prefix names the MSS
// namespace.
std::optional<int> FaultCode(const xmlDoc* doc, const xmlNode* fault, const char* soap_ns) {
  for (const xmlNode* c = fault->children; c != nullptr; c = c->next) {
    if (Is(c, soap_ns, "Detail") || Is(c, nullptr, "detail") || Is(c, soap_ns, "detail")) {
      if (const xmlNode* sc = Descendant(c, kMssNs, "StatusCode")) {
        return ParseCode(Attr(sc, "Value").value_or(""));
      }
    }
  }
  std::vector<const xmlNode*> candidates;
  if (const xmlNode* sub = Child(Child(fault, soap_ns, "Code"), soap_ns, "Subcode")) {
    candidates.push_back(Child(sub, soap_ns, "Value"));
  }
  candidates.push_back(Child(fault, nullptr, "faultcode"));
  for (const xmlNode* v : candidates) {
    if (v == nullptr) continue;
    const std::string text(absl::StripAsciiWhitespace(Text(v)));
    const size_t colon = text.find(":_");
    if (colon == std::string::npos) continue;
    const std::string prefix = text.substr(0, colon);
    const xmlNs* ns = xmlSearchNs(const_cast<xmlDoc*>(doc), const_cast<xmlNode*>(v),
                                  reinterpret_cast<const xmlChar*>(prefix.c_str()));
    if (ns == nullptr || ns->href == nullptr ||
        std::strcmp(reinterpret_cast<const char*>(ns->href), kMssNs) != 0) {
      continue;
    }
    if (std::optional<int> code = ParseCode(text.substr(colon + 2))) return code;
  }
  return std::nullopt;
}

// Parses a SOAP reply. `wrapper` is the operation's response element (MSS_SignatureResponse),
// `resp` the ETSI response inside it (MSS_SignatureResp). Errors carry a short English "what"
// for the log (never document content).
absl::StatusOr<MssReply> ParseReply(absl::string_view body, const char* wrapper,
                                    const char* resp) {
  if (body.empty()) return absl::InvalidArgumentError("empty_body");
  if (body.find('\0') != absl::string_view::npos) return absl::InvalidArgumentError("nul_byte");
  // No DTDs at all: no entity declarations to expand, no external subset to fetch.
  if (body.find("<!DOCTYPE") != absl::string_view::npos ||
      body.find("<!ENTITY") != absl::string_view::npos) {
    return absl::InvalidArgumentError("dtd_rejected");
  }
  InitLibxml();
  // Forced UTF-8 (what the scan above assumes); no network; no entity substitution (no
  // XML_PARSE_NOENT), no DTD loading (no XML_PARSE_DTDLOAD), errors not printed.
  XmlDocPtr doc(xmlReadMemory(body.data(), static_cast<int>(body.size()), "mssp-reply.xml",
                              "UTF-8",
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (doc == nullptr) return absl::InvalidArgumentError("malformed_xml");
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return absl::InvalidArgumentError("dtd_rejected");
  }
  const xmlNode* env = xmlDocGetRootElement(doc.get());
  const char* soap_ns = nullptr;
  if (Is(env, kSoap12Ns, "Envelope")) {
    soap_ns = kSoap12Ns;
  } else if (Is(env, kSoap11Ns, "Envelope")) {
    soap_ns = kSoap11Ns;
  } else {
    return absl::InvalidArgumentError("not_a_soap_envelope");
  }
  const xmlNode* soap_body = Child(env, soap_ns, "Body");
  const xmlNode* op = FirstElement(soap_body);
  if (op == nullptr) return absl::InvalidArgumentError("empty_soap_body");

  MssReply out;
  if (Is(op, soap_ns, "Fault")) {
    out.fault = true;
    out.status_code = FaultCode(doc.get(), op, soap_ns);
    return out;
  }
  const xmlNode* r = nullptr;
  if (Is(op, kMssNs, wrapper)) {
    r = Child(op, kMssNs, resp);
  } else if (Is(op, kMssNs, resp)) {
    r = op;
  }
  if (r == nullptr) return absl::InvalidArgumentError("unexpected_operation");
  const xmlNode* st = Child(r, kMssNs, "Status");
  const xmlNode* code_el = Child(st, kMssNs, "StatusCode");
  if (code_el == nullptr) return absl::InvalidArgumentError("missing_status");
  out.status_code = ParseCode(Attr(code_el, "Value").value_or(""));
  if (!out.status_code) return absl::InvalidArgumentError("bad_status_code");
  out.mssp_trans_id = std::string(absl::StripAsciiWhitespace(Attr(r, "MSSP_TransID").value_or("")));
  out.ap_trans_id = Attr(Child(r, kMssNs, "AP_Info"), "AP_TransID").value_or("");
  if (const xmlNode* sig = Child(r, kMssNs, "MSS_Signature")) {
    if (const xmlNode* b64 = Child(sig, kMssNs, "Base64Signature")) {
      out.signature_b64 = StripAll(Text(b64));
    }
  }
  const xmlNode* certs = Child(Child(st, kMssNs, "StatusDetail"), kSimMsspNs, "SignerCertificate");
  for (const xmlNode* c : Children(certs, kSimMsspNs, "X509Certificate")) {
    out.chain_b64.push_back(StripAll(Text(c)));
  }
  return out;
}

// ---- errors ------------------------------------------------------------------------------

// Logs what went wrong (never document content, phone numbers or credentials) and returns
// SIGNER_PROVIDER_ERROR. `key`/`value`: one optional extra log field.
absl::Status ProviderError(absl::string_view op, absl::string_view what,
                           absl::string_view key = "", std::string value = "",
                           log::Level level = log::Level::kWarn) {
  return RemoteProviderError("mssp", op, what, key, std::move(value), level);
}

// A final (non-success) status code of the MSSP as a domain status.
absl::Status CodeToStatus(absl::string_view op, int code) {
  switch (code) {
    case 401:
      return RemoteSignerError("SIGNER_USER_CANCELLED");
    case 208:
      return RemoteSignerError("SIGNER_TIMEOUT");
    case 402:
    case 403:
      return RemoteSignerError("SIGNER_PIN_BLOCKED");
    case 404:
    case 422:
      return RemoteSignerError("SIGNER_NO_CERTIFICATE");
    case 105:
      return RemoteSignerError(
          "SIGNER_NO_CERTIFICATE", "Số điện thoại này chưa đăng ký dịch vụ ký số trên SIM.",
          "This phone number has no SIM signature service.");
    case 209:
      return RemoteSignerError("SIGNER_UNREACHABLE");
    case 503:
      return RemoteSignerError("SIGNATURE_INVALID");
    case 501:
      return RemoteSignerError("CERT_REVOKED");
    case 104:
      // Our AP_ID/AP_PWD (or client certificate) is refused: a configuration problem.
      return ProviderError(op, "unauthorized_access_check_ap_credentials", "status_code", "104",
                           log::Level::kError);
    default:
      return ProviderError(op, "status_code", "status_code", absl::StrCat(code));
  }
}

// Sends `req`; returns the parsed reply or the domain status to return.
absl::StatusOr<MssReply> Exchange(const http::HttpClient& http, const http::HttpRequest& req,
                                  absl::string_view op, const char* wrapper, const char* resp) {
  absl::StatusOr<http::HttpResponse> r = http.Do(req);
  if (!r.ok()) {
    return ProviderError(op, "transport", "cause", status::ReasonOf(r.status()));
  }
  // SOAP faults come with HTTP 500; anything but 200/500 is not the MSSP speaking SOAP.
  if (r->status != 200 && r->status != 500) {
    return ProviderError(op, "http_status", "http_status", absl::StrCat(r->status));
  }
  absl::StatusOr<MssReply> reply = ParseReply(r->body, wrapper, resp);
  if (!reply.ok()) {
    return ProviderError(op, reply.status().message(),
                         "http_status", absl::StrCat(r->status));
  }
  if (reply->fault && !reply->status_code) {
    return ProviderError(op, "soap_fault_without_status",
                         "http_status", absl::StrCat(r->status));
  }
  if (!reply->fault && r->status != 200) {
    return ProviderError(op, "http_status", "http_status", absl::StrCat(r->status));
  }
  return reply;
}

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
  }
  return true;
}

}  // namespace

int MssTimeoutSeconds(absl::Duration timeout) {
  const double s = std::ceil(absl::ToDoubleSeconds(timeout));
  if (!(s >= 1)) return 1;  // also NaN
  if (s > 3600) return 3600;
  return static_cast<int>(s);
}

MsspClient::MsspClient(MsspConfig config, const http::HttpClient* http, Clock* clock)
    : config_(std::move(config)), http_(http), clock_(clock) {
  InitLibxml();
}

http::HttpRequest MsspClient::SoapRequest(std::string body) const {
  http::HttpRequest req;
  req.method = "POST";
  req.url = config_.url;
  req.headers = {{"Content-Type", "application/soap+xml; charset=utf-8"},
                 {"Accept", "application/soap+xml, text/xml"}};
  req.body = std::move(body);
  req.timeout = config_.request_timeout;
  req.connect_timeout = std::min(config_.connect_timeout, config_.request_timeout);
  req.max_response_bytes = config_.max_response_bytes;
  req.ca_file = config_.ca_file;
  req.client_cert_file = config_.client_cert_file;
  req.client_key_file = config_.client_key_file;
  return req;
}

std::string MsspClient::ApInfoXml(absl::string_view ap_trans_id) const {
  const std::string instant =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_->Now(), absl::UTCTimeZone());
  return absl::StrCat("<mss:AP_Info AP_ID=\"", Esc(config_.ap_id), "\" AP_PWD=\"",
                      Esc(config_.ap_password), "\" AP_TransID=\"", Esc(ap_trans_id),
                      "\" Instant=\"", instant, "\"/><mss:MSSP_Info><mss:MSSP_ID><mss:URI>",
                      Esc(config_.mssp_id), "</mss:URI></mss:MSSP_ID></mss:MSSP_Info>");
}

absl::StatusOr<RemoteSignStarted> MsspClient::Start(const RemoteSignRequest& request) {
  const std::string digest_info = Sha256DigestInfo(request.digest_sha256);
  if (digest_info.empty() || !ValidId(request.transaction_id)) {
    log::Error("remote_signer.bad_request", {{"provider", "mssp"}});
    return status::Internal();
  }
  absl::string_view msisdn = request.subscriber;
  if (!msisdn.empty() && msisdn.front() == '+') msisdn.remove_prefix(1);
  bool digits = msisdn.size() >= 8 && msisdn.size() <= 15;
  for (char c : msisdn) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (!digits) {
    return status::InvalidArgument("SUBSCRIBER_INVALID", "subscriber",
                                   "Số điện thoại ký số không hợp lệ.",
                                   "The mobile signature phone number is malformed.");
  }

  std::string profile;
  if (!config_.signature_profile.empty()) {
    profile = absl::StrCat("<mss:SignatureProfile><mss:mssURI>", Esc(config_.signature_profile),
                           "</mss:mssURI></mss:SignatureProfile>");
  }
  const std::string body = Envelope(absl::StrCat(
      "<mss:MSS_Signature><mss:MSS_SignatureReq MajorVersion=\"1\" MinorVersion=\"1\" "
      "MessagingMode=\"asynchClientServer\" TimeOut=\"",
      MssTimeoutSeconds(request.timeout), "\">", ApInfoXml(request.transaction_id),
      "<mss:MobileUser><mss:MSISDN>", msisdn, "</mss:MSISDN></mss:MobileUser>",
      "<mss:DataToBeSigned MimeType=\"application/octet-stream\" Encoding=\"base64\">",
      crypto::Base64Encode(digest_info), "</mss:DataToBeSigned>",
      "<mss:DataToBeDisplayed MimeType=\"text/plain\" Encoding=\"UTF-8\">",
      Esc(request.display_text), "</mss:DataToBeDisplayed>", profile,
      "<mss:MSS_Format><mss:mssURI>", kPkcs1Format, "</mss:mssURI></mss:MSS_Format>",
      "</mss:MSS_SignatureReq></mss:MSS_Signature>"));

  absl::StatusOr<MssReply> reply =
      Exchange(*http_, SoapRequest(body), "start", "MSS_SignatureResponse", "MSS_SignatureResp");
  if (!reply.ok()) return reply.status();
  if (*reply->status_code != 100) {
    if (reply->fault) return CodeToStatus("start", *reply->status_code);
    // A final answer to an asynchronous request: the MSSP does not do what we asked.
    if (*reply->status_code >= 500 && *reply->status_code <= 504) {
      return ProviderError("start", "unexpected_status_code",
                           "status_code",
                           absl::StrCat(*reply->status_code));
    }
    return CodeToStatus("start", *reply->status_code);
  }
  if (!ValidId(reply->mssp_trans_id)) return ProviderError("start", "missing_mssp_trans_id");
  if (reply->ap_trans_id != request.transaction_id) {
    return ProviderError("start", "ap_trans_id_mismatch");
  }
  RemoteSignStarted started;
  started.provider_transaction_id = reply->mssp_trans_id;
  return started;
}

absl::StatusOr<RemoteSignOutcome> MsspClient::Poll(const std::string& provider_transaction_id) {
  if (!ValidId(provider_transaction_id)) {
    log::Error("remote_signer.bad_request", {{"provider", "mssp"}});
    return status::Internal();
  }
  // Every status query is its own AP transaction: a fresh AP_TransID.
  const std::string ap_trans_id = absl::StrCat(
      "sq-", absl::ToUnixMillis(clock_->Now()), "-", query_counter_.fetch_add(1) + 1);
  const std::string body = Envelope(absl::StrCat(
      "<mss:MSS_StatusQuery><mss:MSS_StatusReq MajorVersion=\"1\" MinorVersion=\"1\" "
      "MSSP_TransID=\"",
      Esc(provider_transaction_id), "\">", ApInfoXml(ap_trans_id),
      "</mss:MSS_StatusReq></mss:MSS_StatusQuery>"));

  absl::StatusOr<MssReply> reply = Exchange(*http_, SoapRequest(body), "poll",
                                            "MSS_StatusQueryResponse", "MSS_StatusResp");
  if (!reply.ok()) return reply.status();
  const int code = *reply->status_code;
  if (!reply->fault && code == 504) return RemoteSignOutcome{};
  if (reply->fault || (code != 500 && code != 502)) return CodeToStatus("poll", code);

  RemoteSignOutcome out;
  out.pending = false;
  if (!reply->signature_b64 || reply->signature_b64->empty()) {
    return ProviderError("poll", "missing_signature");
  }
  std::optional<std::string> sig = crypto::Base64Decode(*reply->signature_b64);
  if (!sig || sig->empty() || sig->size() > kMaxSignatureBytes) {
    return ProviderError("poll", "bad_signature_encoding");
  }
  out.signature = *std::move(sig);
  if (reply->chain_b64.size() > kMaxChainCertificates) {
    return ProviderError("poll", "chain_too_long");
  }
  for (const std::string& b64 : reply->chain_b64) {
    std::optional<std::string> der = crypto::Base64Decode(b64);
    if (!der || der->empty() || der->size() > kMaxCertificateBytes) {
      return ProviderError("poll", "bad_certificate_encoding");
    }
    out.chain_der.push_back(*std::move(der));
  }
  return out;
}

}  // namespace dvc::sigverify
