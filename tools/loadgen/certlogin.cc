// `loadgen certlogin`: USB-certificate logins (LGN-4) per second through auth's gRPC API, and,
// in the same process on the same cores, OpenSSL's RSA-2048 verification rate.
//
// Setup: every selected certificate of the test PKI (PKI_MANIFEST; by default each valid
// RSA-2048 "-usb" certificate of a person or a business) is registered directly with
// accounts.CreateCertificateAccount (idempotent: a second phase reuses the accounts). One login:
//   auth.StartCertificateLogin(USB, client ip) → challenge
//   → PKCS#1 v1.5 / SHA-256 signature of the challenge with the certificate's software key
//     (tools/pki writes it beside the certificate: the benchmark measures the server, not a
//     PKCS#11 token)
//   → auth.CompleteCertificateLogin(signature, leaf DER, intermediates DER) → tokens.
// Latency = the two RPCs (the client's signature is timed apart: sign_p50_ms). Each login comes
// from its own client address out of --ips, as users do through the gateway (auth's per-IP
// window would otherwise refuse a benchmark from one address).
//
// --phase=warm (default): OCSP answers and CRLs are cached by sigverify after the warm-up; the
// in-process RSA-2048 limit is measured before and after the load (averaged; the shared VM's
// speed drifts), with --rsa_threads threads (default: one per core, i.e. the cores the stack and
// the load share). Last line:
//   certlogins_per_s=<x> rsa2048_verify_per_s=<y> ratio=<x/y> p99_ms=<z>
// --phase=cold: the same load against a sigverify started with --revocation_cache=false (tools/
// bench restarts it); last line: cold: certlogins_per_s=<x> p99_ms=<z>
// Both print the CPU-seconds of each process tree over the timed window (BENCH_PIDS, see
// proc_cpu.h) and sigverify's OCSP cache hits/misses over the window (from its /metrics).
#include "tools/loadgen/certlogin.h"

#include <grpcpp/grpcpp.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/http/http_client.h"
#include "libs/jwt/json.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "tools/loadgen/common.h"
#include "tools/loadgen/proc_cpu.h"

namespace dvc::loadgen {
namespace {

namespace acc = ::dvc::accounts::v1;
namespace auth = ::dvc::auth::v1;

using KeyPtr = std::shared_ptr<EVP_PKEY>;

struct BenchCert {
  std::string name, kind;
  std::string der;                     // leaf
  std::vector<std::string> chain_der;  // intermediates, without the leaf
  KeyPtr key;
  std::string fingerprint, serial_hex, issuer_cn, common_name, organization, email;
  int64_t not_after_unix = 0;
  std::vector<std::string> uids;  // "CCCD:…", "MST:…"
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

std::vector<std::string> PemToDers(const std::string& pem) {
  std::vector<std::string> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    unsigned char* der = nullptr;
    const int n = i2d_X509(x, &der);
    if (n > 0) out.emplace_back(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    X509_free(x);
  }
  BIO_free(bio);
  return out;
}

std::string NameEntry(X509_NAME* name, int nid) {
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "";
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), n);
  OPENSSL_free(utf8);
  return out;
}

// Loads one manifest entry; an error message when it cannot be used for RSA-2048 USB login.
std::string LoadCert(const std::string& name, const jwt::FlatJson& c, BenchCert* out) {
  out->name = name;
  out->kind = c.GetString("kind").value_or("");
  out->uids = c.GetStringArray("uids").value_or(std::vector<std::string>{});
  if (out->kind != "person" && out->kind != "business") {
    return absl::StrCat(name, ": kind ", out->kind, " (only person and business accounts)");
  }
  std::vector<std::string> leaf = PemToDers(ReadFile(c.GetString("cert").value_or("")));
  if (leaf.size() != 1) return absl::StrCat(name, ": unreadable certificate");
  out->der = leaf[0];
  std::vector<std::string> chain = PemToDers(ReadFile(c.GetString("chain").value_or("")));
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i] != out->der) out->chain_der.push_back(chain[i]);
  }
  const std::string key_pem = ReadFile(c.GetString("key").value_or(""));
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return absl::StrCat(name, ": unreadable key file");
  out->key = KeyPtr(key, EVP_PKEY_free);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) != 2048) {
    return absl::StrCat(name, ": not an RSA-2048 key");
  }

  const unsigned char* p = reinterpret_cast<const unsigned char*>(out->der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(out->der.size()));
  if (x == nullptr) return absl::StrCat(name, ": bad DER");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(out->der.data(), out->der.size(), md, &md_len, EVP_sha256(), nullptr);
  out->fingerprint = Hex(md, md_len);
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  if (bn != nullptr) {
    char* h = BN_bn2hex(bn);
    out->serial_hex = h;
    OPENSSL_free(h);
    BN_free(bn);
  }
  out->issuer_cn = NameEntry(X509_get_issuer_name(x), NID_commonName);
  out->common_name = NameEntry(X509_get_subject_name(x), NID_commonName);
  out->organization = NameEntry(X509_get_subject_name(x), NID_organizationName);
  out->email = NameEntry(X509_get_subject_name(x), NID_pkcs9_emailAddress);
  struct tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) out->not_after_unix = timegm(&tm);
  X509_free(x);
  return "";
}

// The certificates to log in with: --certs (comma-separated manifest names), or every valid
// RSA-2048 USB certificate of a person or business.
std::vector<BenchCert> SelectCerts(const std::string& names, std::string* error) {
  std::vector<BenchCert> out;
  auto root = jwt::ParseFlatJson(ReadFile(Env("PKI_MANIFEST")));
  if (!root.ok()) {
    *error = absl::StrCat("PKI manifest: ", root.status().ToString());
    return out;
  }
  auto certs = jwt::ParseFlatJson(root->GetRaw("certs").value_or("{}"));
  if (!certs.ok()) {
    *error = "PKI manifest: no certs";
    return out;
  }
  std::vector<std::string> wanted = absl::StrSplit(names, ',', absl::SkipEmpty());
  for (const std::string& w : wanted) {
    if (!certs->Has(w)) {
      *error = absl::StrCat("no certificate ", w, " in the PKI manifest");
      return {};
    }
  }
  for (const auto& [name, value] : certs->fields()) {
    auto c = jwt::ParseFlatJson(value.text);
    if (!c.ok()) continue;
    const bool explicit_pick = !wanted.empty();
    if (explicit_pick && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    if (!explicit_pick &&
        (!absl::EndsWith(name, "-usb") || c->GetString("expect").value_or("") != "ok")) {
      continue;
    }
    BenchCert bc;
    std::string why = LoadCert(name, *c, &bc);
    if (why.empty()) {
      out.push_back(std::move(bc));
    } else if (explicit_pick) {
      *error = why;
      return {};
    }
  }
  if (out.empty() && error->empty()) *error = "no usable certificate in the PKI manifest";
  return out;
}

std::string UidValue(const BenchCert& c, const std::string& prefix) {
  for (const std::string& u : c.uids) {
    if (absl::StartsWith(u, prefix + ":")) return u.substr(prefix.size() + 1);
  }
  return "";
}

// Registers each certificate's holder (idempotent on request_id; ALREADY_EXISTS is fine).
bool CreateCertificateAccounts(const std::vector<BenchCert>& certs) {
  auto stub = acc::AccountsService::NewStub(server::Dial(Env("ACCOUNTS_ADDR")));
  bool ok = true;
  for (const BenchCert& c : certs) {
    acc::CreateCertificateAccountRequest r;
    r.set_request_id(absl::StrCat("bench-cert-", c.fingerprint.substr(0, 24)));
    r.set_consent_version("2024-01");
    if (c.kind == "business") {
      r.set_subject_kind(acc::SUBJECT_KIND_BUSINESS);
      auto* b = r.mutable_business();
      b->set_mst(UidValue(c, "MST"));
      b->set_name(c.organization.empty() ? c.common_name : c.organization);
      b->set_email(c.email.empty() ? "bench@dichvucong.test" : c.email);
      b->set_representative_cccd(UidValue(c, "CCCD"));
    } else {
      r.set_subject_kind(acc::SUBJECT_KIND_CITIZEN);
      r.mutable_citizen()->set_cccd(UidValue(c, "CCCD"));
      r.mutable_citizen()->set_full_name(c.common_name);
    }
    auto* cred = r.mutable_certificate();
    cred->set_fingerprint_sha256(c.fingerprint);
    cred->set_method("USB");
    cred->set_issuer_cn(c.issuer_cn);
    cred->set_serial_hex(c.serial_hex);
    cred->mutable_not_after()->set_seconds(c.not_after_unix);
    acc::Account a;
    grpc::Status s = stub->CreateCertificateAccount(server::ClientContext(absl::Seconds(30)).get(),
                                                    r, &a);
    if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      std::fprintf(stderr, "loadgen: account for %s: %s %s\n", c.name.c_str(),
                   status::ReasonOf(status::FromGrpcStatus(s)).c_str(), s.error_message().c_str());
      ok = false;
    }
  }
  return ok;
}

// RSASSA-PKCS1-v1_5 over SHA-256, as the USB token signs the challenge.
std::string SignPkcs1Sha256(EVP_PKEY* key, const std::string& data) {
  std::string sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  if (ctx != nullptr && EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1) {
      sig.resize(len);
    } else {
      sig.clear();
    }
  }
  EVP_MD_CTX_free(ctx);
  return sig;
}

// OpenSSL's RSA-2048 verification rate in this process: `threads` threads, each looping over a
// complete EVP_DigestVerifyInit + EVP_DigestVerify (PKCS#1 v1.5, SHA-256) of a challenge-sized
// message with its own copy of the public key — what one signature verification costs a
// server, without certificate parsing, path building or I/O.
std::string ChallengeSizedMessage() {
  return absl::StrCat("dichvucong.gov.vn xac thuc chu ky so\npurpose=LOGIN\nflow=",
                      std::string(36, 'f'), "\nchallenge=", std::string(36, 'c'), "\nnonce=",
                      std::string(43, 'n'), "\nexpires=2026-01-01T00:00:00Z\n");
}

double RsaVerifyLimit(EVP_PKEY* key, double seconds, int threads) {
  const std::string msg = ChallengeSizedMessage();
  const std::string sig = SignPkcs1Sha256(key, msg);
  unsigned char* pub = nullptr;
  const int pub_len = i2d_PUBKEY(key, &pub);
  if (sig.empty() || pub_len <= 0) return 0;
  const std::string pub_der(reinterpret_cast<char*>(pub), pub_len);
  OPENSSL_free(pub);
  std::atomic<long> done{0};
  std::atomic<bool> failed{false};
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(pub_der.data());
      EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(pub_der.size()));
      long n = 0;
      while (k != nullptr && absl::Now() < end) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX* pctx = nullptr;
        const bool ok =
            EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, k) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok) {
          failed = true;
          break;
        }
        ++n;
      }
      EVP_PKEY_free(k);
      done += n;
    });
  }
  for (auto& t : ts) t.join();
  return failed ? 0 : done.load() / seconds;
}

// sigverify's OCSP cache lookups so far: {hits, misses}; {-1, -1} when unreadable.
std::pair<long, long> OcspCacheCounters(http::HttpClient& http) {
  const char* url = std::getenv("SIGVERIFY_METRICS_URL");
  if (url == nullptr) return {-1, -1};
  auto r = http.Do({.method = "GET", .url = url});
  if (!r.ok()) return {-1, -1};
  long hit = 0, miss = 0;
  for (absl::string_view line : absl::StrSplit(r->body, '\n')) {
    if (!absl::StartsWith(line, "sigverify_revocation_cache_total{") ||
        !absl::StrContains(line, "source=\"ocsp\"")) {
      continue;
    }
    const size_t sp = line.rfind(' ');
    if (sp == absl::string_view::npos) continue;
    const long v = std::atol(std::string(line.substr(sp + 1)).c_str());
    if (absl::StrContains(line, "result=\"hit\"")) hit += v;
    if (absl::StrContains(line, "result=\"miss\"")) miss += v;
  }
  return {hit, miss};
}

std::string ClientIp(long k) {
  return absl::StrFormat("198.18.%d.%d", static_cast<int>((k / 250) % 250),
                         static_cast<int>(k % 250 + 1));
}

}  // namespace

int CertLogin(config::Source& src) {
  const std::string phase = src.Enum("phase", "warm",
                                     "warm: revocation answers cached (and the RSA limit "
                                     "measured); cold: sigverify runs without its cache",
                                     {"warm", "cold"});
  const int concurrency = src.Int("concurrency", 16, "concurrent logins", 1, 1024);
  const int seconds = src.Int("seconds", 20, "measurement time (unless --iterations)", 1, 3600);
  const int iterations =
      src.Int("iterations", 0, "measured logins (0 = run for --seconds)", 0, 10000000);
  const int warmup = src.Int("warmup_seconds", 3, "unmeasured load first", 0, 600);
  const int channels = src.Int("channels", 4, "gRPC channels to auth", 1, 64);
  const int ips = src.Int("ips", 4000, "client addresses the logins come from", 1, 62500);
  const std::string names =
      src.String("certs", "", "manifest certificates, comma-separated (default: every valid "
                              "RSA-2048 USB certificate of a person or business)");
  const int rsa_seconds = src.Int("rsa_seconds", 5, "each in-process RSA measurement", 1, 600);
  const int rsa_threads =
      src.Int("rsa_threads", 0, "RSA verification threads (0 = one per core)", 0, 1024);
  if (auto s = src.Finish(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 2;
  }
  const bool warm = phase == "warm";
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int verify_threads = rsa_threads > 0 ? rsa_threads : cores;

  std::string error;
  std::vector<BenchCert> certs = SelectCerts(names, &error);
  if (certs.empty()) {
    std::fprintf(stderr, "loadgen: %s\n", error.c_str());
    return 2;
  }
  std::string cert_names;
  for (const BenchCert& c : certs) absl::StrAppend(&cert_names, cert_names.empty() ? "" : ",", c.name);
  std::fprintf(stderr, "[%s] certificates: %s\n", phase.c_str(), cert_names.c_str());

  double limit_before = 0;
  if (warm) {
    std::fprintf(stderr, "measuring the in-process RSA-2048 verify rate (%d threads)…\n",
                 verify_threads);
    limit_before = RsaVerifyLimit(certs[0].key.get(), rsa_seconds, verify_threads);
  }
  if (!CreateCertificateAccounts(certs)) return 1;

  std::vector<std::unique_ptr<auth::AuthService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct channels, not one shared subchannel
    stubs.push_back(auth::AuthService::NewStub(grpc::CreateCustomChannel(
        Env("AUTH_ADDR"), grpc::InsecureChannelCredentials(), args)));
  }

  // One login: {status, rpc ms, sign ms}.
  struct Outcome {
    grpc::Status status;
    double rpc_ms = 0, sign_ms = 0;
  };
  auto login = [&](auth::AuthService::Stub& stub, const BenchCert& c, long k) {
    Outcome o;
    absl::Time t0 = absl::Now();
    auth::StartCertificateLoginRequest sr;
    sr.set_method(auth::CERTIFICATE_LOGIN_METHOD_USB);
    sr.mutable_client()->set_ip(ClientIp(k));
    sr.mutable_client()->set_user_agent("dvc-loadgen");
    auth::CertificateLoginFlow flow;
    o.status = stub.StartCertificateLogin(server::ClientContext(absl::Seconds(30)).get(), sr, &flow);
    if (!o.status.ok()) return o;
    absl::Time t1 = absl::Now();
    const std::string sig = SignPkcs1Sha256(c.key.get(), flow.challenge());
    absl::Time t2 = absl::Now();
    if (sig.empty()) {
      o.status = grpc::Status(grpc::StatusCode::INTERNAL, "local signing failed");
      return o;
    }
    auth::CompleteCertificateLoginRequest cr;
    cr.set_login_flow_id(flow.login_flow_id());
    cr.set_format(auth::SIGNATURE_FORMAT_PKCS1_SHA256);
    cr.set_signature(sig);
    cr.set_certificate(c.der);
    for (const std::string& d : c.chain_der) cr.add_chain(d);
    auth::TokenResponse tokens;
    o.status =
        stub.CompleteCertificateLogin(server::ClientContext(absl::Seconds(30)).get(), cr, &tokens);
    absl::Time t3 = absl::Now();
    if (o.status.ok() && (tokens.access_token().empty() || tokens.acr() != "urn:dvc:ial:3")) {
      o.status = grpc::Status(grpc::StatusCode::INTERNAL,
                              absl::StrCat("unexpected tokens (acr ", tokens.acr(), ")"));
    }
    o.rpc_ms = absl::ToDoubleMilliseconds((t1 - t0) + (t3 - t2));
    o.sign_ms = absl::ToDoubleMilliseconds(t2 - t1);
    return o;
  };

  // Each certificate once, in turn: fails fast with the reason (and fills the caches).
  for (size_t i = 0; i < certs.size(); ++i) {
    Outcome o = login(*stubs[0], certs[i], static_cast<long>(i));
    if (!o.status.ok()) {
      std::fprintf(stderr, "loadgen: first login with %s failed: %s %s\n", certs[i].name.c_str(),
                   status::ReasonOf(status::FromGrpcStatus(o.status)).c_str(),
                   o.status.error_message().c_str());
      return 1;
    }
  }

  std::vector<CpuGroup> groups;
  if (const char* spec = std::getenv("BENCH_PIDS")) groups = ParseGroups(spec);
  groups.push_back({"loadgen", static_cast<int>(getpid())});
  http::HttpClient http;

  Latencies lat, sign_lat;
  std::atomic<long> ok{0}, errors{0}, cursor{static_cast<long>(certs.size())};
  std::atomic<long> measured_started{0};
  std::mutex err_mu;
  std::string first_error;
  const absl::Time start = absl::Now() + absl::Seconds(warmup);
  const absl::Time end = start + absl::Seconds(seconds);
  std::vector<std::thread> ts;
  for (int t = 0; t < concurrency; ++t) {
    ts.emplace_back([&, t] {
      auto& stub = *stubs[t % channels];
      while (true) {
        const absl::Time now = absl::Now();
        const bool measured = now >= start;
        if (iterations > 0) {
          if (measured && measured_started++ >= iterations) break;
        } else if (now >= end) {
          break;
        }
        const long n = cursor++;
        Outcome o = login(stub, certs[n % certs.size()], n % ips);
        if (!measured) continue;
        if (o.status.ok()) {
          ok++;
          lat.Add(o.rpc_ms);
          sign_lat.Add(o.sign_ms);
        } else {
          errors++;
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error.empty()) {
            first_error = absl::StrCat(status::ReasonOf(status::FromGrpcStatus(o.status)), ": ",
                                       o.status.error_message());
          }
        }
      }
    });
  }
  // The CPU split and the cache counters bracket the measured window.
  absl::SleepFor(start - absl::Now());
  const CpuSample cpu_before = TakeCpuSample(groups);
  const std::pair<long, long> cache_before = OcspCacheCounters(http);
  if (iterations == 0) absl::SleepFor(end - absl::Now());
  CpuSample cpu_after;
  std::pair<long, long> cache_after;
  if (iterations == 0) {
    cpu_after = TakeCpuSample(groups);
    cache_after = OcspCacheCounters(http);
  }
  for (auto& t : ts) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  if (iterations > 0) {
    cpu_after = TakeCpuSample(groups);
    cache_after = OcspCacheCounters(http);
  }
  const double window = iterations > 0 ? elapsed : static_cast<double>(seconds);
  const double rate = ok.load() / elapsed;
  if (!first_error.empty()) {
    std::fprintf(stderr, "errors=%ld first: %s\n", errors.load(), first_error.c_str());
  }

  std::printf("[%s] certlogins=%ld errors=%ld seconds=%.1f concurrency=%d certs=%zu (%s) "
              "p50_ms=%.1f sign_p50_ms=%.2f ocsp_cache_hits=%ld ocsp_cache_misses=%ld\n",
              phase.c_str(), ok.load(), errors.load(), elapsed, concurrency, certs.size(),
              cert_names.c_str(), lat.Percentile(0.5), sign_lat.Percentile(0.5),
              cache_before.first < 0 ? -1 : cache_after.first - cache_before.first,
              cache_before.second < 0 ? -1 : cache_after.second - cache_before.second);
  const CpuSplit split = ComputeCpuSplit(groups, cpu_before, cpu_after, window);
  std::printf("[%s] %s\n", phase.c_str(), FormatCpuSplit(split).c_str());
  // CPU per login: steadier than the rate while other users of the machine come and go.
  if (ok.load() > 0) {
    std::printf("[%s] cpu_ms_per_login %s\n", phase.c_str(),
                FormatCpuPerOp(split, ok.load()).c_str());
  }
  const int rc = errors.load() > ok.load() / 100 ? 1 : 0;
  if (!warm) {
    std::printf("cold: certlogins_per_s=%.1f p99_ms=%.1f\n", rate, lat.Percentile(0.99));
    return rc;
  }
  std::fprintf(stderr, "measuring the in-process RSA-2048 verify rate again…\n");
  const double limit_after = RsaVerifyLimit(certs[0].key.get(), rsa_seconds, verify_threads);
  const double limit = (limit_before + limit_after) / 2;
  std::printf("[warm] rsa2048_verify threads=%d (cores=%d) before=%.0f after=%.0f "
              "(EVP_DigestVerifyInit+EVP_DigestVerify, PKCS#1 v1.5 SHA-256, %zu-byte message)\n",
              verify_threads, cores, limit_before, limit_after, ChallengeSizedMessage().size());
  std::printf("certlogins_per_s=%.1f rsa2048_verify_per_s=%.0f ratio=%.4f p99_ms=%.1f\n", rate,
              limit, limit > 0 ? rate / limit : 0, lat.Percentile(0.99));
  return rc;
}

}  // namespace dvc::loadgen
