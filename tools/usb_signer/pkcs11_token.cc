#include "tools/usb_signer/pkcs11_token.h"

#include <dlfcn.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/crypto/encoding.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

// The DER of a CMS SignerInfo's signed attributes as they are signed: a SET OF Attribute with
// the universal SET tag, sorted (RFC 5652 §5.4). Same shape as OpenSSL's internal
// CMS_Attributes_Sign, which is not exported. Defined at the end of this file.
typedef STACK_OF(X509_ATTRIBUTE) DvcCmsSignedAttrs;
DECLARE_ASN1_ITEM(DvcCmsSignedAttrs)

namespace dvc::usb_signer {
namespace internal {

// A dlopen()ed module and what the instances of this process share on it.
struct Module {
  void* handle = nullptr;
  CK_FUNCTION_LIST_PTR fn = nullptr;
  bool finalize = true;  // false when someone else in the process had initialised it
  int refs = 0;
  struct Login {
    int sessions = 0;        // our open sessions on the token (login state is per token)
    std::string pin_digest;  // SHA-256 of the PIN that logged in, to check later Open()s
  };
  std::map<CK_SLOT_ID, Login> logins;
};

}  // namespace internal

namespace {

using internal::CkrName;
using internal::Module;

// Guards the module registry and every Module's refs/logins. Held for Open() and ~Pkcs11Token()
// only; signing uses the per-instance mutex.
std::mutex& RegistryMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
std::map<void*, Module*>& Registry() {
  static auto* registry = new std::map<void*, Module*>();
  return *registry;
}

template <typename T>
struct OsslDeleter;
#define DVC_OSSL_DELETER(T, fn)            \
  template <>                              \
  struct OsslDeleter<T> {                  \
    void operator()(T* p) const { fn(p); } \
  }
DVC_OSSL_DELETER(X509, X509_free);
DVC_OSSL_DELETER(BIO, BIO_free_all);
DVC_OSSL_DELETER(CMS_ContentInfo, CMS_ContentInfo_free);
DVC_OSSL_DELETER(ECDSA_SIG, ECDSA_SIG_free);
DVC_OSSL_DELETER(ASN1_TIME, ASN1_TIME_free);
#undef DVC_OSSL_DELETER
template <typename T>
using Ossl = std::unique_ptr<T, OsslDeleter<T>>;

absl::Status Pkcs11Error(absl::string_view what, CK_RV rv) {
  std::string detail = absl::StrCat(what, " failed: ", CkrName(rv));
  return dvc::status::MakeError(absl::StatusCode::kInternal,
                                {"PKCS11_ERROR",
                                 "",
                                 absl::StrCat("Lỗi thiết bị ký số (PKCS#11): ", detail),
                                 absl::StrCat("Signing token error (PKCS#11): ", detail),
                                 {}});
}

absl::Status OpensslError(absl::string_view what) {
  return dvc::status::MakeError(absl::StatusCode::kInternal,
                                {"SIGNATURE_BUILD_FAILED",
                                 "",
                                 absl::StrCat("Không tạo được chữ ký: ", what),
                                 absl::StrCat("Could not build the signature: ", what),
                                 {}});
}

std::string Sha256(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof(md));
}

std::string TrimLabel(const unsigned char* label, size_t len) {
  std::string s(reinterpret_cast<const char*>(label), len);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string NameToString(const X509_NAME* name) {
  Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return "";
  // RFC 2253 order and escaping, but UTF-8 characters kept as they are (no \XX escapes).
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, n) : "";
}

// Loads (or reuses) the module at `path` and takes a reference on it. Call with RegistryMutex
// held.
absl::StatusOr<Module*> AcquireModule(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    std::string detail = absl::StrCat(path, ": ", err != nullptr ? err : "dlopen failed");
    return dvc::status::FailedPrecondition(
        "PKCS11_MODULE_MISSING", "module",
        absl::StrCat("Không nạp được thư viện PKCS#11 của thiết bị ký số (", detail,
                     "). Hãy cài đặt trình điều khiển của USB token."),
        absl::StrCat("Cannot load the token's PKCS#11 module (", detail,
                     "). Install the USB token driver."));
  }
  auto& registry = Registry();
  if (auto it = registry.find(handle); it != registry.end()) {
    dlclose(handle);  // the registry's reference keeps it loaded
    ++it->second->refs;
    return it->second;
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR fn = nullptr;
  if (get_list == nullptr || get_list(&fn) != CKR_OK || fn == nullptr) {
    dlclose(handle);
    return dvc::status::FailedPrecondition(
        "PKCS11_MODULE_MISSING", "module",
        absl::StrCat("Tệp ", path, " không phải là thư viện PKCS#11 hợp lệ."),
        absl::StrCat(path, " is not a usable PKCS#11 module (no C_GetFunctionList)."));
  }
  CK_C_INITIALIZE_ARGS args;
  std::memset(&args, 0, sizeof(args));
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = fn->C_Initialize(&args);
  bool finalize = true;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    finalize = false;  // initialised by another library of this process: leave it to it
  } else if (rv != CKR_OK) {
    dlclose(handle);
    return Pkcs11Error("C_Initialize", rv);
  }
  auto* m = new Module();
  m->handle = handle;
  m->fn = fn;
  m->finalize = finalize;
  m->refs = 1;
  registry[handle] = m;
  return m;
}

// Call with RegistryMutex held.
void ReleaseModule(Module* m) {
  if (--m->refs > 0) return;
  Registry().erase(m->handle);
  if (m->finalize) m->fn->C_Finalize(nullptr);
  // The module stays mapped: SoftHSM2 and other OpenSSL-based modules register process-exit
  // handlers, and unmapping them would crash at exit. A later Open() re-initialises it.
  delete m;
}

// Finds objects matching `tmpl`. Call with the instance mutex held.
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(CK_FUNCTION_LIST_PTR fn,
                                                          CK_SESSION_HANDLE session,
                                                          std::vector<CK_ATTRIBUTE> tmpl) {
  CK_RV rv = fn->C_FindObjectsInit(session, tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return Pkcs11Error("C_FindObjectsInit", rv);
  std::vector<CK_OBJECT_HANDLE> out;
  while (true) {
    CK_OBJECT_HANDLE batch[32];
    CK_ULONG n = 0;
    rv = fn->C_FindObjects(session, batch, 32, &n);
    if (rv != CKR_OK) {
      fn->C_FindObjectsFinal(session);
      return Pkcs11Error("C_FindObjects", rv);
    }
    if (n == 0) break;
    out.insert(out.end(), batch, batch + n);
  }
  rv = fn->C_FindObjectsFinal(session);
  if (rv != CKR_OK) return Pkcs11Error("C_FindObjectsFinal", rv);
  return out;
}

absl::StatusOr<std::string> GetAttribute(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE session,
                                         CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attr = {type, nullptr, 0};
  CK_RV rv = fn->C_GetAttributeValue(session, obj, &attr, 1);
  if (rv != CKR_OK) return Pkcs11Error("C_GetAttributeValue", rv);
  if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return Pkcs11Error("C_GetAttributeValue (unavailable)", rv);
  }
  std::string value(attr.ulValueLen, '\0');
  attr.pValue = value.data();
  rv = fn->C_GetAttributeValue(session, obj, &attr, 1);
  if (rv != CKR_OK) return Pkcs11Error("C_GetAttributeValue", rv);
  value.resize(attr.ulValueLen);
  return value;
}

absl::StatusOr<TokenCertificate> ParseCertificate(std::string id_bytes, std::string label,
                                                  std::string der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Ossl<X509> x(d2i_X509(nullptr, &p, der.size()));
  if (x == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return OpensslError("certificate on the token is not DER X.509");
  }
  TokenCertificate c;
  c.id = dvc::crypto::HexEncode(id_bytes);
  c.label = std::move(label);
  c.subject = NameToString(X509_get_subject_name(x.get()));
  c.issuer = NameToString(X509_get_issuer_name(x.get()));
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x.get()), &tm) != 1) {
    return OpensslError("certificate notAfter is unreadable");
  }
  c.not_after = absl::FromTM(tm, absl::UTCTimeZone());
  switch (EVP_PKEY_get_base_id(X509_get0_pubkey(x.get()))) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      c.key_type = KeyType::kRsa;
      break;
    case EVP_PKEY_EC:
      c.key_type = KeyType::kEc;
      break;
    default:
      c.key_type = KeyType::kOther;
  }
  c.der = std::move(der);
  return c;
}

absl::Status FormatMismatch(SignatureFormat format, KeyType key) {
  return dvc::status::InvalidArgument(
      "SIGNATURE_FORMAT_MISMATCH", "format",
      absl::StrCat("Định dạng chữ ký ", SignatureFormatName(format), " không dùng được với khóa ",
                   KeyTypeName(key), "."),
      absl::StrCat("Signature format ", SignatureFormatName(format), " cannot be used with a ",
                   KeyTypeName(key), " key."));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

absl::StatusOr<SignatureFormat> ParseSignatureFormat(absl::string_view name) {
  if (name == "pkcs1") return SignatureFormat::kPkcs1Sha256;
  if (name == "pss") return SignatureFormat::kPssSha256;
  if (name == "ecdsa") return SignatureFormat::kEcdsaSha256;
  if (name == "cms") return SignatureFormat::kCmsDetached;
  if (name == "cms-attached") return SignatureFormat::kCmsAttached;
  return dvc::status::InvalidArgument("SIGNATURE_FORMAT_UNKNOWN", "format",
                                      absl::StrCat("Định dạng chữ ký không hợp lệ: '", name,
                                                   "' (pkcs1, pss, ecdsa, cms, cms-attached)."),
                                      absl::StrCat("Unknown signature format '", name,
                                                   "' (pkcs1, pss, ecdsa, cms, cms-attached)."));
}

const char* SignatureFormatName(SignatureFormat format) {
  switch (format) {
    case SignatureFormat::kPkcs1Sha256:
      return "pkcs1";
    case SignatureFormat::kPssSha256:
      return "pss";
    case SignatureFormat::kEcdsaSha256:
      return "ecdsa";
    case SignatureFormat::kCmsDetached:
      return "cms";
    case SignatureFormat::kCmsAttached:
      return "cms-attached";
  }
  return "?";
}

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEc:
      return "EC";
    case KeyType::kOther:
      return "OTHER";
  }
  return "?";
}

namespace internal {

absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66) {
    return OpensslError(absl::StrCat("ECDSA signature from the token has length ", raw.size()));
  }
  const size_t half = raw.size() / 2;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  Ossl<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, half, nullptr);
  BIGNUM* s = BN_bin2bn(p + half, half, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return OpensslError("ECDSA_SIG");
  }
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig.get(), &der);
  if (n <= 0) return OpensslError("i2d_ECDSA_SIG");
  std::string out(reinterpret_cast<char*>(der), n);
  OPENSSL_free(der);
  return out;
}

absl::Status LoginResultToStatus(unsigned long rv) {
  switch (rv) {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN:
      return absl::OkStatus();
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return dvc::status::InvalidArgument("TOKEN_PIN_INCORRECT", "pin",
                                          "Mã PIN của thiết bị ký số không đúng.",
                                          "The token PIN is incorrect.");
    case CKR_PIN_LOCKED:
      return dvc::status::FailedPrecondition(
          "TOKEN_PIN_LOCKED", "pin",
          "Mã PIN của thiết bị ký số đã bị khóa. Hãy liên hệ nhà cung cấp chứng thư số để mở "
          "khóa.",
          "The token PIN is locked. Contact your certificate provider to unlock it.");
    default:
      return Pkcs11Error("C_Login", rv);
  }
}

std::string CkrName(unsigned long rv) {
  static const std::map<unsigned long, const char*> kNames = {
      {CKR_OK, "CKR_OK"},
      {CKR_CANCEL, "CKR_CANCEL"},
      {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
      {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
      {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
      {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
      {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
      {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
      {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
      {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
      {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
      {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
      {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
      {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
      {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
      {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
      {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
      {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
      {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
      {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
      {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
      {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
      {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
      {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
      {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
      {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
      {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
      {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
      {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
      {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
      {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
      {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
      {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
      {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
      {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
      {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
      {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
  };
  if (auto it = kNames.find(rv); it != kNames.end()) return it->second;
  return absl::StrFormat("CKR_0x%08X", rv);
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------

Pkcs11Token::Pkcs11Token(internal::Module* module, unsigned long slot, unsigned long session,
                         std::string token_label)
    : module_(module), slot_(slot), session_(session), token_label_(std::move(token_label)) {}

absl::StatusOr<std::unique_ptr<Pkcs11Token>> Pkcs11Token::Open(const std::string& module_path,
                                                               const std::string& token_label,
                                                               const std::string& pin) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  absl::StatusOr<Module*> acquired = AcquireModule(module_path);
  if (!acquired.ok()) return acquired.status();
  Module* m = *acquired;
  CK_FUNCTION_LIST_PTR fn = m->fn;

  // The slot holding the token.
  CK_ULONG count = 0;
  CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  if (rv == CKR_OK && count > 0) rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) {
    ReleaseModule(m);
    return Pkcs11Error("C_GetSlotList", rv);
  }
  slots.resize(count);
  std::optional<CK_SLOT_ID> slot;
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO info;
    if (fn->C_GetTokenInfo(s, &info) != CKR_OK) continue;
    if (TrimLabel(info.label, sizeof(info.label)) == token_label) {
      slot = s;
      break;
    }
  }
  if (!slot.has_value()) {
    ReleaseModule(m);
    return dvc::status::NotFound("TOKEN_NOT_FOUND", "token",
                                 absl::StrCat("Không tìm thấy thiết bị ký số \"", token_label,
                                              "\". Hãy cắm USB token và thử lại."),
                                 absl::StrCat("Signing token \"", token_label,
                                              "\" not found. Plug in the USB token and "
                                              "try again."));
  }

  CK_SESSION_HANDLE session = 0;
  rv = fn->C_OpenSession(*slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session);
  if (rv != CKR_OK) {
    ReleaseModule(m);
    return Pkcs11Error("C_OpenSession", rv);
  }

  // Login state is shared by all sessions of the application on a token: when another instance
  // of this process is already logged in, the PIN is checked against the one it used.
  std::string digest = Sha256(pin);
  internal::Module::Login& login = m->logins[*slot];
  absl::Status st;
  if (login.sessions > 0) {
    if (login.pin_digest != digest) st = internal::LoginResultToStatus(CKR_PIN_INCORRECT);
  } else {
    rv = fn->C_Login(session, CKU_USER,
                     reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())), pin.size());
    st = internal::LoginResultToStatus(rv);
  }
  if (!st.ok()) {
    if (login.sessions == 0) m->logins.erase(*slot);
    fn->C_CloseSession(session);
    ReleaseModule(m);
    return st;
  }
  login.sessions++;
  login.pin_digest = digest;
  return std::unique_ptr<Pkcs11Token>(new Pkcs11Token(m, *slot, session, token_label));
}

Pkcs11Token::~Pkcs11Token() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  CK_FUNCTION_LIST_PTR fn = module_->fn;
  auto it = module_->logins.find(slot_);
  if (it != module_->logins.end() && --it->second.sessions <= 0) {
    fn->C_Logout(session_);
    module_->logins.erase(it);
  }
  fn->C_CloseSession(session_);
  ReleaseModule(module_);
}

std::vector<TokenCertificate> Pkcs11Token::ListCertificates() {
  std::lock_guard<std::mutex> lock(mu_);
  CK_FUNCTION_LIST_PTR fn = module_->fn;
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  std::vector<TokenCertificate> out;
  auto objects = FindObjects(
      fn, session_, {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CERTIFICATE_TYPE, &type, sizeof(type)}});
  if (!objects.ok()) {
    dvc::log::Warn("usb_signer.list_failed", {{"error", std::string(objects.status().message())}});
    return out;
  }
  for (CK_OBJECT_HANDLE obj : *objects) {
    auto der = GetAttribute(fn, session_, obj, CKA_VALUE);
    auto id = GetAttribute(fn, session_, obj, CKA_ID);
    auto label = GetAttribute(fn, session_, obj, CKA_LABEL);
    if (!der.ok() || !id.ok()) continue;
    auto cert = ParseCertificate(*id, label.ok() ? *label : "", *der);
    if (!cert.ok()) continue;
    out.push_back(*std::move(cert));
  }
  return out;
}

absl::StatusOr<TokenCertificate> Pkcs11Token::FindCertificate(const std::string& id_bytes) {
  CK_FUNCTION_LIST_PTR fn = module_->fn;
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  auto objects = FindObjects(fn, session_,
                             {{CKA_CLASS, &cls, sizeof(cls)},
                              {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
                              {CKA_ID, const_cast<char*>(id_bytes.data()), id_bytes.size()}});
  if (!objects.ok()) return objects.status();
  if (objects->empty()) {
    std::string hex = dvc::crypto::HexEncode(id_bytes);
    return dvc::status::NotFound(
        "TOKEN_CERT_NOT_FOUND", "cert_id",
        absl::StrCat("Không có chứng thư số mã ", hex, " trên thiết bị ký số."),
        absl::StrCat("No certificate with id ", hex, " on the token."));
  }
  auto der = GetAttribute(fn, session_, objects->front(), CKA_VALUE);
  if (!der.ok()) return der.status();
  auto label = GetAttribute(fn, session_, objects->front(), CKA_LABEL);
  return ParseCertificate(id_bytes, label.ok() ? *label : "", *der);
}

absl::StatusOr<unsigned long> Pkcs11Token::FindPrivateKey(const std::string& id_bytes) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  auto objects = FindObjects(module_->fn, session_,
                             {{CKA_CLASS, &cls, sizeof(cls)},
                              {CKA_ID, const_cast<char*>(id_bytes.data()), id_bytes.size()}});
  if (!objects.ok()) return objects.status();
  if (objects->empty()) {
    std::string hex = dvc::crypto::HexEncode(id_bytes);
    return dvc::status::NotFound(
        "TOKEN_KEY_NOT_FOUND", "cert_id",
        absl::StrCat("Thiết bị ký số không có khóa bí mật cho chứng thư số mã ", hex, "."),
        absl::StrCat("The token holds no private key for certificate id ", hex, "."));
  }
  return objects->front();
}

absl::StatusOr<std::string> Pkcs11Token::RawSign(unsigned long key, unsigned long mechanism,
                                                 void* params, unsigned long params_len,
                                                 absl::string_view data) {
  CK_FUNCTION_LIST_PTR fn = module_->fn;
  CK_MECHANISM mech = {mechanism, params, params_len};
  CK_RV rv = fn->C_SignInit(session_, &mech, key);
  if (rv != CKR_OK) return Pkcs11Error("C_SignInit", rv);
  auto* in = reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(data.data()));
  CK_ULONG len = 0;
  rv = fn->C_Sign(session_, in, data.size(), nullptr, &len);  // size query keeps it active
  if (rv != CKR_OK) return Pkcs11Error("C_Sign", rv);
  std::string sig(len, '\0');
  rv = fn->C_Sign(session_, in, data.size(), reinterpret_cast<CK_BYTE_PTR>(sig.data()), &len);
  if (rv != CKR_OK) return Pkcs11Error("C_Sign", rv);
  sig.resize(len);
  return sig;
}

absl::StatusOr<std::string> Pkcs11Token::SignCms(const TokenCertificate& cert, unsigned long key,
                                                 absl::string_view data, bool attached,
                                                 const std::vector<std::string>& extra_certs_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert.der.data());
  Ossl<X509> x(d2i_X509(nullptr, &p, cert.der.size()));
  if (x == nullptr) return OpensslError("d2i_X509");
  Ossl<CMS_ContentInfo> cms(CMS_ContentInfo_new());
  if (cms == nullptr || CMS_SignedData_init(cms.get()) != 1) {
    return OpensslError("CMS_SignedData_init");
  }
  // CMS_add1_signer insists on a key matching the certificate; the public key does, and it is
  // only used to choose the signature algorithm identifier. Nothing is signed by OpenSSL.
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), x.get(), X509_get0_pubkey(x.get()), EVP_sha256(),
                                       CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP);
  if (si == nullptr) return OpensslError("CMS_add1_signer");
  std::vector<const std::string*> added = {&cert.der};
  for (const std::string& der : extra_certs_der) {
    // CMS_add1_cert refuses duplicates: skip the signer's own certificate and repeats.
    bool seen = false;
    for (const std::string* a : added) seen = seen || *a == der;
    if (seen) continue;
    added.push_back(&der);
    const auto* q = reinterpret_cast<const unsigned char*>(der.data());
    Ossl<X509> extra(d2i_X509(nullptr, &q, der.size()));
    if (extra == nullptr) {
      return dvc::status::InvalidArgument(
          "CHAIN_CERT_MALFORMED", "chain", "Chứng thư số bổ sung (chuỗi CA) không hợp lệ.",
          "An additional (CA chain) certificate is not valid DER X.509.");
    }
    if (CMS_add1_cert(cms.get(), extra.get()) <= 0) return OpensslError("CMS_add1_cert");
  }

  const std::string digest = Sha256(data);
  Ossl<ASN1_TIME> now(X509_gmtime_adj(nullptr, 0));
  if (now == nullptr ||
      CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                  OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
      CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, now->type, now.get(), -1) != 1 ||
      CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest.data(),
                                  digest.size()) != 1) {
    return OpensslError("signed attributes");
  }

  // The DER the signature covers.
  STACK_OF(X509_ATTRIBUTE)* attrs = sk_X509_ATTRIBUTE_new_null();
  if (attrs == nullptr) return OpensslError("out of memory");
  for (int i = 0; i < CMS_signed_get_attr_count(si); ++i) {
    sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i));
  }
  unsigned char* attrs_der = nullptr;
  int attrs_len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(attrs), &attrs_der,
                                ASN1_ITEM_rptr(DvcCmsSignedAttrs));
  sk_X509_ATTRIBUTE_free(attrs);  // the attributes belong to `si`
  if (attrs_len <= 0) return OpensslError("encoding the signed attributes");
  std::string to_sign(reinterpret_cast<char*>(attrs_der), attrs_len);
  OPENSSL_free(attrs_der);

  absl::StatusOr<std::string> sig;
  if (cert.key_type == KeyType::kRsa) {
    sig = RawSign(key, CKM_SHA256_RSA_PKCS, nullptr, 0, to_sign);
  } else {
    auto raw = RawSign(key, CKM_ECDSA, nullptr, 0, Sha256(to_sign));
    sig = raw.ok() ? internal::EcdsaRawToDer(*raw) : raw;
  }
  if (!sig.ok()) return sig.status();
  if (ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig->data(), sig->size()) != 1) {
    return OpensslError("setting the signature");
  }

  if (attached) {
    ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
    if (content == nullptr) return OpensslError("CMS_get0_content");
    if (*content == nullptr) *content = ASN1_OCTET_STRING_new();
    if (*content == nullptr ||
        ASN1_OCTET_STRING_set(*content, reinterpret_cast<const unsigned char*>(data.data()),
                              data.size()) != 1) {
      return OpensslError("setting the content");
    }
  } else if (CMS_set_detached(cms.get(), 1) != 1) {
    return OpensslError("CMS_set_detached");
  }
  // Fixes up the SignedData version numbers (RFC 5652 §5.1); the returned BIO is not needed.
  BIO* chain = CMS_dataInit(cms.get(), nullptr);
  if (chain == nullptr) return OpensslError("CMS_dataInit");
  BIO_free_all(chain);

  unsigned char* out = nullptr;
  int out_len = i2d_CMS_ContentInfo(cms.get(), &out);
  if (out_len <= 0) return OpensslError("i2d_CMS_ContentInfo");
  std::string der(reinterpret_cast<char*>(out), out_len);
  OPENSSL_free(out);
  return der;
}

absl::StatusOr<std::string> Pkcs11Token::Sign(const std::string& cert_id_hex,
                                              absl::string_view data, SignatureFormat format,
                                              const std::vector<std::string>& extra_certs_der) {
  std::optional<std::string> id = dvc::crypto::HexDecode(cert_id_hex);
  if (!id.has_value() || id->empty()) {
    return dvc::status::InvalidArgument("CERT_ID_MALFORMED", "cert_id",
                                        "Mã chứng thư số phải là chuỗi hex (CKA_ID).",
                                        "The certificate id must be a hex string (CKA_ID).");
  }
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<TokenCertificate> cert = FindCertificate(*id);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<unsigned long> key = FindPrivateKey(*id);
  if (!key.ok()) return key.status();

  switch (format) {
    case SignatureFormat::kPkcs1Sha256:
      if (cert->key_type != KeyType::kRsa) return FormatMismatch(format, cert->key_type);
      return RawSign(*key, CKM_SHA256_RSA_PKCS, nullptr, 0, data);
    case SignatureFormat::kPssSha256: {
      if (cert->key_type != KeyType::kRsa) return FormatMismatch(format, cert->key_type);
      CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
      return RawSign(*key, CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss), data);
    }
    case SignatureFormat::kEcdsaSha256: {
      if (cert->key_type != KeyType::kEc) return FormatMismatch(format, cert->key_type);
      absl::StatusOr<std::string> raw = RawSign(*key, CKM_ECDSA, nullptr, 0, Sha256(data));
      if (!raw.ok()) return raw.status();
      return internal::EcdsaRawToDer(*raw);
    }
    case SignatureFormat::kCmsDetached:
    case SignatureFormat::kCmsAttached:
      if (cert->key_type == KeyType::kOther) return FormatMismatch(format, cert->key_type);
      return SignCms(*cert, *key, data, format == SignatureFormat::kCmsAttached, extra_certs_der);
  }
  return FormatMismatch(format, cert->key_type);
}

}  // namespace dvc::usb_signer

// clang-format off
ASN1_ITEM_TEMPLATE(DvcCmsSignedAttrs) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_ORDER, 0, DvcCmsSignedAttrs, X509_ATTRIBUTE)
ASN1_ITEM_TEMPLATE_END(DvcCmsSignedAttrs)
