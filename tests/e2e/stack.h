// Access to the running stack for end-to-end tests: addresses come from the environment that
// tools/test exports from the stack it started (stack.env), stubs for the public gRPC APIs, and
// helpers for the simulators (add a person, read the last OTP, inject faults) and the Kafka dev
// broker (take brokers down / up).
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "protos/dvc/events/v1/account_events.pb.h"
#include "protos/dvc/registration/v1/registration.grpc.pb.h"

namespace dvc::e2e {

std::string Env(const char* name);  // fails the test (ADD_FAILURE) when unset

struct Person {
  std::string cccd;
  std::string full_name;
  std::string date_of_birth;
  std::string phone;  // domestic 0xxxxxxxxx
};

class Stack final {
 public:
  Stack();
  dvc::registration::v1::RegistrationService::Stub& registration() { return *registration_; }
  dvc::auth::v1::AuthService::Stub& auth() { return *auth_; }
  dvc::accounts::v1::AccountsService::Stub& accounts() { return *accounts_; }

  // A fresh person (unique CCCD and phone) added to the simulators' population.
  Person NewPerson();
  // Adds (or replaces) `p` in the telco and population simulators, e.g. the holder of a
  // certificate of the test PKI, so that a mobile registration with that CCCD succeeds.
  void AddPerson(const Person& p, const std::string& gender = "female");
  // The last OTP the SMS sink received for `phone`, waiting up to `wait` for a message newer
  // than `not_this` (pass the previous OTP when expecting a resend).
  absl::StatusOr<std::string> LastOtp(const std::string& phone, const std::string& not_this = "",
                                      absl::Duration wait = absl::Seconds(5));
  absl::Status TelcoFault(const std::string& json);  // POST /admin/faults on the telco simulator
  absl::Status KafkaBrokers(bool up);

 private:
  std::unique_ptr<dvc::registration::v1::RegistrationService::Stub> registration_;
  std::unique_ptr<dvc::auth::v1::AuthService::Stub> auth_;
  std::unique_ptr<dvc::accounts::v1::AccountsService::Stub> accounts_;
};

// Account events (dvc.accounts.v1) read from the beginning of the topic until every account in
// `want` has its AccountCreated event, or `timeout` passes.
struct EventsSeen {
  std::map<std::string, std::vector<dvc::events::v1::AccountEvent>> by_account;
  std::map<std::string, int> event_id_count;  // how often each event id was delivered
};
EventsSeen ReadAccountEvents(const std::set<std::string>& want, absl::Duration timeout);
// Account events read from the beginning of the topic until `done` holds for what was seen, or
// `timeout` passes.
EventsSeen ReadAccountEventsUntil(const std::function<bool(const EventsSeen&)>& done,
                                  absl::Duration timeout);

// A JSON call to a simulator or the broker's control port; non-2xx answers are errors.
absl::StatusOr<std::string> Http(const std::string& method, const std::string& url,
                                 const std::string& body = "");

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration deadline = absl::Seconds(20));
std::string ReasonOf(const grpc::Status& s);
std::string MetadataOf(const grpc::Status& s, const std::string& key);

}  // namespace dvc::e2e
