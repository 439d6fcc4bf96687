#include "services/sigverify/domain/certificate.h"

#include "services/sigverify/domain/x509_util.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"
#include "libs/validators/cccd.h"
#include "libs/validators/mst.h"

namespace dvc::sigverify {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct OpensslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

constexpr char kField[] = "certificate";

absl::Status Malformed(absl::string_view why_vi, absl::string_view why_en) {
  return status::InvalidArgument(
      "CERT_MALFORMED", kField, absl::StrCat("Chứng thư số không hợp lệ: ", why_vi, "."),
      absl::StrCat("The certificate is malformed: ", why_en, "."));
}

absl::Status ChainTooLong(size_t max_certs) {
  return status::InvalidArgument(
      "CERT_CHAIN_TOO_LONG", kField,
      absl::StrCat("Chuỗi chứng thư số quá dài (tối đa ", max_certs, " chứng thư, ",
                   kMaxChainBytes / 1024, " KiB)."),
      absl::StrCat("The certificate chain is too long (at most ", max_certs, " certificates, ",
                   kMaxChainBytes / 1024, " KiB)."));
}

absl::Status IdentityInvalid(absl::string_view prefix, bool conflict) {
  if (conflict) {
    return status::InvalidArgument(
        "CERT_IDENTITY_INVALID", kField,
        absl::StrCat("Chứng thư số chứa nhiều mã định danh ", prefix, " khác nhau."),
        absl::StrCat("The certificate holds conflicting ", prefix, " identifiers (UID)."));
  }
  return status::InvalidArgument(
      "CERT_IDENTITY_INVALID", kField,
      absl::StrCat("Mã định danh ", prefix, " trong chứng thư số không hợp lệ."),
      absl::StrCat("The ", prefix, " identifier (UID) in the certificate is malformed."));
}

// A DER certificate starts with a SEQUENCE tag; PEM text never does.
bool LooksLikeDer(absl::string_view in) {
  return !in.empty() && static_cast<unsigned char>(in.front()) == 0x30;
}

// Decodes the DER certificate at the start of `in`; `*consumed` = its encoded length.
absl::StatusOr<X509Ptr> DecodeDer(absl::string_view in, size_t* consumed) {
  const auto* start = reinterpret_cast<const unsigned char*>(in.data());
  const unsigned char* p = start;
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(in.size()));
  if (x == nullptr) {
    return Malformed("không phải chứng thư X.509 (DER)", "not a DER-encoded X.509 certificate");
  }
  *consumed = static_cast<size_t>(p - start);
  return AdoptX509(x);
}

// Exactly one DER certificate, nothing after it.
absl::StatusOr<X509Ptr> DecodeDerExact(absl::string_view der) {
  size_t consumed = 0;
  absl::StatusOr<X509Ptr> x = DecodeDer(der, &consumed);
  if (!x.ok()) return x.status();
  if (consumed != der.size()) {
    return Malformed("có dữ liệu thừa sau chứng thư", "unexpected bytes after the certificate");
  }
  return x;
}

// Iterates the PEM blocks of `text`: Next() yields the DER of each CERTIFICATE block (other
// block types skipped), nullopt at the end, or an error for a corrupt block.
class PemCertificates final {
 public:
  explicit PemCertificates(absl::string_view text)
      : bio_(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))) {}

  absl::StatusOr<std::optional<std::string>> Next() {
    if (!bio_) return status::Internal();
    for (;;) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* data = nullptr;
      long len = 0;
      if (PEM_read_bio(bio_.get(), &name, &header, &data, &len) != 1) {
        const unsigned long err = ERR_peek_last_error();
        ERR_clear_error();
        if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
          return std::optional<std::string>();
        }
        return Malformed("khối PEM bị hỏng", "corrupt PEM block");
      }
      std::unique_ptr<char, OpensslFree> name_owner(name);
      std::unique_ptr<char, OpensslFree> header_owner(header);
      std::unique_ptr<unsigned char, OpensslFree> data_owner(data);
      const absl::string_view block(name);
      if (block != PEM_STRING_X509 && block != PEM_STRING_X509_OLD) continue;
      if (header != nullptr && header[0] != '\0') {
        return Malformed("khối PEM có tiêu đề không mong đợi", "unexpected PEM headers");
      }
      if (len <= 0) return Malformed("khối PEM trống", "empty PEM block");
      return std::optional<std::string>(
          std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len)));
    }
  }

 private:
  BioPtr bio_;
};

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  // RFC 2253 without escaping bytes ≥ 0x80, so UTF-8 (Vietnamese) stays readable.
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return "";
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// An attribute value as UTF-8 (BMPString, UniversalString, T61String, PrintableString,
// IA5String and UTF8String all convert). nullopt when it is not a string type, not valid in its
// encoding, or holds a NUL.
std::optional<std::string> ToUtf8(const ASN1_STRING* value) {
  if (value == nullptr) return std::nullopt;
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, value);
  if (n < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::unique_ptr<unsigned char, OpensslFree> owner(out);
  std::string s(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  if (s.find('\0') != std::string::npos) return std::nullopt;
  return s;
}

std::optional<std::string> SerialHex(const X509* x) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  std::unique_ptr<BIGNUM, BnFree> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return std::nullopt;
  std::unique_ptr<char, OpensslFree> hex(BN_bn2hex(bn.get()));
  if (!hex) return std::nullopt;
  std::string s(hex.get());
  // BN_bn2hex prints whole bytes ("0ABC"): strip leading zero digits, keep a sign.
  const size_t digits = !s.empty() && s[0] == '-' ? 1 : 0;
  size_t first = s.find_first_not_of('0', digits);
  if (first == std::string::npos) return std::string("0");
  return absl::StrCat(s.substr(0, digits), s.substr(first));
}

std::string ObjectName(const ASN1_OBJECT* obj) {
  const int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) return OBJ_nid2ln(nid);
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof(buf), obj, /*no_name=*/1);
  if (n <= 0) return "";
  return std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

bool IsPersonalPrefix(absl::string_view p) {
  return p == "CCCD" || p == "CMND" || p == "HC" || p == "PID" || p == "PPID";
}

SubjectUid SplitUid(absl::string_view attribute) {
  SubjectUid uid;
  const absl::string_view raw = absl::StripAsciiWhitespace(attribute);
  uid.raw = std::string(raw);
  const size_t colon = raw.find(':');
  if (colon == absl::string_view::npos) {
    uid.value = uid.raw;
    return uid;
  }
  uid.prefix = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(raw.substr(0, colon)));
  uid.value = std::string(absl::StripAsciiWhitespace(raw.substr(colon + 1)));
  return uid;
}

void Classify(CertificateIdentity* id) {
  bool business = false, agency = false, person = false;
  auto first = [](std::optional<std::string>* slot, const std::string& v) {
    if (!slot->has_value()) *slot = v;
  };
  std::optional<std::string> ppid;
  for (const SubjectUid& u : id->uids) {
    if (u.prefix == "MST") {
      business = true;
      first(&id->mst, u.value);
    } else if (u.prefix == "MNS") {
      agency = true;
      first(&id->mns, u.value);
    } else if (IsPersonalPrefix(u.prefix)) {
      person = true;
      if (u.prefix == "CCCD") first(&id->cccd, u.value);
      if (u.prefix == "CMND") first(&id->cmnd, u.value);
      if (u.prefix == "HC") first(&id->passport, u.value);
      if (u.prefix == "PPID") first(&ppid, u.value);
    }
  }
  if (!id->passport.has_value() && ppid.has_value()) id->passport = ppid;
  id->kind = business ? SubjectKind::kBusiness
             : agency ? SubjectKind::kAgency
             : person ? SubjectKind::kPerson
                      : SubjectKind::kSeal;
}

absl::StatusOr<CertificateIdentity> ExtractIdentity(const X509* x) {
  CertificateIdentity id;
  const X509_NAME* name = X509_get_subject_name(x);
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    std::string* slot = nullptr;
    bool is_uid = false;
    switch (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry))) {
      case NID_commonName: slot = &id.common_name; break;
      case NID_organizationName: slot = &id.organization; break;
      case NID_organizationalUnitName: slot = &id.organizational_unit; break;
      case NID_localityName: slot = &id.locality; break;
      case NID_stateOrProvinceName: slot = &id.state; break;
      case NID_countryName: slot = &id.country; break;
      case NID_pkcs9_emailAddress: slot = &id.email; break;
      case NID_telephoneNumber: slot = &id.telephone; break;
      case NID_userId: is_uid = true; break;
      default: continue;  // other attributes only appear in the printed subject
    }
    std::optional<std::string> value = ToUtf8(X509_NAME_ENTRY_get_data(entry));
    if (!value.has_value()) {
      return Malformed("một thuộc tính của chủ thể không phải chuỗi ký tự hợp lệ",
                       "a subject attribute is not a valid character string");
    }
    if (is_uid) {
      id.uids.push_back(SplitUid(*value));
    } else if (slot->empty()) {
      *slot = *std::move(value);
    }
  }
  if (id.email.empty()) {
    int crit = 0;
    std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(x, NID_subject_alt_name, &crit, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      if (gn->type != GEN_EMAIL) continue;
      std::optional<std::string> email = ToUtf8(gn->d.rfc822Name);
      if (!email.has_value()) {
        return Malformed("địa chỉ thư điện tử trong subjectAltName không hợp lệ",
                         "an rfc822Name in subjectAltName is not a valid string");
      }
      id.email = *std::move(email);
      break;
    }
  }
  Classify(&id);
  return id;
}

absl::StatusOr<ParsedCertificate> Describe(X509Ptr x509, std::string der) {
  X509* x = x509.get();
  ParsedCertificate out;
  if (der.size() > kMaxCertificateBytes) {
    return Malformed("chứng thư lớn hơn 16 KiB", "larger than 16 KiB");
  }
  // Extensions OpenSSL cannot decode, duplicated extensions, inconsistent basic constraints.
  if ((X509_get_extension_flags(x) & EXFLAG_INVALID) != 0) {
    ERR_clear_error();
    return Malformed("phần mở rộng không hợp lệ", "invalid or duplicated extensions");
  }
  out.fingerprint_sha256 = Sha256Fingerprint(x);

  std::optional<std::string> serial = SerialHex(x);
  if (!serial.has_value()) return Malformed("số hiệu không hợp lệ", "invalid serial number");
  out.serial_hex = *std::move(serial);
  out.subject = NameToString(X509_get_subject_name(x));
  out.issuer = NameToString(X509_get_issuer_name(x));
  const X509_NAME* issuer = X509_get_issuer_name(x);
  const int cn_index = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
  if (cn_index >= 0) {
    std::optional<std::string> cn =
        ToUtf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, cn_index)));
    if (!cn.has_value()) {
      return Malformed("tên tổ chức cấp không hợp lệ", "the issuer common name is not a string");
    }
    out.issuer_common_name = *std::move(cn);
  }

  const std::optional<absl::Time> not_before = Asn1TimeToAbsl(X509_get0_notBefore(x));
  const std::optional<absl::Time> not_after = Asn1TimeToAbsl(X509_get0_notAfter(x));
  out.not_before = not_before.value_or(absl::InfinitePast());
  out.not_after = not_after.value_or(absl::InfinitePast());
  if (!not_before.has_value() || !not_after.has_value()) {
    return Malformed("thời hạn hiệu lực không hợp lệ", "invalid validity dates");
  }

  EVP_PKEY* key = X509_get0_pubkey(x);
  if (key == nullptr) {
    ERR_clear_error();
    return Malformed("khóa công khai không hợp lệ hoặc không được hỗ trợ",
                     "the public key is corrupt or of an unsupported type");
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: out.key_algorithm = "RSA"; break;
    case EVP_PKEY_EC: out.key_algorithm = "EC"; break;
    default: {
      const int id = EVP_PKEY_get_base_id(key);
      const char* sn = id != NID_undef ? OBJ_nid2sn(id) : nullptr;
      out.key_algorithm = sn != nullptr ? sn : "UNKNOWN";
    }
  }
  out.key_bits = EVP_PKEY_get_bits(key);

  const X509_ALGOR* sig_alg = nullptr;
  X509_get0_signature(nullptr, &sig_alg, x);
  const ASN1_OBJECT* sig_obj = nullptr;
  if (sig_alg != nullptr) X509_ALGOR_get0(&sig_obj, nullptr, nullptr, sig_alg);
  if (sig_obj == nullptr) {
    return Malformed("thuật toán chữ ký không hợp lệ", "invalid signature algorithm");
  }
  out.signature_algorithm = ObjectName(sig_obj);

  absl::StatusOr<CertificateIdentity> identity = ExtractIdentity(x);
  if (!identity.ok()) return identity.status();
  out.identity = *std::move(identity);
  out.der = std::move(der);
  out.x509 = std::move(x509);
  return out;
}

absl::StatusOr<ParsedCertificate> DescribeDer(std::string der) {
  absl::StatusOr<X509Ptr> x = DecodeDerExact(der);
  if (!x.ok()) return x.status();
  return Describe(*std::move(x), std::move(der));
}

absl::StatusOr<ParsedCertificate> ParseOne(absl::string_view in) {
  if (in.empty()) return Malformed("dữ liệu trống", "empty input");
  if (in.size() > kMaxCertificateBytes) {
    return Malformed("chứng thư lớn hơn 16 KiB", "larger than 16 KiB");
  }
  if (LooksLikeDer(in)) return DescribeDer(std::string(in));
  PemCertificates pem(in);
  absl::StatusOr<std::optional<std::string>> der = pem.Next();
  if (!der.ok()) return der.status();
  if (!der->has_value()) {
    return Malformed("không phải chứng thư DER hoặc PEM", "neither a DER nor a PEM certificate");
  }
  return DescribeDer(**std::move(der));
}

absl::StatusOr<std::vector<ParsedCertificate>> ParseList(absl::string_view in, size_t max_certs) {
  if (in.empty()) return Malformed("dữ liệu trống", "empty input");
  if (in.size() > kMaxChainBytes) return ChainTooLong(max_certs);
  std::vector<ParsedCertificate> out;
  if (LooksLikeDer(in)) {
    while (!in.empty()) {
      if (out.size() >= max_certs) return ChainTooLong(max_certs);
      size_t consumed = 0;
      absl::StatusOr<X509Ptr> x = DecodeDer(in, &consumed);
      if (!x.ok()) return x.status();
      absl::StatusOr<ParsedCertificate> p =
          Describe(*std::move(x), std::string(in.substr(0, consumed)));
      if (!p.ok()) return p.status();
      out.push_back(*std::move(p));
      in.remove_prefix(consumed);
    }
    return out;
  }
  PemCertificates pem(in);
  for (;;) {
    absl::StatusOr<std::optional<std::string>> der = pem.Next();
    if (!der.ok()) return der.status();
    if (!der->has_value()) break;
    if (out.size() >= max_certs) return ChainTooLong(max_certs);
    absl::StatusOr<ParsedCertificate> p = DescribeDer(**std::move(der));
    if (!p.ok()) return p.status();
    out.push_back(*std::move(p));
  }
  if (out.empty()) {
    return Malformed("không có chứng thư nào", "no certificate in the input");
  }
  return out;
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// Passport numbers, PID/PPID and budget-unit codes: formats vary by issuer, so only a sane
// shape is required.
bool IsPlainCode(absl::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  }
  return true;
}

// True for a well-formed value of a known prefix (or any value of an unknown one).
bool ValidUidValue(absl::string_view prefix, absl::string_view value) {
  if (prefix == "CCCD") return validators::ValidateCccd(value).ok();
  if (prefix == "CMND") return AllDigits(value) && (value.size() == 9 || value.size() == 12);
  if (prefix == "MST") return validators::ValidateMst(value).ok();
  if (prefix == "BHXH") return AllDigits(value) && value.size() == 10;
  if (prefix == "HC" || prefix == "PID" || prefix == "PPID" || prefix == "MNS") {
    return IsPlainCode(value);
  }
  return true;
}

}  // namespace

absl::StatusOr<ParsedCertificate> ParseCertificate(absl::string_view der_or_pem) {
  absl::StatusOr<ParsedCertificate> out = ParseOne(der_or_pem);
  ERR_clear_error();  // leave no OpenSSL errors behind for unrelated callers on this thread
  return out;
}

absl::StatusOr<std::vector<ParsedCertificate>> ParseCertificateChain(
    absl::string_view pem_or_der_list, size_t max_certs) {
  absl::StatusOr<std::vector<ParsedCertificate>> out = ParseList(pem_or_der_list, max_certs);
  ERR_clear_error();
  return out;
}

absl::Status ValidateIdentity(const CertificateIdentity& identity) {
  std::map<std::string, std::string, std::less<>> seen;
  for (const SubjectUid& u : identity.uids) {
    if (!ValidUidValue(u.prefix, u.value)) return IdentityInvalid(u.prefix, false);
    if (u.prefix.empty()) continue;
    const bool checked = u.prefix == "CCCD" || u.prefix == "CMND" || u.prefix == "MST" ||
                         u.prefix == "MNS" || u.prefix == "HC" || u.prefix == "BHXH";
    if (!checked) continue;
    auto [it, inserted] = seen.emplace(u.prefix, u.value);
    if (!inserted && it->second != u.value) return IdentityInvalid(u.prefix, true);
  }
  // The summary fields too (a caller may have built the identity by hand).
  const std::pair<const char*, const std::optional<std::string>*> fields[] = {
      {"CCCD", &identity.cccd}, {"CMND", &identity.cmnd}, {"MST", &identity.mst},
      {"MNS", &identity.mns},   {"HC", &identity.passport}};
  for (const auto& [prefix, value] : fields) {
    if (value->has_value() && !ValidUidValue(prefix, **value)) {
      return IdentityInvalid(prefix, false);
    }
  }
  return absl::OkStatus();
}

}  // namespace dvc::sigverify
