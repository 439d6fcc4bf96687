#include "tests/e2e/stack.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/http/http_client.h"
#include "libs/kafka/testing/test_consumer.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"

namespace dvc::e2e {

absl::StatusOr<std::string> Http(const std::string& method, const std::string& url,
                                 const std::string& body) {
  static http::HttpClient client;
  http::HttpRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  req.timeout = absl::Seconds(10);
  auto r = client.Do(req);
  if (!r.ok()) return r.status();
  if (r->status >= 300) {
    return absl::FailedPreconditionError(absl::StrCat(url, " answered ", r->status, ": ", r->body));
  }
  return r->body;
}

namespace {

uint64_t Seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
}

}  // namespace

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: run end-to-end tests through tools/test, which starts "
                  << "the stack and exports its addresses";
    return "";
  }
  return v;
}

Stack::Stack() {
  registration_ = dvc::registration::v1::RegistrationService::NewStub(
      server::Dial(Env("REGISTRATION_ADDR")));
  auth_ = dvc::auth::v1::AuthService::NewStub(server::Dial(Env("AUTH_ADDR")));
  accounts_ = dvc::accounts::v1::AccountsService::NewStub(server::Dial(Env("ACCOUNTS_ADDR")));
}

Person Stack::NewPerson() {
  static std::mt19937_64 rng(Seed());
  // CCCD 001 (Hà Nội), G=1 (female, 1900s), YY=90, then 6 random digits; VinaPhone 091 number.
  Person p;
  p.cccd = absl::StrCat("0011", "90", absl::StrFormat("%06d", static_cast<int>(rng() % 1000000)));
  p.full_name = "Nguyễn Thị Kiểm Thử";
  p.date_of_birth = "1990-07-15";
  p.phone = absl::StrFormat("091%07d", static_cast<int>(rng() % 10000000));
  AddPerson(p);
  return p;
}

void Stack::AddPerson(const Person& p, const std::string& gender) {
  std::string body = absl::StrFormat(
      R"({"cccd":"%s","full_name":"%s","date_of_birth":"%s","gender":"%s",)"
      R"("place_of_birth":"Hà Nội","hometown":"Hà Nội","permanent_address":"Hà Nội",)"
      R"("phones":["%s"]})",
      p.cccd, p.full_name, p.date_of_birth, gender, p.phone);
  for (const char* sim : {"SIM_TELCO_URL", "SIM_POPULATION_URL"}) {
    auto r = Http("POST", Env(sim) + "/admin/people", body);
    EXPECT_TRUE(r.ok()) << r.status();
  }
}

absl::StatusOr<std::string> Stack::LastOtp(const std::string& phone, const std::string& not_this,
                                           absl::Duration wait) {
  absl::Time deadline = absl::Now() + wait;
  static const std::regex kOtp("\"otp\"\\s*:\\s*\"([0-9]{6})\"");
  while (true) {
    auto body = Http("GET", Env("SIM_SMS_URL") + "/v1/otp/last?to=" + phone);
    if (body.ok()) {
      std::smatch m;
      if (std::regex_search(*body, m, kOtp) && m[1].str() != not_this) return m[1].str();
    }
    if (absl::Now() > deadline) return absl::NotFoundError("no OTP delivered to " + phone);
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status Stack::TelcoFault(const std::string& json) {
  return Http("POST", Env("SIM_TELCO_URL") + "/admin/faults", json).status();
}

absl::Status Stack::KafkaBrokers(bool up) {
  return Http("POST", Env("KAFKA_CONTROL_URL") + (up ? "/brokers/up" : "/brokers/down"), "{}")
      .status();
}

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration deadline) {
  return server::ClientContext(deadline);
}

std::string ReasonOf(const grpc::Status& s) {
  return status::ReasonOf(status::FromGrpcStatus(s));
}

std::string MetadataOf(const grpc::Status& s, const std::string& key) {
  auto info = status::GetErrorInfo(status::FromGrpcStatus(s));
  if (!info) return "";
  if (key == "field") return info->field;
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "" : it->second;
}

EventsSeen ReadAccountEvents(const std::set<std::string>& want, absl::Duration timeout) {
  return ReadAccountEventsUntil(
      [&want](const EventsSeen& seen) {
        for (const auto& id : want) {
          auto it = seen.by_account.find(id);
          if (it == seen.by_account.end()) return false;
          bool created = false;
          for (const auto& e : it->second) created |= e.has_account_created();
          if (!created) return false;
        }
        return true;
      },
      timeout);
}

EventsSeen ReadAccountEventsUntil(const std::function<bool(const EventsSeen&)>& done,
                                  absl::Duration timeout) {
  EventsSeen seen;
  auto consumer = kafka::testing::TestConsumer::Create(Env("KAFKA_BROKERS"), "dvc.accounts.v1");
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  if (!consumer.ok()) return seen;
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    for (const auto& m : (*consumer)->Consume(10000, absl::Seconds(1))) {
      dvc::events::v1::AccountEvent e;
      if (!e.ParseFromString(m.value)) continue;
      EXPECT_EQ(m.key, e.account_id()) << "events are keyed by account id";
      EXPECT_EQ(m.Header("event_id").value_or(""), e.event_id());
      seen.event_id_count[e.event_id()]++;
      seen.by_account[e.account_id()].push_back(e);
    }
    if (done(seen)) {
      // Drain briefly so that a duplicate published right behind would be seen too.
      for (const auto& m : (*consumer)->Consume(10000, absl::Milliseconds(500))) {
        dvc::events::v1::AccountEvent e;
        if (e.ParseFromString(m.value)) seen.event_id_count[e.event_id()]++;
      }
      break;
    }
  }
  return seen;
}

}  // namespace dvc::e2e
