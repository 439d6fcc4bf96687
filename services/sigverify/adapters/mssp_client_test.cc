#include "services/sigverify/adapters/mssp_client.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/crypto/encoding.h"
#include "libs/http/http_client.h"
#include "libs/http/http_server.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

constexpr char kSoap12[] = "http://www.w3.org/2003/05/soap-envelope";
constexpr char kSoap11[] = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr char kMss[] = "http://uri.etsi.org/TS102204/v1.1.2#";
constexpr char kSim[] = "urn:dvc:sim:mssp:v1";
constexpr char kPassword[] = "s3cr3t-AP-Pwd";
constexpr char kMsisdn[] = "84912345678";

// ---- a scripted SOAP endpoint ----

class FakeMssp final {
 public:
  FakeMssp() {
    server_.Handle("", "/", [this](const http::ServerRequest& r) { return Serve(r); });
    started_ = server_.Start("127.0.0.1", 0);
  }
  ~FakeMssp() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_.Stop();
  }
  bool ok() const { return started_.ok(); }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_.port(), "/soap"); }

  void Reply(int status, std::string body, absl::Duration delay = absl::ZeroDuration()) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
  }
  std::vector<http::ServerRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  http::ServerResponse Serve(const http::ServerRequest& r) {
    std::unique_lock<std::mutex> l(mu_);
    requests_.push_back(r);
    if (delay_ > absl::ZeroDuration()) {
      cv_.wait_for(l, absl::ToChronoMilliseconds(delay_), [this] { return stopping_; });
    }
    return http::ServerResponse::Text(status_, body_, "application/soap+xml; charset=utf-8");
  }

  http::HttpServer server_;
  absl::Status started_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int status_ = 200;
  std::string body_;
  absl::Duration delay_;
  std::vector<http::ServerRequest> requests_;
};

// ---- canned replies ----

std::string Env(const std::string& body, const char* soap_ns = kSoap12) {
  return absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope xmlns:env=\"",
                      soap_ns, "\" xmlns:mss=\"", kMss, "\" xmlns:sim=\"", kSim,
                      "\"><env:Body>", body, "</env:Body></env:Envelope>");
}

std::string StatusXml(int code, const std::string& detail = "") {
  return absl::StrCat("<mss:Status><mss:StatusCode Value=\"", code,
                      "\"/><mss:StatusMessage>X</mss:StatusMessage>",
                      detail.empty() ? "" : "<mss:StatusDetail>" + detail + "</mss:StatusDetail>",
                      "</mss:Status>");
}

std::string ApInfo(const std::string& ap_trans_id) {
  return absl::StrCat(
      "<mss:AP_Info AP_ID=\"dvc-ap\" AP_TransID=\"", ap_trans_id,
      "\" AP_PWD=\"\" Instant=\"2026-01-01T00:00:00Z\"/><mss:MSSP_Info "
      "Instant=\"2026-01-01T00:00:01Z\"><mss:MSSP_ID><mss:URI>http://mssp</mss:URI>"
      "</mss:MSSP_ID></mss:MSSP_Info><mss:MobileUser><mss:MSISDN>84912345678</mss:MSISDN>"
      "</mss:MobileUser>");
}

std::string SignatureResp(int code, const std::string& mssp_trans_id,
                          const std::string& ap_trans_id) {
  return Env(absl::StrCat(
      "<mss:MSS_SignatureResponse><mss:MSS_SignatureResp MajorVersion=\"1\" MinorVersion=\"1\"",
      mssp_trans_id.empty() ? "" : " MSSP_TransID=\"" + mssp_trans_id + "\"", ">",
      ApInfo(ap_trans_id), StatusXml(code), "</mss:MSS_SignatureResp></mss:MSS_SignatureResponse>"));
}

std::string StatusResp(int code, const std::string& signature_b64 = "",
                       const std::vector<std::string>& chain_b64 = {}) {
  std::string sig;
  if (!signature_b64.empty()) {
    sig = "<mss:MSS_Signature><mss:Base64Signature>" + signature_b64 +
          "</mss:Base64Signature></mss:MSS_Signature>";
  }
  std::string detail;
  if (!chain_b64.empty()) {
    detail = "<sim:SignerCertificate>";
    for (const std::string& c : chain_b64) {
      detail += "<sim:X509Certificate>" + c + "</sim:X509Certificate>";
    }
    detail += "</sim:SignerCertificate>";
  }
  return Env(absl::StrCat(
      "<mss:MSS_StatusQueryResponse><mss:MSS_StatusResp MajorVersion=\"1\" MinorVersion=\"1\">",
      ApInfo("sq-1"), sig, StatusXml(code, detail),
      "</mss:MSS_StatusResp></mss:MSS_StatusQueryResponse>"));
}

enum class FaultStyle { kSoap12Detail, kSoap12SubcodeOnly, kSoap11Detail, kSoap11FaultcodeOnly };

std::string Fault(int code, FaultStyle style) {
  switch (style) {
    case FaultStyle::kSoap12Detail:
      return Env(absl::StrCat(
          "<env:Fault><env:Code><env:Value>env:Receiver</env:Value><env:Subcode><env:Value>"
          "mss:_999</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">"
          "X</env:Text></env:Reason><env:Detail>",
          StatusXml(code), "</env:Detail></env:Fault>"));
    case FaultStyle::kSoap12SubcodeOnly:
      return Env(absl::StrCat(
          "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>mss:_",
          code, "</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">X"
          "</env:Text></env:Reason></env:Fault>"));
    case FaultStyle::kSoap11Detail:
      return Env(absl::StrCat("<env:Fault><faultcode>env:Server</faultcode><faultstring>X"
                              "</faultstring><detail>",
                              StatusXml(code), "</detail></env:Fault>"),
                 kSoap11);
    case FaultStyle::kSoap11FaultcodeOnly:
      return Env(absl::StrCat("<env:Fault><faultcode>mss:_", code,
                              "</faultcode><faultstring>X</faultstring></env:Fault>"),
                 kSoap11);
  }
  return "";
}

// ---- reading the request we sent ----

struct Doc {
  explicit Doc(const std::string& xml)
      : doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "req.xml", nullptr,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) {}
  ~Doc() { xmlFreeDoc(doc); }
  // First element {ns}local anywhere.
  const xmlNode* Find(const char* ns, const char* local) const {
    return doc == nullptr ? nullptr : Find(xmlDocGetRootElement(doc), ns, local);
  }
  static const xmlNode* Find(const xmlNode* n, const char* ns, const char* local) {
    for (; n != nullptr; n = n->next) {
      if (n->type == XML_ELEMENT_NODE && std::strcmp((const char*)n->name, local) == 0 &&
          n->ns != nullptr && std::strcmp((const char*)n->ns->href, ns) == 0) {
        return n;
      }
      if (const xmlNode* c = Find(n->children, ns, local)) return c;
    }
    return nullptr;
  }
  std::string Text(const char* local) const {
    const xmlNode* n = Find(kMss, local);
    if (n == nullptr) return "<missing>";
    xmlChar* t = xmlNodeGetContent(n);
    std::string s(reinterpret_cast<const char*>(t));
    xmlFree(t);
    return s;
  }
  std::string Attr(const char* local, const char* attr) const {
    const xmlNode* n = Find(kMss, local);
    if (n == nullptr) return "<missing element>";
    xmlChar* v = xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(attr));
    if (v == nullptr) return "<missing attr>";
    std::string s(reinterpret_cast<const char*>(v));
    xmlFree(v);
    return s;
  }
  xmlDoc* doc;
};

// ---- log capture ----

std::vector<std::string>* g_log = nullptr;
void CaptureLog(const std::string& line) {
  if (g_log != nullptr) g_log->push_back(line);
}

std::string Digest() {
  std::string d;
  for (int i = 0; i < 32; ++i) d += static_cast<char>(i * 7 + 1);
  return d;
}

class MsspClientTest : public ::testing::Test {
 protected:
  MsspClientTest() {
    g_log = &log_lines_;
    log::SetSink(&CaptureLog);
  }
  ~MsspClientTest() override {
    log::SetSink(nullptr);
    g_log = nullptr;
  }

  MsspConfig Config() {
    MsspConfig c;
    c.url = server_.url();
    c.ap_id = "dvc-ap";
    c.ap_password = kPassword;
    c.mssp_id = "http://mssp.sim.dvc.local";
    c.request_timeout = absl::Seconds(5);
    return c;
  }
  RemoteSignRequest Request() {
    RemoteSignRequest r;
    r.subscriber = kMsisdn;
    r.digest_sha256 = Digest();
    r.display_text = "Dich vu cong - Ma xac nhan: 1234";
    r.transaction_id = "7f1c0d7e-2d0b-4c55-9d44-3d2b1f0e9a10";
    r.timeout = absl::Seconds(120);
    return r;
  }
  std::string AllLogs() const {
    std::string s;
    for (const std::string& l : log_lines_) s += l + "\n";
    return s;
  }

  std::vector<std::string> log_lines_;
  FakeMssp server_;
  http::HttpClient http_;
  FakeClock clock_{absl::FromUnixSeconds(1795000000)};
};

TEST_F(MsspClientTest, StartSendsAnEtsiSignatureRequestAndReturnsTheMsspTransId) {
  ASSERT_TRUE(server_.ok());
  const RemoteSignRequest req = Request();
  server_.Reply(200, SignatureResp(100, "mssp-abc123", req.transaction_id));
  MsspClient client(Config(), &http_, &clock_);

  absl::StatusOr<RemoteSignStarted> started = client.Start(req);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->provider_transaction_id, "mssp-abc123");
  EXPECT_TRUE(started->chain_der.empty());

  ASSERT_EQ(server_.requests().size(), 1u);
  const http::ServerRequest sent = server_.requests()[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/soap");
  EXPECT_EQ(sent.Header("Content-Type").value_or(""), "application/soap+xml; charset=utf-8");
  Doc d(sent.body);
  ASSERT_NE(d.doc, nullptr) << sent.body;
  ASSERT_NE(d.Find(kSoap12, "Envelope"), nullptr);
  ASSERT_NE(d.Find(kMss, "MSS_Signature"), nullptr);
  EXPECT_EQ(d.Attr("MSS_SignatureReq", "MessagingMode"), "asynchClientServer");
  EXPECT_EQ(d.Attr("MSS_SignatureReq", "TimeOut"), "120");
  EXPECT_EQ(d.Attr("MSS_SignatureReq", "MajorVersion"), "1");
  EXPECT_EQ(d.Attr("AP_Info", "AP_ID"), "dvc-ap");
  EXPECT_EQ(d.Attr("AP_Info", "AP_PWD"), kPassword);
  EXPECT_EQ(d.Attr("AP_Info", "AP_TransID"), req.transaction_id);
  EXPECT_EQ(d.Attr("AP_Info", "Instant"),
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_.Now(), absl::UTCTimeZone()));
  EXPECT_EQ(d.Text("MSSP_ID"), "http://mssp.sim.dvc.local");
  EXPECT_EQ(d.Text("MSISDN"), kMsisdn);
  EXPECT_EQ(d.Text("DataToBeSigned"), crypto::Base64Encode(Sha256DigestInfo(Digest())));
  EXPECT_EQ(d.Attr("DataToBeSigned", "MimeType"), "application/octet-stream");
  EXPECT_EQ(d.Attr("DataToBeSigned", "Encoding"), "base64");
  EXPECT_EQ(d.Text("DataToBeDisplayed"), req.display_text);
  EXPECT_EQ(d.Text("MSS_Format"), "http://uri.etsi.org/TS102204/v1.1.2#PKCS1");
  EXPECT_EQ(d.Find(kMss, "SignatureProfile"), nullptr);  // none configured
}

TEST_F(MsspClientTest, StartEscapesTextAndReplacesInvalidCharacters) {
  RemoteSignRequest req = Request();
  req.display_text = std::string("Ký <b>&amp; \"x\" 'y' ]]> \x01 \xff end");
  server_.Reply(200, SignatureResp(100, "m-1", req.transaction_id));
  MsspConfig cfg = Config();
  cfg.ap_password = "p\"<&>'w";
  cfg.signature_profile = "http://profile/?a=1&b=2";
  MsspClient client(cfg, &http_, &clock_);
  ASSERT_TRUE(client.Start(req).ok());
  Doc d(server_.requests()[0].body);
  ASSERT_NE(d.doc, nullptr) << server_.requests()[0].body;
  EXPECT_EQ(d.Text("DataToBeDisplayed"),
            "Ký <b>&amp; \"x\" 'y' ]]> \xEF\xBF\xBD \xEF\xBF\xBD end");
  EXPECT_EQ(d.Attr("AP_Info", "AP_PWD"), "p\"<&>'w");
  EXPECT_EQ(d.Text("SignatureProfile"), "http://profile/?a=1&b=2");
}

TEST_F(MsspClientTest, StartAcceptsPlusPrefixAndRejectsMalformedMsisdn) {
  RemoteSignRequest req = Request();
  req.subscriber = "+84912345678";
  server_.Reply(200, SignatureResp(100, "m-1", req.transaction_id));
  MsspClient client(Config(), &http_, &clock_);
  ASSERT_TRUE(client.Start(req).ok());
  EXPECT_EQ(Doc(server_.requests()[0].body).Text("MSISDN"), kMsisdn);

  for (const char* bad : {"", "84912<x>678", "0912 345 678", "84", "8491234567812345"}) {
    req.subscriber = bad;
    absl::StatusOr<RemoteSignStarted> s = client.Start(req);
    EXPECT_EQ(status::ReasonOf(s.status()), "SUBSCRIBER_INVALID") << bad;
  }
  EXPECT_EQ(server_.requests().size(), 1u);  // nothing sent for bad numbers
}

TEST_F(MsspClientTest, StartRejectsADigestThatIsNot32Bytes) {
  RemoteSignRequest req = Request();
  req.digest_sha256 = std::string(64, 'a');
  MsspClient client(Config(), &http_, &clock_);
  EXPECT_EQ(client.Start(req).status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(MsspClientTest, StartFaultsMapToTypedStatuses) {
  MsspClient client(Config(), &http_, &clock_);
  server_.Reply(500, Fault(105, FaultStyle::kSoap12Detail));
  absl::Status s = client.Start(Request()).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_NO_CERTIFICATE");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::GetErrorInfo(s)->message_en,
            "This phone number has no SIM signature service.");

  server_.Reply(500, Fault(104, FaultStyle::kSoap12Detail));
  s = client.Start(Request()).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(AllLogs().find("unauthorized_access_check_ap_credentials"), std::string::npos);

  server_.Reply(500, Fault(101, FaultStyle::kSoap12SubcodeOnly));
  EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR");
}

TEST_F(MsspClientTest, StartRejectsInconsistentReplies) {
  MsspClient client(Config(), &http_, &clock_);
  const RemoteSignRequest req = Request();
  // Not our transaction.
  server_.Reply(200, SignatureResp(100, "m-1", "someone-else"));
  EXPECT_EQ(status::ReasonOf(client.Start(req).status()), "SIGNER_PROVIDER_ERROR");
  // No MSSP_TransID.
  server_.Reply(200, SignatureResp(100, "", req.transaction_id));
  EXPECT_EQ(status::ReasonOf(client.Start(req).status()), "SIGNER_PROVIDER_ERROR");
  // A final signature answer to an asynchronous request.
  server_.Reply(200, SignatureResp(500, "m-1", req.transaction_id));
  EXPECT_EQ(status::ReasonOf(client.Start(req).status()), "SIGNER_PROVIDER_ERROR");
  // A status query answer to a signature request.
  server_.Reply(200, StatusResp(100));
  EXPECT_EQ(status::ReasonOf(client.Start(req).status()), "SIGNER_PROVIDER_ERROR");
  // A non-fault reply with HTTP 500.
  server_.Reply(500, SignatureResp(100, "m-1", req.transaction_id));
  EXPECT_EQ(status::ReasonOf(client.Start(req).status()), "SIGNER_PROVIDER_ERROR");
}

TEST_F(MsspClientTest, PollPendingWhileOutstanding) {
  server_.Reply(200, StatusResp(504));
  MsspClient client(Config(), &http_, &clock_);
  absl::StatusOr<RemoteSignOutcome> out = client.Poll("mssp-abc123");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->pending);
  EXPECT_TRUE(out->signature.empty());

  Doc d(server_.requests()[0].body);
  ASSERT_NE(d.Find(kMss, "MSS_StatusQuery"), nullptr);
  EXPECT_EQ(d.Attr("MSS_StatusReq", "MSSP_TransID"), "mssp-abc123");
  EXPECT_EQ(d.Attr("AP_Info", "AP_PWD"), kPassword);
  const std::string first_ap_trans_id = d.Attr("AP_Info", "AP_TransID");
  ASSERT_TRUE(client.Poll("mssp-abc123").ok());
  EXPECT_NE(Doc(server_.requests()[1].body).Attr("AP_Info", "AP_TransID"), first_ap_trans_id);
}

TEST_F(MsspClientTest, PollReturnsSignatureAndChainFor500And502) {
  MsspClient client(Config(), &http_, &clock_);
  for (int code : {500, 502}) {
    // Base64 as MSSPs send it, wrapped over lines.
    server_.Reply(200, StatusResp(code, "c2ln\n  bmF0dXJl",
                                  {crypto::Base64Encode("leaf-der"), "\n" +
                                   crypto::Base64Encode("issuer-der") + "\n"}));
    absl::StatusOr<RemoteSignOutcome> out = client.Poll("mssp-1");
    ASSERT_TRUE(out.ok()) << code << " " << out.status();
    EXPECT_FALSE(out->pending);
    EXPECT_EQ(out->signature, "signature");
    ASSERT_EQ(out->chain_der.size(), 2u);
    EXPECT_EQ(out->chain_der[0], "leaf-der");
    EXPECT_EQ(out->chain_der[1], "issuer-der");
  }
  // Without a chain: fine (the caller decides).
  server_.Reply(200, StatusResp(500, crypto::Base64Encode("sig")));
  absl::StatusOr<RemoteSignOutcome> out = client.Poll("mssp-1");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->chain_der.empty());
}

TEST_F(MsspClientTest, PollRejectsMissingOrBrokenSignature) {
  MsspClient client(Config(), &http_, &clock_);
  server_.Reply(200, StatusResp(500));
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  server_.Reply(200, StatusResp(500, "not*base64"));
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  server_.Reply(200, StatusResp(500, crypto::Base64Encode("sig"), {"%%%"}));
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  std::vector<std::string> long_chain(9, crypto::Base64Encode("c"));
  server_.Reply(200, StatusResp(500, crypto::Base64Encode("sig"), long_chain));
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
}

struct CodeCase {
  int code;
  const char* reason;
  absl::StatusCode status_code;
};

TEST_F(MsspClientTest, PollMapsEveryStatusCodeInEveryFaultStyle) {
  const CodeCase cases[] = {
      {401, "SIGNER_USER_CANCELLED", absl::StatusCode::kFailedPrecondition},
      {208, "SIGNER_TIMEOUT", absl::StatusCode::kFailedPrecondition},
      {402, "SIGNER_PIN_BLOCKED", absl::StatusCode::kFailedPrecondition},
      {403, "SIGNER_PIN_BLOCKED", absl::StatusCode::kFailedPrecondition},
      {404, "SIGNER_NO_CERTIFICATE", absl::StatusCode::kFailedPrecondition},
      {422, "SIGNER_NO_CERTIFICATE", absl::StatusCode::kFailedPrecondition},
      {105, "SIGNER_NO_CERTIFICATE", absl::StatusCode::kFailedPrecondition},
      {209, "SIGNER_UNREACHABLE", absl::StatusCode::kUnavailable},
      {503, "SIGNATURE_INVALID", absl::StatusCode::kInvalidArgument},
      {501, "CERT_REVOKED", absl::StatusCode::kInvalidArgument},
      {101, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {102, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {104, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {900, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {777, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
  };
  MsspClient client(Config(), &http_, &clock_);
  for (const CodeCase& c : cases) {
    for (FaultStyle style : {FaultStyle::kSoap12Detail, FaultStyle::kSoap12SubcodeOnly,
                             FaultStyle::kSoap11Detail, FaultStyle::kSoap11FaultcodeOnly}) {
      server_.Reply(500, Fault(c.code, style));
      absl::Status s = client.Poll("mssp-1").status();
      EXPECT_EQ(status::ReasonOf(s), c.reason) << c.code << " style " << static_cast<int>(style);
      EXPECT_EQ(s.code(), c.status_code) << c.code;
    }
    // Some MSSPs answer final errors as a normal status response.
    server_.Reply(200, StatusResp(c.code));
    absl::Status s = client.Poll("mssp-1").status();
    EXPECT_EQ(status::ReasonOf(s), c.reason) << c.code << " as response";
  }
}

TEST_F(MsspClientTest, NamespacesMatter) {
  MsspClient client(Config(), &http_, &clock_);
  // A fault whose subcode prefix is not the MSS namespace says nothing about the MSS status.
  std::string f = absl::StrReplaceAll(Fault(401, FaultStyle::kSoap12SubcodeOnly),
                                      {{"mss:_401", "x:_401"}, {"<env:Fault>",
                                       "<env:Fault xmlns:x=\"urn:other\">"}});
  server_.Reply(500, f);
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  // Right local names in another namespace are not the ETSI elements.
  std::string other = absl::StrReplaceAll(StatusResp(504), {{kMss, "urn:not-etsi"}});
  server_.Reply(200, other);
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  // Not a SOAP envelope.
  server_.Reply(200, absl::StrReplaceAll(StatusResp(504), {{kSoap12, "urn:not-soap"}}));
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  // Different prefixes, same namespaces: fine.
  std::string renamed = absl::StrReplaceAll(StatusResp(504), {{"mss:", "m:"}, {"xmlns:mss", "xmlns:m"}});
  server_.Reply(200, renamed);
  absl::StatusOr<RemoteSignOutcome> out = client.Poll("m");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->pending);
}

TEST_F(MsspClientTest, GarbageIsAProviderError) {
  MsspClient client(Config(), &http_, &clock_);
  const std::vector<std::pair<int, std::string>> replies = {
      {200, ""},
      {200, "not xml at all"},
      {200, "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body>"},
      {200, R"({"status":504})"},
      {500, "<html>Internal Server Error</html>"},
      {503, R"({"error":"simulated provider failure"})"},
      {404, Fault(401, FaultStyle::kSoap12Detail)},  // the right body but not from /soap
      {200, Env("")},                                 // empty Body
      {200, Env("<env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code></env:Fault>")},
      {200, absl::StrReplaceAll(StatusResp(504), {{"Value=\"504\"", "Value=\"5o4\""}})},
      {200, std::string("<?xml version=\"1.0\"?>\0<a/>", 26)},
  };
  for (const auto& [status, body] : replies) {
    server_.Reply(status, body);
    absl::Status s = client.Poll("mssp-1").status();
    EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR") << status << " " << body;
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  }
}

TEST_F(MsspClientTest, EntitiesAreNeverExpanded) {
  MsspClient client(Config(), &http_, &clock_);
  // External entity (XXE): would put a local file into the signature.
  std::string xxe = StatusResp(500, "&xxe;");
  xxe.insert(xxe.find("<env:Envelope"),
             "<!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>\n");
  server_.Reply(200, xxe);
  absl::StatusOr<RemoteSignOutcome> out = client.Poll("m");
  EXPECT_EQ(status::ReasonOf(out.status()), "SIGNER_PROVIDER_ERROR");
  EXPECT_NE(AllLogs().find("dtd_rejected"), std::string::npos);

  // Internal entity whose expansion would be a perfectly valid signature.
  std::string internal = StatusResp(500, "&sig;");
  internal.insert(internal.find("<env:Envelope"),
                  "<!DOCTYPE x [<!ENTITY sig \"c2lnbmF0dXJl\">]>\n");
  server_.Reply(200, internal);
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");

  // Billion laughs.
  std::string lol = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i) {
    lol += absl::StrCat("<!ENTITY lol", i, " \"", std::string(), "");
    for (int k = 0; k < 10; ++k) lol += i == 1 ? "&lol;" : absl::StrCat("&lol", i - 1, ";");
    lol += "\">";
  }
  lol += "]>\n";
  std::string bomb = StatusResp(500, "&lol9;");
  bomb.insert(bomb.find("<env:Envelope"), lol);
  server_.Reply(200, bomb);
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");

  // An undeclared entity reference is not well-formed.
  server_.Reply(200, StatusResp(500, "&undeclared;"));
  EXPECT_EQ(status::ReasonOf(client.Poll("m").status()), "SIGNER_PROVIDER_ERROR");
  // Character references are plain XML, not entities: decoded.
  server_.Reply(200, StatusResp(500, "&#99;2lnbmF0dXJl"));
  out = client.Poll("m");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->signature, "signature");
}

TEST_F(MsspClientTest, OversizedReplyIsAProviderError) {
  MsspConfig cfg = Config();
  cfg.max_response_bytes = 64 * 1024;
  MsspClient client(cfg, &http_, &clock_);
  server_.Reply(200, StatusResp(500, crypto::Base64Encode(std::string(60 * 1024, 'x'))));
  absl::Status s = client.Poll("m").status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_NE(AllLogs().find("UPSTREAM_RESPONSE_TOO_LARGE"), std::string::npos);
}

TEST_F(MsspClientTest, TimeoutAndConnectionRefusedAreProviderErrors) {
  MsspConfig cfg = Config();
  cfg.request_timeout = absl::Milliseconds(300);
  MsspClient client(cfg, &http_, &clock_);
  server_.Reply(200, StatusResp(504), absl::Seconds(5));
  const absl::Time t0 = absl::Now();
  absl::Status s = client.Poll("m").status();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(3));
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);

  cfg.url = "http://127.0.0.1:1/soap";
  MsspClient refused(cfg, &http_, &clock_);
  s = refused.Start(Request()).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST_F(MsspClientTest, SecretsAndPhoneNumbersAreNeverLogged) {
  MsspClient client(Config(), &http_, &clock_);
  for (int code : {104, 101, 900}) {
    server_.Reply(500, Fault(code, FaultStyle::kSoap12Detail));
    (void)client.Start(Request());
  }
  server_.Reply(200, "garbage " + std::string(kPassword) + " " + kMsisdn);
  (void)client.Start(Request());
  ASSERT_FALSE(log_lines_.empty());
  const std::string logs = AllLogs();
  EXPECT_EQ(logs.find(kPassword), std::string::npos) << logs;
  EXPECT_EQ(logs.find(kMsisdn), std::string::npos) << logs;
  EXPECT_EQ(logs.find("912345678"), std::string::npos) << logs;
}

TEST(MssTimeoutSecondsTest, RoundsUpAndClamps) {
  EXPECT_EQ(MssTimeoutSeconds(absl::ZeroDuration()), 1);
  EXPECT_EQ(MssTimeoutSeconds(absl::Seconds(-5)), 1);
  EXPECT_EQ(MssTimeoutSeconds(absl::Milliseconds(1200)), 2);
  EXPECT_EQ(MssTimeoutSeconds(absl::Seconds(120)), 120);
  EXPECT_EQ(MssTimeoutSeconds(absl::Hours(2)), 3600);
  EXPECT_EQ(MssTimeoutSeconds(absl::InfiniteDuration()), 3600);
}

}  // namespace
}  // namespace dvc::sigverify
