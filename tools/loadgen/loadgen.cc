// Load generator for tools/bench: drives the running stack through its gRPC APIs and measures,
// on the same machine and cores, the in-process limits the figures are compared with.
//
//   loadgen login        --accounts N --concurrency C --seconds S
//   loadgen introspect   --concurrency C --seconds S
//   loadgen registration --iterations N --concurrency C
//   loadgen certlogin    --concurrency C --seconds S [--phase=cold]   (certlogin.cc)
// Addresses come from the environment (stack.env written by tools/lib.sh).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/config/config.h"
#include "libs/crypto/password.h"
#include "libs/crypto/random.h"
#include "libs/http/http_client.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "protos/dvc/registration/v1/registration.grpc.pb.h"
#include "tools/loadgen/certlogin.h"
#include "tools/loadgen/common.h"
#include "tools/loadgen/proc_cpu.h"

namespace dvc::loadgen {
namespace {

namespace acc = ::dvc::accounts::v1;
namespace auth = ::dvc::auth::v1;
namespace reg = ::dvc::registration::v1;

constexpr char kPassword[] = "Bench-Mark@2026";

std::string Cccd(uint64_t n) { return absl::StrFormat("0790%02d%06d", 80 + n % 20, n % 1000000); }
std::string BirthDate(uint64_t n) { return absl::StrFormat("19%02d-03-04", 80 + n % 20); }

// Creates `n` citizen accounts through the accounts API (internal), in parallel.
std::vector<std::string> CreateAccounts(int n, int concurrency, uint64_t seed) {
  auto stub = acc::AccountsService::NewStub(server::Dial(Env("ACCOUNTS_ADDR")));
  std::vector<std::string> ids(n);
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < concurrency; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        uint64_t k = seed + static_cast<uint64_t>(i);
        acc::CreateCitizenAccountRequest r;
        r.set_request_id(absl::StrCat("bench-", seed, "-", i));
        r.mutable_identity()->set_cccd(Cccd(k));
        r.mutable_identity()->set_full_name("Trần Văn Đo Tải");
        r.mutable_identity()->set_date_of_birth(BirthDate(k));
        r.mutable_identity()->set_phone(absl::StrFormat("094%07d", k % 10000000));
        r.set_ial(2);
        r.set_verification_source("TELCO");
        r.set_registration_method("MOBILE");
        r.set_password(kPassword);
        r.set_consent_version("2024-01");
        acc::Account a;
        auto ctx = server::ClientContext(absl::Seconds(60));
        grpc::Status s = stub->CreateCitizenAccount(ctx.get(), r, &a);
        if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
          if (failed++ < 3) std::fprintf(stderr, "create failed: %s\n", s.error_message().c_str());
        }
        ids[i] = Cccd(k);
      }
    });
  }
  for (auto& t : ts) t.join();
  if (failed > 0) std::fprintf(stderr, "loadgen: %d account creations failed\n", failed.load());
  return ids;
}

// Argon2id verifications per second in this process with the service's parameters and its
// hasher (one reused workspace per core), one thread per core: the ceiling for password logins
// on this machine.
double Argon2Limit(double seconds) {
  crypto::OsRandom random;
  crypto::PasswordHasher hasher{crypto::Argon2Params{}};
  auto phc = hasher.Hash(kPassword, random);
  if (!phc.ok()) return 0;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<long> done{0};
  absl::Time end = absl::Now() + absl::Seconds(seconds);
  std::vector<std::thread> ts;
  for (unsigned c = 0; c < cores; ++c) {
    ts.emplace_back([&] {
      while (absl::Now() < end) {
        auto ok = hasher.Verify(kPassword, *phc);
        if (ok.ok() && *ok) done++;
      }
    });
  }
  for (auto& t : ts) t.join();
  return done.load() / seconds;
}

// The password step of LGN-1 (StartPasswordLogin: captcha check, throttle, Argon2id in
// accounts, login flow, OTP issued and delivered). The captcha image belongs to the page load
// before it: by default captchas are fetched before the timed window (--captcha_in_loop times
// them too, i.e. the whole journey up to the OTP).
int Login(config::Source& src) {
  int accounts = src.Int("accounts", 200, "accounts to create", 1, 100000);
  int concurrency = src.Int("concurrency", 16, "concurrent logins", 1, 1024);
  int seconds = src.Int("seconds", 20, "measured login time, over all rounds", 1, 3600);
  int rounds = src.Int("rounds", 4,
                       "alternations of the in-process Argon2id measurement and the login load",
                       1, 100);
  int argon2_seconds =
      src.Int("argon2_seconds", 5, "in-process Argon2id measurement per round", 1, 600);
  int warmup_ms = src.Int("warmup_ms", 1000, "login load before each round's measured part", 0,
                          60000);
  int max_logins = src.Int("max_logins", 6000, "captchas prepared (upper bound of logins)", 1,
                           1000000);
  bool captcha_in_loop =
      src.Bool("captcha_in_loop", false, "fetch each captcha inside the timed window");
  if (auto s = src.Finish(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 2;
  }
  uint64_t seed = static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())) % 100000 * 10;
  std::fprintf(stderr, "creating %d accounts…\n", accounts);
  std::vector<std::string> ids = CreateAccounts(accounts, 4, seed);
  auto stub = auth::AuthService::NewStub(server::Dial(Env("AUTH_ADDR")));

  auto fetch_captcha = [&](auth::Captcha* c) {
    auto ctx = server::ClientContext(absl::Seconds(30));
    return stub->CreateCaptcha(ctx.get(), {}, c);
  };
  std::vector<auth::Captcha> captchas;
  if (!captcha_in_loop) {
    std::fprintf(stderr, "fetching %d captchas…\n", max_logins);
    captchas.resize(max_logins);
    std::atomic<int> next{0};
    std::vector<std::thread> fs;
    for (int t = 0; t < 4; ++t) {
      fs.emplace_back([&] {
        for (int i = next++; i < max_logins; i = next++) fetch_captcha(&captchas[i]);
      });
    }
    for (auto& t : fs) t.join();
  }

  // The CPU split of the measured windows between the stack's processes (BENCH_PIDS,
  // proc_cpu.h).
  std::vector<CpuGroup> groups;
  if (const char* spec = std::getenv("BENCH_PIDS")) groups = ParseGroups(spec);
  groups.push_back({"loadgen", static_cast<int>(getpid())});

  Latencies lat;
  std::atomic<long> ok{0}, errors{0};
  std::atomic<int> cursor{0};
  std::mutex err_mu;
  std::string first_error;
  CpuSplit split;
  std::vector<double> limits;
  double measured_s = 0;
  // The VM's speed drifts by ±10 % within minutes: the in-process Argon2id limit and the login
  // rate are sampled in alternation (round r: the limit with the stack idle, then the logins;
  // one more limit after the last round), so both see the same periods of the machine. Each
  // login round is compared with the mean of the limits measured just before and just after it.
  std::vector<long> round_logins;
  for (int round = 0; round < rounds; ++round) {
    std::fprintf(stderr, "round %d/%d: in-process Argon2id limit (%d s), then logins…\n",
                 round + 1, rounds, argon2_seconds);
    limits.push_back(Argon2Limit(argon2_seconds));
    const absl::Time start = absl::Now() + absl::Milliseconds(warmup_ms);
    const absl::Time end = start + absl::Seconds(static_cast<double>(seconds) / rounds);
    CpuSample cpu_before;
    std::vector<std::thread> ts;
    for (int t = 0; t < concurrency; ++t) {
      ts.emplace_back([&] {
        while (absl::Now() < end) {
          int n = cursor++;
          if (!captcha_in_loop && n >= max_logins) break;  // out of prepared captchas
          int i = n % static_cast<int>(ids.size());
          absl::Time t0 = absl::Now();
          auth::Captcha c;
          grpc::Status s = captcha_in_loop ? fetch_captcha(&c) : grpc::Status::OK;
          if (!captcha_in_loop) c = captchas[n];
          if (s.ok()) {
            auth::StartPasswordLoginRequest r;
            r.set_captcha_id(c.captcha_id());
            r.set_captcha_answer(c.dev_answer());
            r.set_id_number(ids[i]);
            r.set_password(kPassword);
            // One client address per account, as real users arrive from many addresses.
            std::string ip = absl::StrFormat("198.18.%d.%d", (i / 250) % 250, i % 250 + 1);
            r.mutable_client()->set_ip(ip);
            auth::LoginFlow lf;
            auto c2 = server::ClientContext(absl::Seconds(30));
            s = stub->StartPasswordLogin(c2.get(), r, &lf);
          }
          // Counted: the logins that complete inside the measured part of the round.
          const absl::Time done = absl::Now();
          if (done < start || done > end) continue;
          if (s.ok()) {
            ok++;
            lat.Add(absl::ToDoubleMilliseconds(done - t0));
          } else {
            errors++;
            std::lock_guard<std::mutex> l(err_mu);
            if (first_error.empty()) {
              first_error = absl::StrCat(status::ReasonOf(status::FromGrpcStatus(s)), ": ",
                                         s.error_message());
            }
          }
        }
      });
    }
    const long ok_before = ok.load();
    absl::SleepFor(start - absl::Now());
    cpu_before = TakeCpuSample(groups);
    absl::SleepFor(end - absl::Now());
    split.Add(ComputeCpuSplit(groups, cpu_before, TakeCpuSample(groups),
                              absl::ToDoubleSeconds(end - start)));
    measured_s += absl::ToDoubleSeconds(end - start);
    for (auto& t : ts) t.join();  // the logins in flight finish outside the measured part
    round_logins.push_back(ok.load() - ok_before);
  }
  std::fprintf(stderr, "in-process Argon2id limit after the last round (%d s)…\n", argon2_seconds);
  limits.push_back(Argon2Limit(argon2_seconds));
  const double rate = ok.load() / measured_s;
  if (!first_error.empty()) {
    std::fprintf(stderr, "errors=%ld first: %s\n", errors.load(), first_error.c_str());
  }
  std::printf("%s\n", FormatCpuSplit(split).c_str());
  if (ok.load() > 0) std::printf("cpu_ms_per_login %s\n", FormatCpuPerOp(split, ok.load()).c_str());
  if (!captcha_in_loop && cursor.load() >= max_logins) {
    std::fprintf(stderr, "note: all %d prepared captchas were used before the time was up\n",
                 max_logins);
  }
  // The limit during login round r is taken as the mean of limits[r] and limits[r + 1]; over
  // the rounds (of equal length) that is the trapezoid mean of the limits.
  double limit = 0;
  std::string per_round, logins_per_round;
  for (size_t i = 0; i < limits.size(); ++i) {
    const double weight = (i == 0 || i + 1 == limits.size()) ? 0.5 : 1.0;
    limit += weight * limits[i] / rounds;
    absl::StrAppendFormat(&per_round, "%s%.1f", per_round.empty() ? "" : ",", limits[i]);
  }
  for (long n : round_logins) {
    absl::StrAppendFormat(&logins_per_round, "%s%.1f", logins_per_round.empty() ? "" : ",",
                          n / (measured_s / rounds));
  }
  std::printf("logins=%ld errors=%ld seconds=%.1f rounds=%d concurrency=%d captcha_in_loop=%d "
              "p50_ms=%.1f argon2_limits=%s logins_per_round=%s\n",
              ok.load(), errors.load(), measured_s, rounds, concurrency, captcha_in_loop ? 1 : 0,
              lat.Percentile(0.5), per_round.c_str(), logins_per_round.c_str());
  std::printf("logins_per_s=%.1f argon2_limit_per_s=%.1f ratio=%.2f p99_ms=%.1f\n", rate, limit,
              limit > 0 ? rate / limit : 0, lat.Percentile(0.99));
  return errors.load() > ok.load() / 100 ? 1 : 0;
}

// Logs one account in (password + OTP) and returns an access token.
std::string OneAccessToken(auth::AuthService::Stub& stub) {
  uint64_t seed = static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())) % 100000 * 10 + 7;
  std::vector<std::string> ids = CreateAccounts(1, 1, seed);
  auth::Captcha c;
  stub.CreateCaptcha(server::ClientContext(absl::Seconds(10)).get(), {}, &c);
  auth::StartPasswordLoginRequest r;
  r.set_captcha_id(c.captcha_id());
  r.set_captcha_answer(c.dev_answer());
  r.set_id_number(ids[0]);
  r.set_password(kPassword);
  auth::LoginFlow lf;
  grpc::Status s = stub.StartPasswordLogin(server::ClientContext(absl::Seconds(10)).get(), r, &lf);
  if (!s.ok()) {
    std::fprintf(stderr, "login failed: %s\n", s.error_message().c_str());
    std::exit(1);
  }
  http::HttpClient http;
  std::string phone = absl::StrFormat("094%07d", seed % 10000000);
  auto body = http.Do({.method = "GET", .url = Env("SIM_SMS_URL") + "/v1/otp/last?to=" + phone});
  std::smatch m;
  std::string text = body.ok() ? body->body : "";
  if (!std::regex_search(text, m, std::regex("\"otp\"\\s*:\\s*\"([0-9]{6})\""))) {
    std::fprintf(stderr, "no OTP for the benchmark account\n");
    std::exit(1);
  }
  auth::CompleteLoginRequest cr;
  cr.set_login_flow_id(lf.login_flow_id());
  cr.set_otp(m[1].str());
  auth::TokenResponse t;
  s = stub.CompleteLogin(server::ClientContext(absl::Seconds(10)).get(), cr, &t);
  if (!s.ok()) {
    std::fprintf(stderr, "complete login failed: %s\n", s.error_message().c_str());
    std::exit(1);
  }
  return t.access_token();
}

int Introspect(config::Source& src) {
  int concurrency = src.Int("concurrency", 32, "concurrent callers", 1, 1024);
  int seconds = src.Int("seconds", 10, "measurement time", 1, 3600);
  int channels = src.Int("channels", 4, "gRPC channels", 1, 64);
  if (auto s = src.Finish(); !s.ok()) return 2;
  std::vector<std::unique_ptr<auth::AuthService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct channels, not one shared subchannel
    stubs.push_back(auth::AuthService::NewStub(grpc::CreateCustomChannel(
        Env("AUTH_ADDR"), grpc::InsecureChannelCredentials(), args)));
  }
  std::string token = OneAccessToken(*stubs[0]);
  Latencies lat;
  std::atomic<long> ok{0}, inactive{0}, errors{0};
  absl::Time start = absl::Now(), end = start + absl::Seconds(seconds);
  std::vector<std::thread> ts;
  for (int t = 0; t < concurrency; ++t) {
    ts.emplace_back([&, t] {
      auto& stub = *stubs[t % channels];
      auth::IntrospectRequest r;
      r.set_token(token);
      while (absl::Now() < end) {
        absl::Time t0 = absl::Now();
        grpc::ClientContext ctx;
        ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
        auth::IntrospectResponse out;
        grpc::Status s = stub.Introspect(&ctx, r, &out);
        if (!s.ok()) {
          errors++;
        } else if (!out.active()) {
          inactive++;
        } else {
          ok++;
          lat.Add(absl::ToDoubleMilliseconds(absl::Now() - t0));
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("introspections=%ld inactive=%ld errors=%ld concurrency=%d\n", ok.load(),
              inactive.load(), errors.load(), concurrency);
  std::printf("introspect_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n", ok.load() / elapsed,
              lat.Percentile(0.5), lat.Percentile(0.99));
  return (errors.load() + inactive.load()) > 0 ? 1 : 0;
}

int Registration(config::Source& src) {
  int iterations = src.Int("iterations", 100, "registrations", 1, 100000);
  int concurrency = src.Int("concurrency", 4, "concurrent registrations", 1, 256);
  if (auto s = src.Finish(); !s.ok()) return 2;
  auto stub = reg::RegistrationService::NewStub(server::Dial(Env("REGISTRATION_ADDR")));
  http::HttpClient http;
  Latencies lat;
  std::atomic<int> next{0}, ok{0}, errors{0};
  std::mutex err_mu;
  std::string first_error;
  uint64_t seed = static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())) % 100000 * 10;
  absl::Time start = absl::Now();
  std::vector<std::thread> ts;
  for (int t = 0; t < concurrency; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < iterations; i = next++) {
        uint64_t k = seed + static_cast<uint64_t>(i) + 500000;
        std::string cccd = Cccd(k), dob = BirthDate(k);
        std::string phone = absl::StrFormat("088%07d", k % 10000000);
        std::string person = absl::StrFormat(
            R"({"cccd":"%s","full_name":"Lê Thị Đăng Ký","date_of_birth":"%s","gender":"male","phones":["%s"]})",
            cccd, dob, phone);
        http.Do({.method = "POST", .url = Env("SIM_TELCO_URL") + "/admin/people",
                 .headers = {{"Content-Type", "application/json"}}, .body = person});
        absl::Time t0 = absl::Now();
        auto fail = [&](const std::string& step, const grpc::Status& s) {
          errors++;
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error.empty()) first_error = step + ": " + s.error_message();
        };
        reg::Captcha c;
        grpc::Status s = stub->CreateCaptcha(server::ClientContext(absl::Seconds(30)).get(), {}, &c);
        if (!s.ok()) { fail("captcha", s); continue; }
        reg::StartMobileRegistrationRequest r;
        r.set_captcha_id(c.captcha_id());
        r.set_captcha_answer(c.dev_answer());
        r.set_id_number(cccd);
        r.set_full_name("Lê Thị Đăng Ký");
        r.set_date_of_birth(dob);
        r.set_phone(phone);
        r.set_consent_version("2024-01");
        reg::Flow f;
        s = stub->StartMobileRegistration(server::ClientContext(absl::Seconds(30)).get(), r, &f);
        if (!s.ok()) { fail("start", s); continue; }
        auto body = http.Do({.method = "GET", .url = Env("SIM_SMS_URL") + "/v1/otp/last?to=" + phone});
        std::smatch m;
        std::string text = body.ok() ? body->body : "";
        if (!std::regex_search(text, m, std::regex("\"otp\"\\s*:\\s*\"([0-9]{6})\""))) {
          fail("otp", grpc::Status(grpc::StatusCode::NOT_FOUND, "no otp"));
          continue;
        }
        reg::VerifyOtpRequest vr;
        vr.set_flow_id(f.flow_id());
        vr.set_otp(m[1].str());
        s = stub->VerifyOtp(server::ClientContext(absl::Seconds(30)).get(), vr, &f);
        if (!s.ok()) { fail("verify", s); continue; }
        reg::SetPasswordRequest pr;
        pr.set_flow_id(f.flow_id());
        pr.set_password(kPassword);
        pr.set_password_confirmation(kPassword);
        s = stub->SetPassword(server::ClientContext(absl::Seconds(30)).get(), pr, &f);
        if (!s.ok()) { fail("password", s); continue; }
        ok++;
        lat.Add(absl::ToDoubleMilliseconds(absl::Now() - t0));
      }
    });
  }
  for (auto& t : ts) t.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  if (!first_error.empty()) std::fprintf(stderr, "errors=%d first: %s\n", errors.load(), first_error.c_str());
  std::printf("registrations=%d errors=%d concurrency=%d per_s=%.1f\n", ok.load(), errors.load(),
              concurrency, ok.load() / elapsed);
  std::printf("registration_p50_ms=%.1f registration_p99_ms=%.1f\n", lat.Percentile(0.5),
              lat.Percentile(0.99));
  return errors.load() > 0 ? 1 : 0;
}

}  // namespace
}  // namespace dvc::loadgen

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: loadgen login|introspect|registration|certlogin [--flags]\n");
    return 2;
  }
  std::string mode = argv[1];
  dvc::config::Source src(argc - 1, argv + 1);
  if (mode == "login") return dvc::loadgen::Login(src);
  if (mode == "introspect") return dvc::loadgen::Introspect(src);
  if (mode == "registration") return dvc::loadgen::Registration(src);
  if (mode == "certlogin") return dvc::loadgen::CertLogin(src);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
