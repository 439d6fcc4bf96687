// usb_signer — the citizen's browser signing plug-in, as a command line (see README.md).
//
//   usb_signer list --module=PATH --token=LABEL [--pin=PIN | --pin_file=F]
//   usb_signer sign --module=PATH --token=LABEL [--pin=PIN | --pin_file=F] --cert_id=HEX
//                   --format=pkcs1|pss|ecdsa|cms|cms-attached (--in=FILE | --challenge_b64=B64)
//                   [--out=FILE] [--chain=PEM_FILE]
//
// Every flag may also come from the environment as USB_SIGNER_<FLAG> (USB_SIGNER_PIN keeps the
// PIN out of `ps`). Exit codes: 0 ok, 2 usage, 3 module or token missing, 4 PIN incorrect or
// locked, 5 certificate/key/format problem, 1 anything else.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/config/config.h"
#include "libs/crypto/encoding.h"
#include "libs/status/errors.h"
#include "tools/usb_signer/pkcs11_token.h"

extern char** environ;

namespace dvc::usb_signer {
namespace {

constexpr char kEnvPrefix[] = "USB_SIGNER_";

constexpr char kUsage[] =
    "usage:\n"
    "  usb_signer list --module=PATH --token=LABEL [--pin=PIN | --pin_file=FILE]\n"
    "  usb_signer sign --module=PATH --token=LABEL [--pin=PIN | --pin_file=FILE] --cert_id=HEX\n"
    "                  --format=pkcs1|pss|ecdsa|cms|cms-attached\n"
    "                  (--in=FILE | --challenge_b64=BASE64) [--out=FILE]\n"
    "                  [--chain=PEM_FILE  (CA certificates to include in CMS signatures)]\n"
    "Flags may also be given as environment variables USB_SIGNER_<FLAG>, e.g. USB_SIGNER_PIN.\n"
    "Without --out the signature is printed base64-encoded on stdout.\n";

// The environment restricted to USB_SIGNER_* variables, renamed to what config::Source expects
// (USB_SIGNER_PIN -> PIN), so stray variables such as TOKEN or IN never leak in.
std::map<std::string, std::string> SignerEnv() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string::npos || !absl::StartsWith(kv, kEnvPrefix)) continue;
    env[kv.substr(sizeof(kEnvPrefix) - 1, eq - (sizeof(kEnvPrefix) - 1))] = kv.substr(eq + 1);
  }
  return env;
}

int ExitCodeFor(const absl::Status& s) {
  const std::string reason = dvc::status::ReasonOf(s);
  if (reason == "PKCS11_MODULE_MISSING" || reason == "TOKEN_NOT_FOUND") return 3;
  if (reason == "TOKEN_PIN_INCORRECT" || reason == "TOKEN_PIN_LOCKED") return 4;
  if (reason == "TOKEN_CERT_NOT_FOUND" || reason == "TOKEN_KEY_NOT_FOUND" ||
      reason == "SIGNATURE_FORMAT_MISMATCH" || reason == "CERT_ID_MALFORMED") {
    return 5;
  }
  return 1;
}

int Fail(const absl::Status& s) {
  auto info = dvc::status::GetErrorInfo(s);
  if (info.has_value()) {
    std::cerr << "usb_signer: " << info->reason << ": " << info->message_en << "\n"
              << "usb_signer: " << info->message_vi << "\n";
  } else {
    std::cerr << "usb_signer: " << s.message() << "\n";
  }
  return ExitCodeFor(s);
}

int Usage(absl::string_view problem) {
  if (!problem.empty()) std::cerr << "usb_signer: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

// Every certificate of a PEM file, as DER; false when unreadable or when it holds none.
bool ReadPemCertificates(const std::string& path, std::vector<std::string>* out) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return false;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    unsigned char* der = nullptr;
    int n = i2d_X509(x, &der);
    if (n > 0) out->emplace_back(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    X509_free(x);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  return !out->empty();
}

struct Common {
  std::string module;
  std::string token;
  std::string pin;
};

// Reads --module, --token and the PIN (--pin, or --pin_file whose content is the PIN).
Common ReadCommon(config::Source& src) {
  Common c;
  c.module =
      src.String("module", "/usr/lib/softhsm/libsofthsm2.so", "path of the token's PKCS#11 module");
  c.token = src.String("token", "", "token label", /*required=*/true);
  c.pin = src.String("pin", "", "user PIN (prefer USB_SIGNER_PIN or --pin_file)");
  std::string pin_file = src.String("pin_file", "", "file whose content is the user PIN");
  if (!pin_file.empty()) {
    std::string content;
    if (ReadFile(pin_file, &content)) {
      while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
        content.pop_back();
      }
      c.pin = content;
    } else {
      c.pin.clear();
    }
  }
  return c;
}

int RunList(config::Source& src) {
  Common c = ReadCommon(src);
  if (absl::Status s = src.Finish(); !s.ok()) return Usage(s.message());
  if (c.pin.empty()) return Usage("a PIN is required (--pin, --pin_file or USB_SIGNER_PIN)");
  auto token = Pkcs11Token::Open(c.module, c.token, c.pin);
  if (!token.ok()) return Fail(token.status());
  for (const TokenCertificate& cert : (*token)->ListCertificates()) {
    std::cout << cert.id << "\t" << KeyTypeName(cert.key_type) << "\t"
              << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", cert.not_after, absl::UTCTimeZone()) << "\t"
              << cert.subject << "\n";
  }
  return 0;
}

int RunSign(config::Source& src) {
  Common c = ReadCommon(src);
  std::string cert_id = src.String("cert_id", "", "CKA_ID (hex) of the certificate to sign with",
                                   /*required=*/true);
  std::string format_name =
      src.Enum("format", "", "signature format", {"pkcs1", "pss", "ecdsa", "cms", "cms-attached"});
  std::string in = src.String("in", "", "file to sign");
  std::string challenge_b64 = src.String("challenge_b64", "", "data to sign, base64");
  std::string out = src.String("out", "", "output file (binary signature); default base64 stdout");
  std::string chain = src.String("chain", "", "PEM file of CA certificates to put in CMS output");
  if (absl::Status s = src.Finish(); !s.ok()) return Usage(s.message());
  if (c.pin.empty()) return Usage("a PIN is required (--pin, --pin_file or USB_SIGNER_PIN)");
  if (in.empty() == challenge_b64.empty()) {
    return Usage("give exactly one of --in and --challenge_b64");
  }
  std::string data;
  if (!in.empty()) {
    if (!ReadFile(in, &data)) return Usage(absl::StrCat("cannot read --in file '", in, "'"));
  } else {
    std::string b64(absl::StripAsciiWhitespace(challenge_b64));
    std::optional<std::string> decoded = dvc::crypto::Base64Decode(b64);
    if (!decoded.has_value()) decoded = dvc::crypto::Base64UrlDecode(b64);
    if (!decoded.has_value()) return Usage("--challenge_b64 is not valid base64");
    data = *decoded;
  }
  absl::StatusOr<SignatureFormat> format = ParseSignatureFormat(format_name);
  if (!format.ok()) return Fail(format.status());
  std::vector<std::string> chain_der;
  if (!chain.empty() && !ReadPemCertificates(chain, &chain_der)) {
    return Usage(absl::StrCat("--chain '", chain, "' is not a readable PEM certificate file"));
  }

  auto token = Pkcs11Token::Open(c.module, c.token, c.pin);
  if (!token.ok()) return Fail(token.status());
  absl::StatusOr<std::string> sig = (*token)->Sign(cert_id, data, *format, chain_der);
  if (!sig.ok()) return Fail(sig.status());
  if (out.empty()) {
    std::cout << dvc::crypto::Base64Encode(*sig) << "\n";
    return 0;
  }
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f.write(sig->data(), sig->size());
  f.close();
  if (!f) {
    std::cerr << "usb_signer: cannot write '" << out << "'\n";
    return 1;
  }
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage("");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command != "list" && command != "sign") {
    return Usage(absl::StrCat("unknown command '", command, "'"));
  }
  config::Source src(std::vector<std::string>(argv + 2, argv + argc), SignerEnv());
  return command == "list" ? RunList(src) : RunSign(src);
}

}  // namespace
}  // namespace dvc::usb_signer

int main(int argc, char** argv) { return dvc::usb_signer::Main(argc, argv); }
