#include "services/idv_gateway/domain/idv.h"

#include <gtest/gtest.h>

#include <deque>

#include "libs/crypto/testing/fake_random.h"
#include "libs/status/errors.h"

namespace dvc::idv {
namespace {

class NoSleep final : public Sleeper {
 public:
  explicit NoSleep(FakeClock* c) : c_(c) {}
  void Sleep(absl::Duration d) override { c_->Advance(d); }
  FakeClock* c_;
};

class FakeTelco final : public TelcoProvider {
 public:
  absl::StatusOr<SubscriberCheck> VerifySubscriber(const SubscriberQuery& q,
                                                   absl::Duration) override {
    queries.push_back(q);
    if (replies.empty()) return SubscriberCheck{};
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
  std::vector<SubscriberQuery> queries;
  std::deque<absl::StatusOr<SubscriberCheck>> replies;
};

class FakePopulation final : public PopulationProvider {
 public:
  absl::StatusOr<std::optional<CitizenRecord>> GetCitizen(const std::string& cccd,
                                                          const std::string&,
                                                          absl::Duration) override {
    asked.push_back(cccd);
    if (replies.empty()) return std::optional<CitizenRecord>();
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
  std::vector<std::string> asked;
  std::deque<absl::StatusOr<std::optional<CitizenRecord>>> replies;
};

class FakeAudit final : public LookupAudit {
 public:
  absl::Status Record(const std::vector<AuditEntry>& e) override {
    entries.insert(entries.end(), e.begin(), e.end());
    return fail ? absl::UnavailableError("db down") : absl::OkStatus();
  }
  std::vector<AuditEntry> entries;
  bool fail = false;
};

class IdvGatewayTest : public ::testing::Test {
 protected:
  IdvGatewayTest()
      : sleeper_(&clock_),
        telco_caller_({"telco", "nhà mạng", "the mobile carrier"}, {}, {}, &clock_, &sleeper_,
                      &random_),
        population_caller_({"population", "CSDL dân cư", "the population database"}, {}, {},
                           &clock_, &sleeper_, &random_),
        gw_(&telco_, &telco_caller_, &population_, &population_caller_, &audit_, &clock_) {}

  CheckSubscriberInput Valid() {
    return {.request_id = "req-1", .phone = "0912345678", .id_number = "001099012345",
            .full_name = " Nguyễn Văn An ", .date_of_birth = "1999-03-15"};
  }

  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone())};
  NoSleep sleeper_;
  crypto::testing::FakeRandom random_;
  FakeTelco telco_;
  FakePopulation population_;
  FakeAudit audit_;
  ResilientCaller telco_caller_, population_caller_;
  IdvGateway gw_;
};

TEST_F(IdvGatewayTest, CheckSubscriberSendsNormalisedQueryAndReturnsTheAnswer) {
  telco_.replies.push_back(SubscriberCheck{.subscriber_found = true, .match = false,
                                           .mismatches = {"full_name"}, .carrier = "VINAPHONE"});
  auto r = gw_.CheckSubscriber(Valid(), absl::InfiniteFuture());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->subscriber_found);
  EXPECT_FALSE(r->match);
  EXPECT_EQ(r->mismatches, std::vector<std::string>{"full_name"});
  EXPECT_EQ(r->carrier, "VINAPHONE");
  ASSERT_EQ(telco_.queries.size(), 1u);
  EXPECT_EQ(telco_.queries[0].msisdn, "84912345678");
  EXPECT_EQ(telco_.queries[0].full_name, "Nguyễn Văn An");  // trimmed
  EXPECT_EQ(telco_.queries[0].request_id, "req-1");
  ASSERT_EQ(audit_.entries.size(), 1u);
  EXPECT_EQ(audit_.entries[0].provider, "telco");
  EXPECT_EQ(audit_.entries[0].operation, "verify_subscriber");
  EXPECT_EQ(audit_.entries[0].outcome, "ok");
  EXPECT_EQ(audit_.entries[0].request_id, "req-1");
}

TEST_F(IdvGatewayTest, PhoneFormsAreNormalised) {
  for (const char* p : {"0912345678", "84912345678", "+84912345678", "+84 912 345 678",
                        "091-234-5678"}) {
    auto m = NormalizeMsisdn(p);
    ASSERT_TRUE(m.ok()) << p;
    EXPECT_EQ(*m, "84912345678") << p;
  }
  for (const char* p : {"", "912345678", "091234567", "09123456789", "+1912345678",
                        "84912345678x", "０912345678", "840912345678"}) {
    auto m = NormalizeMsisdn(p);
    EXPECT_EQ(status::ReasonOf(m.status()), "PHONE_MALFORMED") << p;
  }
}

TEST_F(IdvGatewayTest, InvalidInputIsRejectedWithFieldBeforeAnyProviderCall) {
  struct Case {
    std::function<void(CheckSubscriberInput&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& in) { in.phone = "12345"; }, "phone"},
      {[](auto& in) { in.request_id = ""; }, "request_id"},
      {[](auto& in) { in.request_id = std::string(65, 'a'); }, "request_id"},
      {[](auto& in) { in.request_id = "a b"; }, "request_id"},
      {[](auto& in) { in.id_number = "12345678901"; }, "id_number"},
      {[](auto& in) { in.id_number = "00109901234a"; }, "id_number"},
      {[](auto& in) { in.id_number = ""; }, "id_number"},
      {[](auto& in) { in.full_name = "   "; }, "full_name"},
      {[](auto& in) { in.full_name = "Nguyen 123"; }, "full_name"},
      {[](auto& in) { in.id_number = "999099012345"; }, "id_number"},
      {[](auto& in) { in.full_name = std::string("Nguy\xC3", 5); }, "full_name"},
      {[](auto& in) { in.date_of_birth = "1999-02-29"; }, "date_of_birth"},
      {[](auto& in) { in.date_of_birth = "15/03/1999"; }, "date_of_birth"},
      {[](auto& in) { in.date_of_birth = "1999-3-15"; }, "date_of_birth"},
      {[](auto& in) { in.date_of_birth = "2030-01-01"; }, "date_of_birth"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CheckSubscriberInput in = Valid();
    cases[i].mutate(in);
    auto r = gw_.CheckSubscriber(in, absl::InfiniteFuture());
    ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << i;
    auto info = status::GetErrorInfo(r.status());
    ASSERT_TRUE(info.has_value()) << i;
    EXPECT_EQ(info->field, cases[i].field) << i;
    EXPECT_FALSE(info->message_vi.empty());
    EXPECT_FALSE(info->message_en.empty());
  }
  EXPECT_TRUE(telco_.queries.empty());
  EXPECT_TRUE(audit_.entries.empty());
}

TEST_F(IdvGatewayTest, LeapDayAndCmndAccepted) {
  CheckSubscriberInput in = Valid();
  in.date_of_birth = "2000-02-29";
  in.id_number = "012345678";
  EXPECT_TRUE(gw_.CheckSubscriber(in, absl::InfiniteFuture()).ok());
}

TEST_F(IdvGatewayTest, NotFoundSubscriberNeverMatches) {
  telco_.replies.push_back(SubscriberCheck{.subscriber_found = false, .match = true,
                                           .mismatches = {"id_number"}, .carrier = "VIETTEL"});
  auto r = gw_.CheckSubscriber(Valid(), absl::InfiniteFuture());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->subscriber_found);
  EXPECT_FALSE(r->match);
  EXPECT_TRUE(r->mismatches.empty());
  EXPECT_EQ(r->carrier, "VIETTEL");
}

TEST_F(IdvGatewayTest, ProviderDownGivesRetryableErrorAndAuditsEveryAttempt) {
  for (int i = 0; i < 3; ++i) telco_.replies.push_back(absl::UnavailableError("refused"));
  auto r = gw_.CheckSubscriber(Valid(), absl::InfiniteFuture());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(r.status()), kReasonProviderUnavailable);
  ASSERT_EQ(audit_.entries.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(audit_.entries[i].attempt, i + 1);
    EXPECT_EQ(audit_.entries[i].outcome, "unavailable");
  }
}

TEST_F(IdvGatewayTest, AuditFailureDoesNotFailTheLookup) {
  audit_.fail = true;
  EXPECT_TRUE(gw_.CheckSubscriber(Valid(), absl::InfiniteFuture()).ok());
}

TEST_F(IdvGatewayTest, LookupCitizenFoundAndNotFound) {
  population_.replies.push_back(std::optional<CitizenRecord>(
      CitizenRecord{.cccd = "001099012345", .full_name = "Nguyễn Văn An"}));
  auto r = gw_.LookupCitizen("001099012345", "rid", absl::InfiniteFuture());
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->full_name, "Nguyễn Văn An");
  auto nf = gw_.LookupCitizen("079187004321", "rid", absl::InfiniteFuture());
  ASSERT_TRUE(nf.ok());
  EXPECT_FALSE(nf->has_value());
  ASSERT_EQ(audit_.entries.size(), 2u);
  EXPECT_EQ(audit_.entries[1].provider, "population");
  EXPECT_EQ(audit_.entries[1].operation, "get_citizen");
}

TEST_F(IdvGatewayTest, LookupCitizenValidatesCccd) {
  for (const char* c : {"", "00109901234", "0010990123456", "00109901234x", "000099012345",
                        "097099012345"}) {
    auto r = gw_.LookupCitizen(c, "rid", absl::InfiniteFuture());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c;
    auto info = status::GetErrorInfo(r.status());
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->field, "cccd");
  }
  EXPECT_TRUE(population_.asked.empty());
}

}  // namespace
}  // namespace dvc::idv
